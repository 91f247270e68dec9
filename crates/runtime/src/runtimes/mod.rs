//! OCI runtimes: the known ones (`crun`, `runc`) and configured extras,
//! a probe of which actually work on this host, the choice of the default
//! (the fastest working one unless configured), and CLI helpers.

mod cli;
mod exec;
mod probe;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use cli::{DEFAULT_TIMEOUT, RuntimeCli, RuntimeState};
pub use probe::{ProbeResult, probe};

use crate::error::{Result, RuntimeError};
use crate::spec::HostInfo;

/// The runtimes Berth knows, fastest first.
pub const BUILTIN_RUNTIMES: &[&str] = &["crun", "runc"];

/// Where runtimes are looked for when not on `PATH`.
const STANDARD_DIRS: &[&str] = &[
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin",
];

/// A runtime: name → binary and extra global arguments (daemon.json
/// `runtimes`, `--add-runtime`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuntimeConfig {
    pub name: String,
    pub path: PathBuf,
    #[serde(default)]
    pub args: Vec<String>,
}

/// A runtime and what the probe found (for `docker info`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeStatus {
    pub config: RuntimeConfig,
    pub usable: bool,
    /// Why it is unusable.
    pub reason: Option<String>,
    pub create_time: Option<Duration>,
}

/// The runtimes of this daemon and the default.
#[derive(Debug, Clone)]
pub struct Runtimes {
    pub statuses: BTreeMap<String, RuntimeStatus>,
    pub default: String,
    /// Why the default is what it is (configured, fastest working, …).
    pub default_reason: String,
}

