//! Detecting the host's cgroup layout (v1, hybrid, unified v2), where each
//! hierarchy is mounted, and which resource controls the host supports.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Result, RuntimeError};

/// How cgroups are mounted on the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum CgroupLayout {
    /// Only v1 hierarchies.
    V1,
    /// v1 controllers plus a cgroup2 mount without them (systemd's
    /// "hybrid" mode, `/sys/fs/cgroup/unified`).
    Hybrid,
    /// cgroup v2 only.
    Unified,
}

impl CgroupLayout {
    pub fn as_str(self) -> &'static str {
        match self {
            CgroupLayout::V1 => "v1",
            CgroupLayout::Hybrid => "hybrid",
            CgroupLayout::Unified => "v2",
        }
    }

    /// What `docker info` shows as `CgroupVersion` ("1" or "2"); hybrid
    /// hosts are v1 for resource control.
    pub fn docker_version(self) -> &'static str {
        match self {
            CgroupLayout::Unified => "2",
            CgroupLayout::V1 | CgroupLayout::Hybrid => "1",
        }
    }
}

/// The v1 controllers Berth knows about.
pub const V1_CONTROLLERS: &[&str] = &[
    "blkio",
    "cpu",
    "cpuacct",
    "cpuset",
    "devices",
    "freezer",
    "hugetlb",
    "memory",
    "misc",
    "net_cls",
    "net_prio",
    "perf_event",
    "pids",
    "rdma",
];

/// Which resource controls work on this host (Docker's `sysinfo`); the
/// spec generator drops unsupported ones with a warning, as Docker does.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CgroupFeatures {
    pub memory: bool,
    pub swap: bool,
    pub memory_reservation: bool,
    pub swappiness: bool,
    pub oom_kill_disable: bool,
    pub cpu_shares: bool,
    pub cpu_cfs: bool,
    pub cpuset: bool,
    pub pids: bool,
    pub blkio_weight: bool,
    pub freezer: bool,
}

impl CgroupFeatures {
    /// Everything supported (for tests and synthetic hosts).
    pub fn all() -> Self {
        CgroupFeatures {
            memory: true,
            swap: true,
            memory_reservation: true,
            swappiness: true,
            oom_kill_disable: true,
            cpu_shares: true,
            cpu_cfs: true,
            cpuset: true,
            pids: true,
            blkio_weight: true,
            freezer: true,
        }
    }
}

/// The host's cgroup mounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupHost {
    pub layout: CgroupLayout,
    /// v1 hierarchies: controller (or `name=systemd`) → mount point. Two
    /// co-mounted controllers (`cpu,cpuacct`) map to the same mount point.
    pub v1_mounts: BTreeMap<String, PathBuf>,
    /// The cgroup2 mount: the whole tree on v2, the controller-less
    /// `unified` hierarchy on hybrid hosts.
    pub unified_mount: Option<PathBuf>,
    /// Controllers available in the unified hierarchy.
    pub unified_controllers: Vec<String>,
    /// Whether the kernel has cgroup namespaces.
    pub cgroupns_supported: bool,
    pub features: CgroupFeatures,
}

