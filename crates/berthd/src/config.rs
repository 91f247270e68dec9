//! Resolves the daemon's settings from flags and `daemon.json`: a key set in
//! both places is an error naming it, as is an unknown key or a pair of
//! options that contradict each other.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use berth_daemon::DaemonConfig;
use berth_daemon::config::{AddressPool, RuntimeConfig};
use clap::ArgMatches;
use clap::parser::ValueSource;
use serde::Deserialize;

use crate::flags::{Flags, KEYS};
use crate::hosts::{HostSpec, parse_host};

/// `daemon.json`, every key optional.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct FileConfig {
    pub data_root: Option<PathBuf>,
    pub exec_root: Option<PathBuf>,
    pub hosts: Option<Vec<String>>,
    pub pidfile: Option<PathBuf>,
    pub storage_driver: Option<String>,
    pub storage_opts: Option<Vec<String>>,
    pub debug: Option<bool>,
    pub log_level: Option<String>,
    pub bridge: Option<String>,
    pub bip: Option<String>,
    pub default_bridge_name: Option<String>,
    pub default_address_pools: Option<Vec<AddressPool>>,
    pub iptables: Option<bool>,
    pub icc: Option<bool>,
    pub mtu: Option<u32>,
    pub dns: Option<Vec<String>>,
    pub insecure_registries: Option<Vec<String>>,
    pub registry_mirrors: Option<Vec<String>>,
    pub live_restore: Option<bool>,
    pub default_runtime: Option<String>,
    pub runtimes: Option<BTreeMap<String, RuntimeConfig>>,
    pub tls: Option<bool>,
    pub tlsverify: Option<bool>,
    pub tlscacert: Option<PathBuf>,
    pub tlscert: Option<PathBuf>,
    pub tlskey: Option<PathBuf>,
    pub group: Option<String>,
    pub labels: Option<Vec<String>>,
}

/// TLS settings for TCP listeners.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TlsSettings {
    /// `Some(false)` means plain TCP was explicitly asked for.
    pub tls: Option<bool>,
    pub verify: bool,
    pub ca: Option<PathBuf>,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
}

/// Everything `berthd` needs to start.
#[derive(Debug, Clone)]
pub struct Settings {
    pub config_file: PathBuf,
    pub daemon: DaemonConfig,
    pub pidfile: PathBuf,
    pub hosts: Vec<HostSpec>,
    pub tls: TlsSettings,
    pub group: String,
}

pub const LOG_LEVELS: &[&str] = &["trace", "debug", "info", "warn", "error", "fatal", "panic"];

/// Reads and checks `daemon.json`. A missing file is fine unless it was
/// named explicitly.
pub fn read_file(path: &Path, explicit: bool) -> Result<Option<FileConfig>, String> {
    let text = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => return Ok(None),
        Err(e) => {
            return Err(format!(
                "unable to read configuration file {}: {e}",
                path.display()
            ));
        }
    };
    parse_file(&text)
        .map(Some)
        .map_err(|e| format!("configuration file {}: {e}", path.display()))
}

/// Parses the text of `daemon.json`; unknown keys are refused by name.
pub fn parse_file(text: &str) -> Result<FileConfig, String> {
    if text.trim().is_empty() {
        return Ok(FileConfig::default());
    }
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?;
    let obj = value
        .as_object()
        .ok_or_else(|| "invalid JSON: expected an object".to_string())?;
    let unknown: Vec<&str> = obj
        .keys()
        .map(String::as_str)
        .filter(|k| !KEYS.iter().any(|(_, key)| key == k))
        .collect();
    if !unknown.is_empty() {
        return Err(format!(
            "the following directives don't match any configuration option: {}",
            unknown.join(", ")
        ));
    }
    serde_json::from_value(value).map_err(|e| format!("invalid value: {e}"))
}

fn explicit(matches: &ArgMatches, id: &str) -> bool {
    matches.value_source(id) == Some(ValueSource::CommandLine)
}

