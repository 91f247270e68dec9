//! Which OCI runtimes this daemon can use: the configured ones plus `runc`
//! and `crun` when installed, and the default among them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use berth_api::types::system::RuntimeInfo;

use crate::config::DaemonConfig;

/// Finds `name` on PATH (or returns it when it is a path).
pub fn find_binary(name: &str) -> Option<PathBuf> {
    if name.contains('/') {
        let p = PathBuf::from(name);
        return p.is_file().then_some(p);
    }
    let path = std::env::var_os("PATH")
        .unwrap_or_else(|| "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into());
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The runtimes `/info` lists, the default one, and warnings for the
/// runtimes that do not work on this host.
pub fn describe(
    rt: &berth_runtime::runtimes::Runtimes,
) -> (BTreeMap<String, RuntimeInfo>, String, Vec<String>) {
    let mut map = BTreeMap::new();
    let mut warnings = Vec::new();
    for (name, st) in &rt.statuses {
        map.insert(
            name.clone(),
            RuntimeInfo {
                path: st.config.path.display().to_string(),
                runtime_args: st.config.args.clone(),
            },
        );
        if let Some(reason) = &st.reason {
            warnings.push(format!(
                "WARNING: runtime {name} is not usable on this host: {reason}"
            ));
        }
    }
    (map, rt.default.clone(), warnings)
}

/// The runtimes `/info` lists and the default one.
pub fn detect(config: &DaemonConfig) -> (BTreeMap<String, RuntimeInfo>, String) {
    let mut map = BTreeMap::new();
    for name in ["runc", "crun"] {
        if let Some(path) = find_binary(name) {
            map.insert(
                name.to_string(),
                RuntimeInfo {
                    path: path.display().to_string(),
                    runtime_args: Vec::new(),
                },
            );
        }
    }
    for (name, rt) in &config.runtimes {
        map.insert(
            name.clone(),
            RuntimeInfo {
                path: rt.path.clone(),
                runtime_args: rt.runtime_args.clone(),
            },
        );
    }
    let default = config
        .default_runtime
        .clone()
        .unwrap_or_else(|| "runc".to_string());
    (map, default)
}
