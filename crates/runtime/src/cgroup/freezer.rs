//! Freezing and thawing a container's cgroup (v1 `freezer.state`, v2
//! `cgroup.freeze`), waiting until the kernel reports it frozen.
//!
//! The daemon normally pauses through the OCI runtime (`runc pause`) so the
//! runtime's own state says `paused`; these are for direct use and tests.

use std::thread;
use std::time::{Duration, Instant};

use super::files::{read_opt, write};
use super::layout::CgroupLayout;
use super::paths::CgroupPaths;
use crate::error::{Result, RuntimeError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FreezerState {
    Thawed,
    /// Freezing in progress (v1 `FREEZING`, v2 `cgroup.freeze` = 1 but not
    /// yet `frozen 1`).
    Freezing,
    Frozen,
}

enum Freezer<'a> {
    V1(&'a std::path::Path),
    V2(&'a std::path::Path),
}

fn freezer(paths: &CgroupPaths) -> Result<Freezer<'_>> {
    let unsupported = || RuntimeError::Unsupported {
        what: "pause".into(),
        reason: "the freezer cgroup is not available".into(),
    };
    match paths.layout {
        CgroupLayout::Unified => paths
            .unified
            .as_deref()
            .map(Freezer::V2)
            .ok_or_else(unsupported),
        _ => paths
            .v1
            .get("freezer")
            .map(|p| Freezer::V1(p.as_path()))
            .ok_or_else(unsupported),
    }
}

fn not_found(paths: &CgroupPaths) -> RuntimeError {
    RuntimeError::NotFound(format!("cgroup {} does not exist", paths.path))
}

/// The current freezer state.
pub fn freezer_state(paths: &CgroupPaths) -> Result<FreezerState> {
    match freezer(paths)? {
        Freezer::V1(dir) => {
            let s = read_opt(&dir.join("freezer.state"))?.ok_or_else(|| not_found(paths))?;
            Ok(match s.trim() {
                "FROZEN" => FreezerState::Frozen,
                "FREEZING" => FreezerState::Freezing,
                _ => FreezerState::Thawed,
            })
        }
        Freezer::V2(dir) => {
            let want = read_opt(&dir.join("cgroup.freeze"))?.ok_or_else(|| {
                if dir.is_dir() {
                    RuntimeError::Unsupported {
                        what: "pause".into(),
                        reason: "cgroup.freeze is missing (kernel older than 5.2)".into(),
                    }
                } else {
                    not_found(paths)
                }
            })?;
            let events = read_opt(&dir.join("cgroup.events"))?.unwrap_or_default();
            let frozen = events.lines().any(|l| l.trim() == "frozen 1");
            Ok(match (want.trim() == "1", frozen) {
                (_, true) => FreezerState::Frozen,
                (true, false) => FreezerState::Freezing,
                (false, false) => FreezerState::Thawed,
            })
        }
    }
}

fn request(paths: &CgroupPaths, freeze: bool) -> Result<()> {
    let r = match freezer(paths)? {
        Freezer::V1(dir) => write(
            &dir.join("freezer.state"),
            if freeze { "FROZEN" } else { "THAWED" },
        ),
        Freezer::V2(dir) => write(&dir.join("cgroup.freeze"), if freeze { "1" } else { "0" }),
    };
    r.map_err(|e| match e {
        RuntimeError::NotFound(_) => not_found(paths),
        e => e,
    })
}

/// Freezes every process of the cgroup and waits until the kernel says
/// frozen; thaws again and fails when that takes longer than `timeout`.
pub fn freeze(paths: &CgroupPaths, timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    let mut delay = Duration::from_millis(1);
    let mut attempts = 0u32;
    loop {
        // v1 can get stuck in FREEZING while tasks fork; asking again
        // restarts the walk, as runc does.
        if attempts == 0 {
            request(paths, true)?;
        }
        attempts = (attempts + 1) % 10;
        if freezer_state(paths)? == FreezerState::Frozen {
            return Ok(());
        }
        if Instant::now() >= deadline {
            let _ = request(paths, false);
            return Err(RuntimeError::Timeout(format!(
                "freezing cgroup {} after {timeout:?}",
                paths.path
            )));
        }
        thread::sleep(delay);
        delay = (delay * 2).min(Duration::from_millis(20));
    }
}

/// Thaws the cgroup.
pub fn thaw(paths: &CgroupPaths) -> Result<()> {
    request(paths, false)?;
    let deadline = Instant::now() + Duration::from_secs(5);
    while freezer_state(paths)? == FreezerState::Frozen {
        if Instant::now() >= deadline {
            return Err(RuntimeError::Timeout(format!(
                "thawing cgroup {}",
                paths.path
            )));
        }
        thread::sleep(Duration::from_millis(2));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::fs;

    #[test]
    fn v1_fixture_states() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("freezer/berth/x");
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("freezer.state"), "THAWED\n").unwrap();
        let paths = CgroupPaths {
            layout: CgroupLayout::V1,
            path: "/berth/x".into(),
            v1: [("freezer".to_string(), dir.clone())].into_iter().collect(),
            unified: None,
        };
        assert_eq!(freezer_state(&paths).unwrap(), FreezerState::Thawed);
        // A plain file "freezes" at once: the state reads back as written.
        freeze(&paths, Duration::from_secs(1)).unwrap();
        assert_eq!(freezer_state(&paths).unwrap(), FreezerState::Frozen);
        thaw(&paths).unwrap();
        assert_eq!(freezer_state(&paths).unwrap(), FreezerState::Thawed);
    }

    #[test]
    fn v2_fixture_timeout_thaws() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("berth/x");
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("cgroup.freeze"), "0\n").unwrap();
        fs::write(dir.join("cgroup.events"), "populated 1\nfrozen 0\n").unwrap();
        let paths = CgroupPaths {
            layout: CgroupLayout::Unified,
            path: "/berth/x".into(),
            v1: BTreeMap::new(),
            unified: Some(dir.clone()),
        };
        assert_eq!(freezer_state(&paths).unwrap(), FreezerState::Thawed);
        // Nothing flips `frozen` in a fixture: the wait times out and the
        // request is undone.
        let err = freeze(&paths, Duration::from_millis(30)).unwrap_err();
        assert!(matches!(err, RuntimeError::Timeout(_)));
        assert_eq!(fs::read_to_string(dir.join("cgroup.freeze")).unwrap(), "0");
        fs::write(dir.join("cgroup.events"), "populated 1\nfrozen 1\n").unwrap();
        assert_eq!(freezer_state(&paths).unwrap(), FreezerState::Frozen);
    }

    #[test]
    fn missing_is_not_found() {
        let paths = CgroupPaths {
            layout: CgroupLayout::V1,
            path: "/berth/gone".into(),
            v1: [("freezer".to_string(), "/nonexistent/x".into())]
                .into_iter()
                .collect(),
            unified: None,
        };
        assert!(matches!(
            freezer_state(&paths),
            Err(RuntimeError::NotFound(_))
        ));
        assert!(matches!(
            freeze(&paths, Duration::from_millis(10)),
            Err(RuntimeError::NotFound(_))
        ));
    }
}