/// Merges flags and file, then validates the result.
pub fn resolve(
    flags: Flags,
    matches: &ArgMatches,
    file: Option<FileConfig>,
) -> Result<Settings, String> {
    let file = file.unwrap_or_default();
    let raw = file_keys(&file);
    let conflicts: Vec<&str> = KEYS
        .iter()
        .filter(|(id, key)| explicit(matches, id) && raw.contains(key))
        .map(|(_, key)| *key)
        .collect();
    if !conflicts.is_empty() {
        return Err(format!(
            "the following directives are specified both as a flag and in the configuration file: {}",
            conflicts.join(", ")
        ));
    }
    let pick = |id: &str| explicit(matches, id);
    macro_rules! merge {
        ($id:literal, $flag:expr, $file:expr) => {
            if pick($id) {
                $flag
            } else {
                $file.unwrap_or($flag)
            }
        };
    }
    macro_rules! merge_opt {
        ($id:literal, $flag:expr, $file:expr) => {
            if pick($id) { $flag } else { $file.or($flag) }
        };
    }
    let mut runtimes = BTreeMap::new();
    if pick("runtimes") {
        for spec in &flags.runtimes {
            let (name, path) = spec
                .split_once('=')
                .ok_or_else(|| format!("invalid --add-runtime {spec:?}: expected NAME=PATH"))?;
            runtimes.insert(
                name.to_string(),
                RuntimeConfig {
                    path: path.to_string(),
                    runtime_args: Vec::new(),
                },
            );
        }
    } else if let Some(map) = file.runtimes {
        runtimes = map;
    }
    let daemon = DaemonConfig {
        data_root: merge!("data_root", flags.data_root, file.data_root),
        exec_root: merge!("exec_root", flags.exec_root, file.exec_root),
        hosts: merge!("hosts", flags.hosts, file.hosts),
        storage_driver: merge_opt!("storage_driver", flags.storage_driver, file.storage_driver),
        storage_opts: merge!("storage_opts", flags.storage_opts, file.storage_opts),
        debug: merge!("debug", flags.debug, file.debug),
        log_level: merge!("log_level", flags.log_level, file.log_level),
        bridge: merge_opt!("bridge", flags.bridge, file.bridge),
        bip: merge_opt!("bip", flags.bip, file.bip),
        default_bridge_name: merge_opt!(
            "default_bridge_name",
            flags.default_bridge_name,
            file.default_bridge_name
        ),
        default_address_pools: if pick("default_address_pools") {
            flags
                .default_address_pools
                .iter()
                .map(|p| parse_pool(p))
                .collect::<Result<Vec<_>, _>>()?
        } else {
            file.default_address_pools.unwrap_or_default()
        },
        iptables: merge!("iptables", flags.iptables, file.iptables),
        icc: merge!("icc", flags.icc, file.icc),
        mtu: merge_opt!("mtu", flags.mtu, file.mtu),
        dns: merge!("dns", flags.dns, file.dns),
        insecure_registries: merge!(
            "insecure_registries",
            flags.insecure_registries,
            file.insecure_registries
        ),
        registry_mirrors: merge!(
            "registry_mirrors",
            flags.registry_mirrors,
            file.registry_mirrors
        ),
        live_restore: merge!("live_restore", flags.live_restore, file.live_restore),
        default_runtime: merge_opt!(
            "default_runtime",
            flags.default_runtime,
            file.default_runtime
        ),
        runtimes,
        labels: merge!("labels", flags.labels, file.labels),
        warnings: Vec::new(),
    };
    let tls = TlsSettings {
        tls: merge_opt!("tls", flags.tls, file.tls),
        verify: merge_opt!("tlsverify", flags.tlsverify, file.tlsverify).unwrap_or(false),
        ca: merge_opt!("tlscacert", flags.tlscacert, file.tlscacert),
        cert: merge_opt!("tlscert", flags.tlscert, file.tlscert),
        key: merge_opt!("tlskey", flags.tlskey, file.tlskey),
    };
    let pidfile = merge!("pidfile", flags.pidfile, file.pidfile);
    let group = merge!("group", flags.group, file.group);
    validate(&daemon, &tls)?;
    let mut hosts = Vec::new();
    for h in &daemon.hosts {
        hosts.push(parse_host(h)?);
    }
    if hosts.is_empty() {
        hosts.push(HostSpec::Unix(PathBuf::from("/run/berth.sock")));
    }
    Ok(Settings {
        config_file: flags.config_file,
        daemon,
        pidfile,
        hosts,
        tls,
        group,
    })
}

