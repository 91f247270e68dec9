//! Removing a container's cgroup directories in every hierarchy, and
//! listing its processes (`docker top`).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use super::files::read_opt;
use super::paths::CgroupPaths;
use crate::error::{Result, RuntimeError};

/// Removes `dir` and any child cgroups, children first. `Ok(None)` when
/// gone, `Ok(Some(dir))` for a directory still busy.
fn remove_tree(dir: &Path) -> Result<Option<PathBuf>> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(RuntimeError::io(format!("reading {}", dir.display()), e)),
    };
    let mut busy = None;
    for entry in entries.flatten() {
        if entry.file_type().is_ok_and(|t| t.is_dir())
            && let Some(b) = remove_tree(&entry.path())?
        {
            busy.get_or_insert(b);
        }
    }
    match fs::remove_dir(dir) {
        Ok(()) => Ok(None),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
            Ok(Some(busy.unwrap_or_else(|| dir.to_path_buf())))
        }
        Err(e) => Err(RuntimeError::io(
            format!("removing cgroup {}", dir.display()),
            e,
        )),
    }
}

/// Removes the container's directory (and child cgroups) in every
/// hierarchy, retrying while its processes exit, for up to `timeout`.
/// Directories that do not exist are fine.
pub fn remove(paths: &CgroupPaths, timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    let mut delay = Duration::from_millis(2);
    loop {
        let mut busy = Vec::new();
        for dir in paths.all_dirs() {
            if let Some(b) = remove_tree(&dir)? {
                busy.push(b);
            }
        }
        if busy.is_empty() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            let list: Vec<String> = busy.iter().map(|p| p.display().to_string()).collect();
            return Err(RuntimeError::Timeout(format!(
                "removing cgroup {}: still in use: {}",
                paths.path,
                list.join(", ")
            )));
        }
        thread::sleep(delay);
        delay = (delay * 2).min(Duration::from_millis(50));
    }
}

fn collect_procs(dir: &Path, out: &mut Vec<i32>) -> Result<()> {
    if let Some(text) = read_opt(&dir.join("cgroup.procs"))? {
        out.extend(text.lines().filter_map(|l| l.trim().parse::<i32>().ok()));
    }
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                collect_procs(&entry.path(), out)?;
            }
        }
    }
    Ok(())
}

/// The pids of every process in the container's cgroup, including child
/// cgroups, sorted.
pub fn procs(paths: &CgroupPaths) -> Result<Vec<i32>> {
    let dir = paths.procs_dir().ok_or_else(|| RuntimeError::Unsupported {
        what: "listing processes".into(),
        reason: "no cgroup hierarchy is mounted".into(),
    })?;
    if !dir.is_dir() {
        return Err(RuntimeError::NotFound(format!(
            "cgroup {} does not exist",
            paths.path
        )));
    }
    let mut pids = Vec::new();
    collect_procs(dir, &mut pids)?;
    pids.sort_unstable();
    pids.dedup();
    Ok(pids)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroup::CgroupLayout;
    use std::collections::BTreeMap;

    #[test]
    fn removes_nested_dirs_in_every_hierarchy() {
        // Plain directories stand in for cgroups (rmdir works the same on
        // empty ones).
        let tmp = tempfile::tempdir().unwrap();
        let mem = tmp.path().join("memory/berth/x");
        let pids = tmp.path().join("pids/berth/x");
        fs::create_dir_all(mem.join("child/grandchild")).unwrap();
        fs::create_dir_all(&pids).unwrap();
        let paths = CgroupPaths {
            layout: CgroupLayout::V1,
            path: "/berth/x".into(),
            v1: [
                ("memory".to_string(), mem.clone()),
                ("pids".to_string(), pids.clone()),
                ("cpu".to_string(), tmp.path().join("cpu/berth/x")),
            ]
            .into_iter()
            .collect(),
            unified: None,
        };
        remove(&paths, Duration::from_secs(1)).unwrap();
        assert!(!mem.exists() && !pids.exists());
        assert!(tmp.path().join("memory/berth").exists());
        // Idempotent.
        remove(&paths, Duration::from_secs(1)).unwrap();
    }

    #[test]
    fn lists_procs_recursively() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path().join("berth/x");
        fs::create_dir_all(d.join("sub")).unwrap();
        fs::write(d.join("cgroup.procs"), "12\n7\n").unwrap();
        fs::write(d.join("sub/cgroup.procs"), "9\n12\n").unwrap();
        let paths = CgroupPaths {
            layout: CgroupLayout::Unified,
            path: "/berth/x".into(),
            v1: BTreeMap::new(),
            unified: Some(d),
        };
        assert_eq!(procs(&paths).unwrap(), vec![7, 9, 12]);
        let gone = CgroupPaths {
            unified: Some(tmp.path().join("nope")),
            ..paths
        };
        assert!(matches!(procs(&gone), Err(RuntimeError::NotFound(_))));
    }
}
