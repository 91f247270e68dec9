//! The cgroup path convention and each container's directories per
//! hierarchy.
//!
//! Convention: every container gets the explicit cgroups path
//! `<parent>/<id>` in its OCI spec, where `<parent>` is
//! [`DEFAULT_CGROUP_PARENT`] (`/berth`) unless `--cgroup-parent` (or the
//! daemon's `cgroup-parent`) says otherwise. The path is absolute, so it
//! is relative to the root of every hierarchy, not to the caller's own
//! cgroup:
//!
//! - v1: `<mount of controller>/berth/<id>` for every controller, e.g.
//!   `/sys/fs/cgroup/memory/berth/<id>`, plus named hierarchies
//!   (`/sys/fs/cgroup/systemd/berth/<id>`);
//! - hybrid: as v1, plus `/sys/fs/cgroup/unified/berth/<id>`;
//! - v2: `/sys/fs/cgroup/berth/<id>`.
//!
//! The runtime creates the directories; the parent `/berth` is shared by
//! all containers and left in place when a container is removed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::layout::{CgroupHost, CgroupLayout};
use crate::error::{Result, RuntimeError};

/// The default parent of container cgroups.
pub const DEFAULT_CGROUP_PARENT: &str = "/berth";

/// Checks a cgroup path component list: no `.`/`..`, no empty names, no
/// characters that mean something in cgroupfs or the systemd driver.
fn clean_components(p: &str, what: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for comp in p.split('/').filter(|c| !c.is_empty()) {
        if comp == "." || comp == ".." || comp.contains('\0') || comp.contains('\n') {
            return Err(RuntimeError::invalid(format!(
                "invalid {what} {p:?}: must not contain '.', '..' or control characters"
            )));
        }
        out.push(comp.to_string());
    }
    Ok(out)
}

/// The container's cgroups path: `<parent>/<id>` made absolute, with the
/// default parent when none is given. `parent = Some("/")` puts the
/// container directly under the hierarchy roots.
pub fn container_cgroup_path(parent: Option<&str>, id: &str) -> Result<String> {
    let parent = match parent {
        Some(p) if !p.is_empty() => p,
        _ => DEFAULT_CGROUP_PARENT,
    };
    let mut comps = clean_components(parent, "--cgroup-parent")?;
    let id_comps = clean_components(id, "container id")?;
    if id_comps.len() != 1 {
        return Err(RuntimeError::invalid(format!(
            "invalid container id {id:?}"
        )));
    }
    comps.extend(id_comps);
    Ok(format!("/{}", comps.join("/")))
}

/// A container's cgroup directories in every hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupPaths {
    pub layout: CgroupLayout,
    /// The cgroups path of the spec (`/berth/<id>`).
    pub path: String,
    /// v1 (and hybrid): controller or `name=…` → directory.
    pub v1: BTreeMap<String, PathBuf>,
    /// The directory in the cgroup2 hierarchy (all of it on v2; the
    /// controller-less one on hybrid hosts).
    pub unified: Option<PathBuf>,
}

impl CgroupHost {
    /// The directories of cgroups path `path` (as written in the spec).
    pub fn paths(&self, path: &str) -> Result<CgroupPaths> {
        let rel = clean_components(path, "cgroups path")?.join("/");
        if rel.is_empty() {
            return Err(RuntimeError::invalid(
                "invalid cgroups path \"/\": the root cgroup is not a container's",
            ));
        }
        Ok(CgroupPaths {
            layout: self.layout,
            path: format!("/{rel}"),
            v1: self
                .v1_mounts
                .iter()
                .map(|(c, m)| (c.clone(), m.join(&rel)))
                .collect(),
            unified: self.unified_mount.as_ref().map(|m| m.join(&rel)),
        })
    }
}

impl CgroupPaths {
    /// The directory holding controller `c`'s files: the v1 hierarchy of
    /// `c`, or the unified directory on v2.
    pub fn controller(&self, c: &str) -> Option<&Path> {
        match self.layout {
            CgroupLayout::Unified => self.unified.as_deref(),
            _ => self.v1.get(c).map(PathBuf::as_path),
        }
    }

    /// Every directory (deduplicated, co-mounted controllers share one).
    pub fn all_dirs(&self) -> Vec<PathBuf> {
        let mut dirs: Vec<PathBuf> = self.v1.values().cloned().collect();
        dirs.extend(self.unified.clone());
        dirs.sort();
        dirs.dedup();
        dirs
    }

    /// The directory whose `cgroup.procs` lists the container's processes.
    pub fn procs_dir(&self) -> Option<&Path> {
        match self.layout {
            CgroupLayout::Unified => self.unified.as_deref(),
            _ => [
                "pids", "memory", "cpu", "cpuacct", "devices", "freezer", "blkio", "cpuset",
            ]
            .iter()
            .find_map(|c| self.v1.get(*c).map(PathBuf::as_path))
            .or(self.unified.as_deref()),
        }
    }

    /// Whether any of the directories exists.
    pub fn exists(&self) -> bool {
        self.all_dirs().iter().any(|d| d.is_dir())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn convention() {
        assert_eq!(container_cgroup_path(None, "abc").unwrap(), "/berth/abc");
        assert_eq!(
            container_cgroup_path(Some(""), "abc").unwrap(),
            "/berth/abc"
        );
        assert_eq!(
            container_cgroup_path(Some("custom"), "abc").unwrap(),
            "/custom/abc"
        );
        assert_eq!(
            container_cgroup_path(Some("/a/b/"), "abc").unwrap(),
            "/a/b/abc"
        );
        assert_eq!(container_cgroup_path(Some("/"), "abc").unwrap(), "/abc");
        assert!(container_cgroup_path(Some("/a/../b"), "abc").is_err());
        assert!(container_cgroup_path(None, "a/b").is_err());
        assert!(container_cgroup_path(None, "..").is_err());
        assert!(container_cgroup_path(None, "").is_err());
    }

    #[test]
    fn paths_per_layout() {
        let v2 = CgroupHost::synthetic(CgroupLayout::Unified)
            .paths("/berth/x")
            .unwrap();
        assert_eq!(
            v2.unified.as_deref(),
            Some(Path::new("/sys/fs/cgroup/berth/x"))
        );
        assert_eq!(
            v2.controller("memory"),
            Some(Path::new("/sys/fs/cgroup/berth/x"))
        );
        assert_eq!(v2.all_dirs().len(), 1);

        let hy = CgroupHost::synthetic(CgroupLayout::Hybrid)
            .paths("/berth/x")
            .unwrap();
        assert_eq!(
            hy.controller("memory"),
            Some(Path::new("/sys/fs/cgroup/memory/berth/x"))
        );
        assert_eq!(
            hy.unified.as_deref(),
            Some(Path::new("/sys/fs/cgroup/unified/berth/x"))
        );
        assert!(
            hy.all_dirs()
                .contains(&PathBuf::from("/sys/fs/cgroup/systemd/berth/x"))
        );
        assert_eq!(
            hy.procs_dir(),
            Some(Path::new("/sys/fs/cgroup/pids/berth/x"))
        );

        let v1 = CgroupHost::synthetic(CgroupLayout::V1)
            .paths("berth/x")
            .unwrap();
        assert_eq!(v1.path, "/berth/x");
        assert!(v1.unified.is_none());
        assert!(CgroupHost::synthetic(CgroupLayout::V1).paths("/").is_err());
        assert!(
            CgroupHost::synthetic(CgroupLayout::V1)
                .paths("/a/../../etc")
                .is_err()
        );
    }
}