/// The keys present in the file, by their `daemon.json` names.
fn file_keys(file: &FileConfig) -> Vec<&'static str> {
    let mut keys = Vec::new();
    let mut add = |present: bool, key: &'static str| {
        if present {
            keys.push(key);
        }
    };
    add(file.data_root.is_some(), "data-root");
    add(file.exec_root.is_some(), "exec-root");
    add(file.hosts.is_some(), "hosts");
    add(file.pidfile.is_some(), "pidfile");
    add(file.storage_driver.is_some(), "storage-driver");
    add(file.storage_opts.is_some(), "storage-opts");
    add(file.debug.is_some(), "debug");
    add(file.log_level.is_some(), "log-level");
    add(file.bridge.is_some(), "bridge");
    add(file.bip.is_some(), "bip");
    add(file.default_bridge_name.is_some(), "default-bridge-name");
    add(
        file.default_address_pools.is_some(),
        "default-address-pools",
    );
    add(file.iptables.is_some(), "iptables");
    add(file.icc.is_some(), "icc");
    add(file.mtu.is_some(), "mtu");
    add(file.dns.is_some(), "dns");
    add(file.insecure_registries.is_some(), "insecure-registries");
    add(file.registry_mirrors.is_some(), "registry-mirrors");
    add(file.live_restore.is_some(), "live-restore");
    add(file.default_runtime.is_some(), "default-runtime");
    add(file.runtimes.is_some(), "runtimes");
    add(file.tls.is_some(), "tls");
    add(file.tlsverify.is_some(), "tlsverify");
    add(file.tlscacert.is_some(), "tlscacert");
    add(file.tlscert.is_some(), "tlscert");
    add(file.tlskey.is_some(), "tlskey");
    add(file.group.is_some(), "group");
    add(file.labels.is_some(), "labels");
    keys
}

