//! The daemon's resolved settings (after flags and `daemon.json` merged).

use std::collections::BTreeMap;
use std::path::PathBuf;

/// An OCI runtime the daemon may use (`runtimes` in `daemon.json`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RuntimeConfig {
    pub path: String,
    #[serde(rename = "runtimeArgs", default, skip_serializing_if = "Vec::is_empty")]
    pub runtime_args: Vec<String>,
}

/// One `--default-address-pool` (`default-address-pools` in daemon.json):
/// new networks take `size`-bit subnets of `base`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AddressPool {
    pub base: String,
    pub size: u8,
}

#[derive(Debug, Clone)]
pub struct DaemonConfig {
    pub data_root: PathBuf,
    pub exec_root: PathBuf,
    pub hosts: Vec<String>,
    pub storage_driver: Option<String>,
    pub storage_opts: Vec<String>,
    pub debug: bool,
    pub log_level: String,
    pub bridge: Option<String>,
    pub bip: Option<String>,
    /// The bridge berthd creates for the default network (`berth0`).
    pub default_bridge_name: Option<String>,
    /// Where the subnets of new networks come from (Docker's pools when
    /// empty).
    pub default_address_pools: Vec<AddressPool>,
    pub iptables: bool,
    pub icc: bool,
    pub mtu: Option<u32>,
    pub dns: Vec<String>,
    pub insecure_registries: Vec<String>,
    pub registry_mirrors: Vec<String>,
    pub live_restore: bool,
    pub default_runtime: Option<String>,
    pub runtimes: BTreeMap<String, RuntimeConfig>,
    pub labels: Vec<String>,
    /// Warnings found while reading the configuration, shown by `/info`.
    pub warnings: Vec<String>,
}

impl Default for DaemonConfig {
    fn default() -> Self {
        Self {
            data_root: PathBuf::from("/var/lib/berth"),
            exec_root: PathBuf::from("/run/berth"),
            hosts: Vec::new(),
            storage_driver: None,
            storage_opts: Vec::new(),
            debug: false,
            log_level: "info".to_string(),
            bridge: None,
            bip: None,
            default_bridge_name: None,
            default_address_pools: Vec::new(),
            iptables: true,
            icc: true,
            mtu: None,
            dns: Vec::new(),
            insecure_registries: Vec::new(),
            registry_mirrors: Vec::new(),
            live_restore: false,
            default_runtime: None,
            runtimes: BTreeMap::new(),
            labels: Vec::new(),
            warnings: Vec::new(),
        }
    }
}
