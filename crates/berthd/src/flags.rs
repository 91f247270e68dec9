//! `berthd`'s command-line flags, named as dockerd names them.

use std::path::PathBuf;

use clap::{ArgAction, Parser};

#[derive(Debug, Clone, Parser)]
#[command(
    name = "berthd",
    version,
    about = "A Docker-compatible container engine daemon"
)]
pub struct Flags {
    /// Daemon configuration file
    #[arg(long, value_name = "FILE", default_value = "/etc/berth/daemon.json")]
    pub config_file: PathBuf,

    /// Root directory of persistent Berth state
    #[arg(long, value_name = "DIR", default_value = "/var/lib/berth")]
    pub data_root: PathBuf,

    /// Root directory for execution state files
    #[arg(long, value_name = "DIR", default_value = "/run/berth")]
    pub exec_root: PathBuf,

    /// Daemon socket(s) to connect to (unix://, tcp://, fd://)
    #[arg(short = 'H', long = "host", value_name = "ADDR")]
    pub hosts: Vec<String>,

    /// Path to use for the daemon PID file
    #[arg(
        short = 'p',
        long,
        value_name = "FILE",
        default_value = "/run/berth.pid"
    )]
    pub pidfile: PathBuf,

    /// Storage driver to use (overlay2, vfs)
    #[arg(short = 's', long, value_name = "NAME")]
    pub storage_driver: Option<String>,

    /// Storage driver options
    #[arg(long = "storage-opt", value_name = "OPT")]
    pub storage_opts: Vec<String>,

    /// Enable debug mode
    #[arg(short = 'D', long, action = ArgAction::SetTrue)]
    pub debug: bool,

    /// Set the logging level (debug, info, warn, error, fatal)
    #[arg(short = 'l', long, value_name = "LEVEL", default_value = "info")]
    pub log_level: String,

    /// Attach containers to an existing network bridge
    #[arg(short = 'b', long, value_name = "NAME")]
    pub bridge: Option<String>,

    /// Network bridge IP address and prefix (e.g. 172.30.0.1/16)
    #[arg(long, value_name = "CIDR")]
    pub bip: Option<String>,

    /// Name of the bridge berthd creates for the default network (Berth
    /// option; default berth0)
    #[arg(long, value_name = "NAME")]
    pub default_bridge_name: Option<String>,

    /// Default address pool for new networks (base=CIDR,size=PREFIX)
    #[arg(long = "default-address-pool", value_name = "base=CIDR,size=N")]
    pub default_address_pools: Vec<String>,

    /// Enable addition of firewall rules
    #[arg(long, value_name = "BOOL", default_value_t = true, action = ArgAction::Set,
          num_args = 0..=1, default_missing_value = "true")]
    pub iptables: bool,

    /// Enable inter-container communication
    #[arg(long, value_name = "BOOL", default_value_t = true, action = ArgAction::Set,
          num_args = 0..=1, default_missing_value = "true")]
    pub icc: bool,

    /// Set the containers network MTU
    #[arg(long, value_name = "BYTES")]
    pub mtu: Option<u32>,

    /// DNS server to use in containers
    #[arg(long, value_name = "IP")]
    pub dns: Vec<String>,

    /// Registries that may be reached without TLS verification
    #[arg(long = "insecure-registry", value_name = "HOST")]
    pub insecure_registries: Vec<String>,

    /// Preferred registry mirror
    #[arg(long = "registry-mirror", value_name = "URL")]
    pub registry_mirrors: Vec<String>,

    /// Keep containers running when the daemon stops
    #[arg(long, action = ArgAction::SetTrue)]
    pub live_restore: bool,

    /// Default OCI runtime for containers
    #[arg(long, value_name = "NAME")]
    pub default_runtime: Option<String>,

    /// Register an additional OCI runtime (NAME=PATH)
    #[arg(long = "add-runtime", value_name = "NAME=PATH")]
    pub runtimes: Vec<String>,

    /// Use TLS; implied by --tlsverify. --tls=false allows plain TCP.
    #[arg(long, value_name = "BOOL", action = ArgAction::Set, num_args = 0..=1,
          default_missing_value = "true")]
    pub tls: Option<bool>,

    /// Use TLS and require client certificates signed by --tlscacert
    #[arg(long, value_name = "BOOL", action = ArgAction::Set, num_args = 0..=1,
          default_missing_value = "true")]
    pub tlsverify: Option<bool>,

    /// Trust certs signed only by this CA
    #[arg(long, value_name = "FILE")]
    pub tlscacert: Option<PathBuf>,

    /// Path to TLS certificate file
    #[arg(long, value_name = "FILE")]
    pub tlscert: Option<PathBuf>,

    /// Path to TLS key file
    #[arg(long, value_name = "FILE")]
    pub tlskey: Option<PathBuf>,

    /// Group for the unix socket
    #[arg(short = 'G', long, value_name = "GROUP", default_value = "berth")]
    pub group: String,

    /// Set key=value labels on the daemon
    #[arg(long = "label", value_name = "KEY=VALUE")]
    pub labels: Vec<String>,
}

/// Pairs of (clap argument id, `daemon.json` key).
pub const KEYS: &[(&str, &str)] = &[
    ("data_root", "data-root"),
    ("exec_root", "exec-root"),
    ("hosts", "hosts"),
    ("pidfile", "pidfile"),
    ("storage_driver", "storage-driver"),
    ("storage_opts", "storage-opts"),
    ("debug", "debug"),
    ("log_level", "log-level"),
    ("bridge", "bridge"),
    ("bip", "bip"),
    ("default_bridge_name", "default-bridge-name"),
    ("default_address_pools", "default-address-pools"),
    ("iptables", "iptables"),
    ("icc", "icc"),
    ("mtu", "mtu"),
    ("dns", "dns"),
    ("insecure_registries", "insecure-registries"),
    ("registry_mirrors", "registry-mirrors"),
    ("live_restore", "live-restore"),
    ("default_runtime", "default-runtime"),
    ("runtimes", "runtimes"),
    ("tls", "tls"),
    ("tlsverify", "tlsverify"),
    ("tlscacert", "tlscacert"),
    ("tlscert", "tlscert"),
    ("tlskey", "tlskey"),
    ("group", "group"),
    ("labels", "labels"),
];