/// Checks values and combinations, with messages that say why.
pub fn validate(d: &DaemonConfig, tls: &TlsSettings) -> Result<(), String> {
    if !LOG_LEVELS.contains(&d.log_level.as_str()) {
        return Err(format!(
            "invalid log level {:?}: expected one of {}",
            d.log_level,
            LOG_LEVELS.join(", ")
        ));
    }
    if d.bridge.is_some() && d.bip.is_some() {
        return Err(
            "you specified --bridge and --bip, which are mutually exclusive: --bip sets the address of the bridge berthd creates, --bridge names an existing bridge; specify only one"
                .to_string(),
        );
    }
    if !d.iptables && !d.icc {
        return Err(
            "you specified --iptables=false with --icc=false: --icc=false is enforced by firewall rules, so it can only be used when --iptables is true"
                .to_string(),
        );
    }
    if let Some(bip) = &d.bip {
        check_cidr(bip).map_err(|e| format!("invalid --bip {bip:?}: {e}"))?;
    }
    if d.bridge.is_some() && d.default_bridge_name.is_some() {
        return Err(
            "you specified --bridge and --default-bridge-name, which are mutually exclusive: --bridge names an existing bridge for the default network, --default-bridge-name the bridge berthd creates for it"
                .to_string(),
        );
    }
    if let Some(name) = &d.default_bridge_name
        && (name.is_empty() || name.len() > 15 || name.contains(['/', ':', ' ']) || name == "none")
    {
        return Err(format!(
            "invalid --default-bridge-name {name:?}: an interface name of at most 15 characters"
        ));
    }
    for p in &d.default_address_pools {
        check_cidr(&p.base)
            .map_err(|e| format!("invalid default address pool {:?}: {e}", p.base))?;
        let prefix: u8 = p
            .base
            .split_once('/')
            .and_then(|(_, n)| n.parse().ok())
            .unwrap_or(0);
        if p.size < prefix || p.size > 30 {
            return Err(format!(
                "invalid default address pool {}: size {} must be between {prefix} and 30",
                p.base, p.size
            ));
        }
    }
    if let Some(mtu) = d.mtu
        && !(68..=65535).contains(&mtu)
    {
        return Err(format!("invalid --mtu {mtu}: must be between 68 and 65535"));
    }
    if let Some(driver) = &d.storage_driver
        && !["overlay2", "vfs"].contains(&driver.as_str())
    {
        return Err(format!(
            "unknown storage driver {driver:?}: supported drivers are overlay2 and vfs"
        ));
    }
    for dns in &d.dns {
        if dns.parse::<std::net::IpAddr>().is_err() {
            return Err(format!("invalid --dns {dns:?}: not an IP address"));
        }
    }
    for (name, rt) in &d.runtimes {
        if name.is_empty() || rt.path.is_empty() {
            return Err(format!(
                "invalid runtime {name:?}: a runtime needs a name and a path"
            ));
        }
    }
    for label in &d.labels {
        if !label.contains('=') {
            return Err(format!("invalid label {label:?}: expected KEY=VALUE"));
        }
    }
    if tls.verify && tls.tls == Some(false) {
        return Err("--tlsverify cannot be combined with --tls=false".to_string());
    }
    Ok(())
}

/// `base=172.30.0.0/16,size=24` of `--default-address-pool`.
fn parse_pool(text: &str) -> Result<AddressPool, String> {
    let mut base = None;
    let mut size = None;
    for part in text.split(',') {
        match part.split_once('=') {
            Some(("base", v)) => base = Some(v.to_string()),
            Some(("size", v)) => {
                size = Some(v.parse::<u8>().map_err(|_| {
                    format!("invalid --default-address-pool {text:?}: size {v:?} is not a number")
                })?)
            }
            _ => {
                return Err(format!(
                    "invalid --default-address-pool {text:?}: expected base=CIDR,size=N"
                ));
            }
        }
    }
    match (base, size) {
        (Some(base), Some(size)) => Ok(AddressPool { base, size }),
        _ => Err(format!(
            "invalid --default-address-pool {text:?}: expected base=CIDR,size=N"
        )),
    }
}