fn is_executable(p: &Path) -> bool {
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Finds `name` on `PATH` or in the standard binary directories; a name
/// with a `/` is a path.
pub fn find_binary(name: &str) -> Option<PathBuf> {
    if name.contains('/') {
        let p = PathBuf::from(name);
        return is_executable(&p).then_some(p);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(STANDARD_DIRS.iter().map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

/// Picks the default runtime: the configured one (which must exist), else
/// the first usable of [`BUILTIN_RUNTIMES`], else `runc` (or the first
/// one) with the reason nothing works.
pub fn choose_default(
    statuses: &BTreeMap<String, RuntimeStatus>,
    configured: Option<&str>,
) -> Result<(String, String)> {
    if let Some(name) = configured.filter(|n| !n.is_empty()) {
        let Some(st) = statuses.get(name) else {
            return Err(RuntimeError::invalid(format!(
                "specified default runtime '{name}' does not exist"
            )));
        };
        let reason = match &st.reason {
            None => "configured".to_string(),
            Some(r) => format!("configured, although the probe failed: {r}"),
        };
        return Ok((name.to_string(), reason));
    }
    let mut skipped = Vec::new();
    for name in BUILTIN_RUNTIMES {
        match statuses.get(*name) {
            Some(st) if st.usable => {
                let reason = if skipped.is_empty() {
                    "fastest working runtime".to_string()
                } else {
                    format!("fastest working runtime ({})", skipped.join("; "))
                };
                return Ok((name.to_string(), reason));
            }
            Some(st) => skipped.push(format!(
                "{name} unusable: {}",
                st.reason.as_deref().unwrap_or("probe failed")
            )),
            None => skipped.push(format!("{name} not installed")),
        }
    }
    let fallback = if statuses.contains_key("runc") {
        "runc".to_string()
    } else {
        statuses
            .keys()
            .next()
            .cloned()
            .unwrap_or_else(|| "runc".to_string())
    };
    Ok((
        fallback,
        format!("no working OCI runtime found ({})", skipped.join("; ")),
    ))
}

impl Runtimes {
    /// Finds the built-in runtimes, adds `extra` (`runc` is reserved),
    /// probes every one in parallel (work files under `work_dir`, removed
    /// afterwards) and chooses the default.
    pub fn discover(
        extra: &[RuntimeConfig],
        configured_default: Option<&str>,
        host: &HostInfo,
        work_dir: &Path,
    ) -> Result<Runtimes> {
        let mut configs: BTreeMap<String, RuntimeConfig> = BTreeMap::new();
        for name in BUILTIN_RUNTIMES {
            if let Some(path) = find_binary(name) {
                configs.insert(
                    name.to_string(),
                    RuntimeConfig {
                        name: name.to_string(),
                        path,
                        args: Vec::new(),
                    },
                );
            }
        }
        for rt in extra {
            if rt.name == "runc" {
                return Err(RuntimeError::invalid("runtime name 'runc' is reserved"));
            }
            if rt.name.is_empty() || rt.name.contains('/') {
                return Err(RuntimeError::invalid(format!(
                    "invalid runtime name {:?}",
                    rt.name
                )));
            }
            configs.insert(rt.name.clone(), rt.clone());
        }
        std::fs::create_dir_all(work_dir)
            .map_err(|e| RuntimeError::io(format!("creating {}", work_dir.display()), e))?;
        let statuses: BTreeMap<String, RuntimeStatus> = std::thread::scope(|s| {
            let handles: Vec<_> = configs
                .values()
                .map(|c| {
                    s.spawn(move || {
                        let r = probe(c, host, work_dir, Duration::from_secs(20));
                        RuntimeStatus {
                            config: c.clone(),
                            usable: r.usable,
                            reason: r.reason,
                            create_time: r.create_time,
                        }
                    })
                })
                .collect();
            handles
                .into_iter()
                .filter_map(|h| h.join().ok())
                .map(|st| (st.config.name.clone(), st))
                .collect()
        });
        let (default, default_reason) = choose_default(&statuses, configured_default)?;
        for st in statuses.values() {
            match &st.reason {
                None => {
                    tracing::info!(runtime = %st.config.name, create_time = ?st.create_time, "OCI runtime works")
                }
                Some(r) => {
                    tracing::warn!(runtime = %st.config.name, reason = %r, "OCI runtime is unusable on this host")
                }
            }
        }
        tracing::info!(default = %default, reason = %default_reason, "default OCI runtime");
        Ok(Runtimes {
            statuses,
            default,
            default_reason,
        })
    }

    /// The CLI of runtime `name` (the default when `None`) with state root
    /// `root`. An unknown name is Docker's 400.
    pub fn cli(&self, name: Option<&str>, root: impl Into<PathBuf>) -> Result<RuntimeCli> {
        let name = name.filter(|n| !n.is_empty()).unwrap_or(&self.default);
        let st = self.statuses.get(name).ok_or_else(|| {
            RuntimeError::invalid(format!("unknown or invalid runtime name: {name}"))
        })?;
        Ok(RuntimeCli::new(&st.config, root))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(name: &str, usable: bool) -> (String, RuntimeStatus) {
        (
            name.to_string(),
            RuntimeStatus {
                config: RuntimeConfig {
                    name: name.into(),
                    path: format!("/usr/bin/{name}").into(),
                    args: vec![],
                },
                usable,
                reason: (!usable).then(|| "cgroups in hybrid mode not supported".to_string()),
                create_time: None,
            },
        )
    }

    #[test]
    fn default_choice() {
        let all: BTreeMap<_, _> = [status("crun", true), status("runc", true)]
            .into_iter()
            .collect();
        assert_eq!(choose_default(&all, None).unwrap().0, "crun");
        let hybrid: BTreeMap<_, _> = [status("crun", false), status("runc", true)]
            .into_iter()
            .collect();
        let (d, why) = choose_default(&hybrid, None).unwrap();
        assert_eq!(d, "runc");
        assert!(
            why.contains("crun unusable: cgroups in hybrid mode not supported"),
            "{why}"
        );
        let (d, why) = choose_default(&hybrid, Some("crun")).unwrap();
        assert_eq!(d, "crun");
        assert!(why.contains("probe failed"));
        assert!(choose_default(&hybrid, Some("youki")).is_err());
        let none: BTreeMap<_, _> = [status("crun", false)].into_iter().collect();
        let (d, why) = choose_default(&none, None).unwrap();
        assert_eq!(d, "crun");
        assert!(why.starts_with("no working OCI runtime"));
    }

    #[test]
    fn finds_binaries() {
        assert!(find_binary("sh").is_some());
        assert!(find_binary("/bin/sh").is_some());
        assert!(find_binary("definitely-not-a-runtime").is_none());
    }

    #[test]
    fn unknown_runtime_is_invalid() {
        let rts = Runtimes {
            statuses: [status("runc", true)].into_iter().collect(),
            default: "runc".into(),
            default_reason: String::new(),
        };
        assert_eq!(rts.cli(None, "/run/x").unwrap().name, "runc");
        assert_eq!(
            rts.cli(Some("nope"), "/run/x").unwrap_err().to_string(),
            "unknown or invalid runtime name: nope"
        );
    }

    #[test]
    fn missing_binary_probe() {
        let tmp = tempfile::tempdir().unwrap();
        let r = probe(
            &RuntimeConfig {
                name: "ghost".into(),
                path: "/nonexistent/ghost".into(),
                args: vec![],
            },
            &HostInfo::synthetic(crate::cgroup::CgroupLayout::Unified),
            tmp.path(),
            Duration::from_secs(1),
        );
        assert!(!r.usable);
        assert!(r.reason.unwrap().contains("not found"));
    }
}