/// Undoes mountinfo's octal escapes (`\040` for a space).
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = (b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0');
            out.push(v);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// One cgroup mount from mountinfo.
#[derive(Debug)]
struct CgroupMount {
    mount_point: PathBuf,
    fstype: String,
    super_options: String,
}

fn cgroup_mounts(mountinfo: &str) -> Vec<CgroupMount> {
    let mut out = Vec::new();
    for line in mountinfo.lines() {
        let Some((pre, post)) = line.split_once(" - ") else {
            continue;
        };
        let pre: Vec<&str> = pre.split(' ').collect();
        let post: Vec<&str> = post.split(' ').collect();
        if pre.len() < 5 || post.len() < 3 {
            continue;
        }
        let fstype = post[0];
        if fstype != "cgroup" && fstype != "cgroup2" {
            continue;
        }
        out.push(CgroupMount {
            mount_point: PathBuf::from(unescape(pre[4])),
            fstype: fstype.to_string(),
            super_options: post[2].to_string(),
        });
    }
    out
}

/// Prefers mounts under `/sys/fs/cgroup` (bind mounts elsewhere are
/// copies of the same hierarchy).
fn better(new: &Path, old: &Path) -> bool {
    new.starts_with("/sys/fs/cgroup") && !old.starts_with("/sys/fs/cgroup")
}

impl CgroupHost {
    /// The layout and mount points described by a mountinfo text, without
    /// looking at the filesystem (features all off, no controllers).
    pub fn from_mountinfo(mountinfo: &str) -> Result<Self> {
        let mut v1_mounts: BTreeMap<String, PathBuf> = BTreeMap::new();
        let mut unified: Option<PathBuf> = None;
        for m in cgroup_mounts(mountinfo) {
            if m.fstype == "cgroup2" {
                let take = match &unified {
                    None => true,
                    Some(old) => {
                        m.mount_point == Path::new("/sys/fs/cgroup") || better(&m.mount_point, old)
                    }
                };
                if take {
                    unified = Some(m.mount_point);
                }
                continue;
            }
            for opt in m.super_options.split(',') {
                if V1_CONTROLLERS.contains(&opt) || opt.starts_with("name=") {
                    let take = match v1_mounts.get(opt) {
                        None => true,
                        Some(old) => better(&m.mount_point, old),
                    };
                    if take {
                        v1_mounts.insert(opt.to_string(), m.mount_point.clone());
                    }
                }
            }
        }
        let has_v1_controllers = v1_mounts.keys().any(|k| !k.starts_with("name="));
        let layout = match (has_v1_controllers, &unified) {
            (true, Some(_)) => CgroupLayout::Hybrid,
            (true, None) => CgroupLayout::V1,
            (false, Some(_)) => CgroupLayout::Unified,
            (false, None) => {
                return Err(RuntimeError::Unsupported {
                    what: "cgroups".into(),
                    reason: "no cgroup filesystem is mounted".into(),
                });
            }
        };
        if layout == CgroupLayout::Unified {
            // Named v1 hierarchies next to a v2 tree are not ours to manage.
            v1_mounts.clear();
        }
        Ok(CgroupHost {
            layout,
            v1_mounts,
            unified_mount: unified,
            unified_controllers: Vec::new(),
            cgroupns_supported: false,
            features: CgroupFeatures::default(),
        })
    }

    /// Detects the host's layout, controllers and features.
    pub fn detect() -> Result<Self> {
        let mountinfo = fs::read_to_string("/proc/self/mountinfo")
            .map_err(|e| RuntimeError::io("reading /proc/self/mountinfo", e))?;
        let mut host = Self::from_mountinfo(&mountinfo)?;
        if let Some(u) = &host.unified_mount {
            host.unified_controllers = fs::read_to_string(u.join("cgroup.controllers"))
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_string)
                .collect();
        }
        host.cgroupns_supported = Path::new("/proc/self/ns/cgroup").exists();
        let own = fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
        host.features = host.probe_features(&own);
        Ok(host)
    }

    /// A synthetic host (for tests): the usual mount points, every feature.
    pub fn synthetic(layout: CgroupLayout) -> Self {
        let root = PathBuf::from("/sys/fs/cgroup");
        let mut v1_mounts = BTreeMap::new();
        if layout != CgroupLayout::Unified {
            for c in [
                "blkio", "cpu", "cpuacct", "cpuset", "devices", "freezer", "memory", "pids",
            ] {
                v1_mounts.insert(c.to_string(), root.join(c));
            }
            v1_mounts.insert("name=systemd".to_string(), root.join("systemd"));
        }
        let unified_mount = match layout {
            CgroupLayout::V1 => None,
            CgroupLayout::Hybrid => Some(root.join("unified")),
            CgroupLayout::Unified => Some(root),
        };
        let unified_controllers = if layout == CgroupLayout::Unified {
            ["cpuset", "cpu", "io", "memory", "pids"]
                .map(String::from)
                .to_vec()
        } else {
            Vec::new()
        };
        CgroupHost {
            layout,
            v1_mounts,
            unified_mount,
            unified_controllers,
            cgroupns_supported: true,
            features: CgroupFeatures::all(),
        }
    }

    /// Whether a container gets a private cgroup namespace by default
    /// (Docker: on v2 hosts only).
    pub fn default_cgroupns_private(&self) -> bool {
        self.layout == CgroupLayout::Unified && self.cgroupns_supported
    }

    fn v1_has(&self, controller: &str, file: &str) -> bool {
        self.v1_mounts
            .get(controller)
            .is_some_and(|m| m.join(file).exists())
    }

    /// Whether `file` exists in some non-root cgroup of the unified tree:
    /// our own cgroup, or else any first-level child (interface files of
    /// controllers do not exist in the root cgroup).
    fn v2_has(&self, own_cgroup: &str, file: &str) -> bool {
        let Some(root) = &self.unified_mount else {
            return false;
        };
        let own = own_cgroup
            .lines()
            .find_map(|l| l.strip_prefix("0::"))
            .unwrap_or("/")
            .trim_start_matches('/');
        if !own.is_empty() && root.join(own).join(file).exists() {
            return true;
        }
        fs::read_dir(root).is_ok_and(|rd| {
            rd.flatten()
                .any(|e| e.path().is_dir() && e.path().join(file).exists())
        })
    }

    fn probe_features(&self, own_cgroup: &str) -> CgroupFeatures {
        match self.layout {
            CgroupLayout::V1 | CgroupLayout::Hybrid => CgroupFeatures {
                memory: self.v1_mounts.contains_key("memory"),
                swap: self.v1_has("memory", "memory.memsw.limit_in_bytes"),
                memory_reservation: self.v1_has("memory", "memory.soft_limit_in_bytes"),
                swappiness: self.v1_has("memory", "memory.swappiness"),
                oom_kill_disable: self.v1_has("memory", "memory.oom_control"),
                cpu_shares: self.v1_has("cpu", "cpu.shares"),
                cpu_cfs: self.v1_has("cpu", "cpu.cfs_quota_us"),
                cpuset: self.v1_mounts.contains_key("cpuset"),
                pids: self.v1_mounts.contains_key("pids"),
                blkio_weight: self.v1_has("blkio", "blkio.weight")
                    || self.v1_has("blkio", "blkio.bfq.weight"),
                freezer: self.v1_mounts.contains_key("freezer"),
            },
            CgroupLayout::Unified => {
                let has = |c: &str| self.unified_controllers.iter().any(|x| x == c);
                CgroupFeatures {
                    memory: has("memory"),
                    swap: has("memory") && self.v2_has(own_cgroup, "memory.swap.max"),
                    memory_reservation: has("memory"),
                    swappiness: false,
                    oom_kill_disable: false,
                    cpu_shares: has("cpu"),
                    cpu_cfs: has("cpu"),
                    cpuset: has("cpuset"),
                    pids: has("pids"),
                    blkio_weight: has("io")
                        && (self.v2_has(own_cgroup, "io.bfq.weight")
                            || self.v2_has(own_cgroup, "io.weight")),
                    freezer: self.v2_has(own_cgroup, "cgroup.freeze"),
                }
            }
        }
    }

    /// The CPUs and memory nodes available to containers, as cpuset lists
    /// (`0-3`, `0`).
    pub fn available_cpuset(&self) -> (String, String) {
        let read = |p: PathBuf| {
            fs::read_to_string(p)
                .ok()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
        };
        let (cpus, mems) = match self.layout {
            CgroupLayout::Unified => match &self.unified_mount {
                Some(root) => (
                    read(root.join("cpuset.cpus.effective")),
                    read(root.join("cpuset.mems.effective")),
                ),
                None => (None, None),
            },
            _ => match self.v1_mounts.get("cpuset") {
                Some(root) => (
                    read(root.join("cpuset.cpus")),
                    read(root.join("cpuset.mems")),
                ),
                None => (None, None),
            },
        };
        let cpus = cpus
            .or_else(|| read(PathBuf::from("/sys/devices/system/cpu/online")))
            .unwrap_or_else(|| "0".to_string());
        let mems = mems
            .or_else(|| read(PathBuf::from("/sys/devices/system/node/online")))
            .unwrap_or_else(|| "0".to_string());
        (cpus, mems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate
";

    const V1_COMOUNTED: &str = "\
25 18 0:21 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
26 25 0:22 / /sys/fs/cgroup/systemd rw,nosuid shared:10 - cgroup cgroup rw,xattr,release_agent=/lib/systemd/systemd-cgroups-agent,name=systemd
29 25 0:25 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:12 - cgroup cgroup rw,cpu,cpuacct
30 25 0:26 / /sys/fs/cgroup/memory rw,nosuid shared:13 - cgroup cgroup rw,memory
31 25 0:27 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid shared:14 - cgroup cgroup rw,net_cls,net_prio
99 20 0:26 / /mnt/other\\040dir rw - cgroup cgroup rw,memory
";

    const V2: &str = "\
26 21 0:23 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
";

    #[test]
    fn detects_hybrid() {
        let h = CgroupHost::from_mountinfo(HYBRID).unwrap();
        assert_eq!(h.layout, CgroupLayout::Hybrid);
        assert_eq!(
            h.unified_mount.as_deref(),
            Some(Path::new("/sys/fs/cgroup/unified"))
        );
        assert_eq!(h.v1_mounts["cpu"], PathBuf::from("/sys/fs/cgroup/cpu"));
        assert_eq!(
            h.v1_mounts["name=systemd"],
            PathBuf::from("/sys/fs/cgroup/systemd")
        );
        assert!(!h.v1_mounts.contains_key("xattr"));
        assert!(!h.v1_mounts.contains_key("rw"));
        assert_eq!(h.layout.docker_version(), "1");
    }

    #[test]
    fn detects_v1_with_comounts() {
        let h = CgroupHost::from_mountinfo(V1_COMOUNTED).unwrap();
        assert_eq!(h.layout, CgroupLayout::V1);
        assert_eq!(h.v1_mounts["cpu"], h.v1_mounts["cpuacct"]);
        assert_eq!(
            h.v1_mounts["cpu"],
            PathBuf::from("/sys/fs/cgroup/cpu,cpuacct")
        );
        // The copy outside /sys/fs/cgroup does not win.
        assert_eq!(
            h.v1_mounts["memory"],
            PathBuf::from("/sys/fs/cgroup/memory")
        );
        assert!(h.unified_mount.is_none());
        assert!(!h.default_cgroupns_private());
    }

    #[test]
    fn detects_v2() {
        let mut h = CgroupHost::from_mountinfo(V2).unwrap();
        assert_eq!(h.layout, CgroupLayout::Unified);
        assert!(h.v1_mounts.is_empty());
        assert_eq!(
            h.unified_mount.as_deref(),
            Some(Path::new("/sys/fs/cgroup"))
        );
        assert_eq!(h.layout.docker_version(), "2");
        h.cgroupns_supported = true;
        assert!(h.default_cgroupns_private());
    }

    #[test]
    fn no_cgroups_is_an_error() {
        assert!(CgroupHost::from_mountinfo("22 1 8:1 / / rw - ext4 /dev/sda1 rw\n").is_err());
    }

    #[test]
    fn escapes() {
        assert_eq!(unescape("/a\\040b"), "/a b");
        assert_eq!(unescape("/a\\04"), "/a\\04");
    }

    #[test]
    fn this_host() {
        // Whatever the host is, detection must succeed and be consistent.
        let h = CgroupHost::detect().unwrap();
        match h.layout {
            CgroupLayout::Unified => assert!(h.v1_mounts.is_empty()),
            CgroupLayout::Hybrid => assert!(h.unified_mount.is_some() && !h.v1_mounts.is_empty()),
            CgroupLayout::V1 => assert!(h.unified_mount.is_none()),
        }
        let (cpus, mems) = h.available_cpuset();
        assert!(crate::parse::parse_cpuset(&cpus).is_ok(), "{cpus}");
        assert!(crate::parse::parse_cpuset(&mems).is_ok(), "{mems}");
    }
}