fn check_cidr(text: &str) -> Result<(), String> {
    let (addr, prefix) = text
        .split_once('/')
        .ok_or_else(|| "expected ADDRESS/PREFIX such as 172.30.0.1/16".to_string())?;
    addr.parse::<std::net::Ipv4Addr>()
        .map_err(|_| format!("{addr:?} is not an IPv4 address"))?;
    let prefix: u8 = prefix
        .parse()
        .map_err(|_| format!("{prefix:?} is not a prefix length"))?;
    if prefix > 30 {
        return Err(format!("prefix /{prefix} leaves no room for containers"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory, FromArgMatches};

    fn settings(args: &[&str], file: &str) -> Result<Settings, String> {
        let mut argv = vec!["berthd"];
        argv.extend_from_slice(args);
        let matches = Flags::command()
            .try_get_matches_from(argv)
            .map_err(|e| e.to_string())?;
        let flags = Flags::from_arg_matches(&matches).map_err(|e| e.to_string())?;
        let file = parse_file(file)?;
        resolve(flags, &matches, Some(file))
    }

    #[test]
    fn defaults() {
        let s = settings(&[], "").unwrap();
        assert_eq!(s.daemon.data_root, PathBuf::from("/var/lib/berth"));
        assert!(s.daemon.iptables && s.daemon.icc);
        assert_eq!(
            s.hosts,
            vec![HostSpec::Unix(PathBuf::from("/run/berth.sock"))]
        );
    }

    #[test]
    fn file_values_apply_and_flags_win_when_alone() {
        let s = settings(&["--debug"], r#"{"data-root":"/srv/b","log-level":"warn"}"#).unwrap();
        assert_eq!(s.daemon.data_root, PathBuf::from("/srv/b"));
        assert_eq!(s.daemon.log_level, "warn");
        assert!(s.daemon.debug);
    }

    #[test]
    fn key_in_both_places_is_named() {
        let err = settings(&["--data-root", "/a"], r#"{"data-root":"/b"}"#).unwrap_err();
        assert!(
            err.contains("both as a flag and in the configuration file: data-root"),
            "{err}"
        );
        let err =
            settings(&["-H", "unix:///x.sock"], r#"{"hosts":["unix:///y.sock"]}"#).unwrap_err();
        assert!(err.contains("hosts"), "{err}");
    }

    #[test]
    fn unknown_key_is_named() {
        let err = settings(&[], r#"{"data-root":"/b","colour":"blue"}"#).unwrap_err();
        assert!(
            err.contains("don't match any configuration option: colour"),
            "{err}"
        );
    }

    #[test]
    fn contradictions_say_why() {
        let err = settings(&["--bridge", "br0", "--bip", "10.1.0.1/24"], "").unwrap_err();
        assert!(err.contains("mutually exclusive"), "{err}");
        let err = settings(&["--iptables=false", "--icc=false"], "").unwrap_err();
        assert!(err.contains("--icc=false"), "{err}");
        let err = settings(&[], r#"{"iptables":false,"icc":false}"#).unwrap_err();
        assert!(err.contains("--iptables"), "{err}");
        assert!(settings(&["--iptables=false"], "").is_ok());
    }

    #[test]
    fn bad_values() {
        assert!(settings(&["--log-level", "chatty"], "").is_err());
        assert!(settings(&["--bip", "10.0.0.1"], "").is_err());
        assert!(settings(&["--storage-driver", "zfs"], "").is_err());
        assert!(settings(&["--mtu", "10"], "").is_err());
        assert!(settings(&["-H", "ftp://x"], "").is_err());
        assert!(parse_file("{not json").is_err());
        assert!(parse_file(r#"{"debug":"yes"}"#).is_err());
    }

    #[test]
    fn network_options() {
        let s = settings(
            &[
                "--default-bridge-name",
                "bt1",
                "--default-address-pool",
                "base=10.7.0.0/16,size=24",
            ],
            "",
        )
        .unwrap();
        assert_eq!(s.daemon.default_bridge_name.as_deref(), Some("bt1"));
        assert_eq!(s.daemon.default_address_pools[0].base, "10.7.0.0/16");
        assert_eq!(s.daemon.default_address_pools[0].size, 24);
        let s = settings(
            &[],
            r#"{"default-bridge-name":"bt2","default-address-pools":[{"base":"10.8.0.0/16","size":20}]}"#,
        )
        .unwrap();
        assert_eq!(s.daemon.default_address_pools[0].size, 20);
        assert!(settings(&["--default-bridge-name", "x", "--bridge", "br0"], "").is_err());
        assert!(settings(&["--default-bridge-name", "a-name-much-too-long"], "").is_err());
        assert!(settings(&["--default-address-pool", "10.0.0.0/8"], "").is_err());
        assert!(settings(&["--default-address-pool", "base=10.0.0.0/16,size=8"], "").is_err());
    }

    #[test]
    fn runtimes_from_flags_and_file() {
        let s = settings(&["--add-runtime", "myrunc=/usr/bin/runc"], "").unwrap();
        assert_eq!(s.daemon.runtimes["myrunc"].path, "/usr/bin/runc");
        let s = settings(
            &[],
            r#"{"runtimes":{"x":{"path":"/bin/x","runtimeArgs":["--a"]}}}"#,
        )
        .unwrap();
        assert_eq!(s.daemon.runtimes["x"].runtime_args, vec!["--a"]);
    }
}
