//! What the spec generator needs to know about the host: cgroups, CPUs,
//! rlimit ceilings, capabilities of the daemon, available sysctls.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use nix::sys::resource::{Resource, getrlimit};

use crate::cgroup::{CgroupHost, CgroupLayout, machine_memory};
use crate::error::Result;
use crate::parse::{CpuSet, parse_cpuset};

/// Facts about the host, detected once by the daemon and passed to
/// [`generate`](super::generate). Tests build one with [`HostInfo::synthetic`].
#[derive(Debug, Clone)]
pub struct HostInfo {
    pub cgroup: CgroupHost,
    /// CPUs this process may run on (Docker's `NumCPU`).
    pub ncpus: u32,
    /// CPUs and memory nodes available for `--cpuset-cpus/-mems`.
    pub cpuset_cpus: CpuSet,
    pub cpuset_mems: CpuSet,
    /// The highest hard rlimit a container may get, by name (`nofile`,
    /// …): the daemon's own hard limit without CAP_SYS_RESOURCE, else the
    /// kernel's ceiling (`fs.nr_open` for `nofile`, none for the others).
    pub rlimit_max: BTreeMap<String, u64>,
    /// Whether the daemon has CAP_SYS_RESOURCE (may raise rlimits and
    /// lower `oom_score_adj`).
    pub cap_sys_resource: bool,
    /// The daemon's own `oom_score_adj` (inherited by containers).
    pub oom_score_adj: i32,
    /// `/proc/sys/kernel/cap_last_cap`.
    pub cap_last_cap: u32,
    /// The daemon's bounding set (`CapBnd`): a container cannot get a
    /// capability outside it.
    pub cap_bounding: u64,
    /// Sysctls (dotted names) that exist on the host, among those the
    /// generator sets by default.
    pub sysctls: Vec<String>,
    /// The machine's memory in bytes.
    pub machine_memory: u64,
}

/// Docker's default sysctls for containers with their own network
/// namespace.
pub(crate) const DEFAULT_NET_SYSCTLS: &[(&str, &str)] = &[
    ("net.ipv4.ping_group_range", "0 2147483647"),
    ("net.ipv4.ip_unprivileged_port_start", "0"),
];

pub(crate) const RLIMITS: &[(&str, Resource)] = &[
    ("as", Resource::RLIMIT_AS),
    ("core", Resource::RLIMIT_CORE),
    ("cpu", Resource::RLIMIT_CPU),
    ("data", Resource::RLIMIT_DATA),
    ("fsize", Resource::RLIMIT_FSIZE),
    ("locks", Resource::RLIMIT_LOCKS),
    ("memlock", Resource::RLIMIT_MEMLOCK),
    ("msgqueue", Resource::RLIMIT_MSGQUEUE),
    ("nice", Resource::RLIMIT_NICE),
    ("nofile", Resource::RLIMIT_NOFILE),
    ("nproc", Resource::RLIMIT_NPROC),
    ("rss", Resource::RLIMIT_RSS),
    ("rtprio", Resource::RLIMIT_RTPRIO),
    ("rttime", Resource::RLIMIT_RTTIME),
    ("sigpending", Resource::RLIMIT_SIGPENDING),
    ("stack", Resource::RLIMIT_STACK),
];

/// The capability number of CAP_SYS_RESOURCE.
const CAP_SYS_RESOURCE: u32 = 24;

/// A capability mask line of `/proc/self/status` (`CapEff:`, `CapBnd:`).
fn status_mask(status: &str, field: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
}

/// Whether capability `bit` is in this process's effective set.
fn has_effective_cap(status: &str, bit: u32) -> bool {
    status_mask(status, "CapEff:").is_some_and(|mask| mask & (1u64 << bit) != 0)
}

impl HostInfo {
    /// Detects everything from `/proc`, `/sys` and the process's limits.
    pub fn detect() -> Result<Self> {
        let cgroup = CgroupHost::detect()?;
        let (cpus, mems) = cgroup.available_cpuset();
        let ncpus = nix::sched::sched_getaffinity(nix::unistd::Pid::from_raw(0))
            .map(|set| {
                (0..nix::sched::CpuSet::count())
                    .filter(|i| set.is_set(*i).unwrap_or(false))
                    .count() as u32
            })
            .unwrap_or(0);
        let ncpus = if ncpus == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get() as u32)
        } else {
            ncpus
        };
        let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
        let cap_sys_resource = has_effective_cap(&status, CAP_SYS_RESOURCE);
        let nr_open = fs::read_to_string("/proc/sys/fs/nr_open")
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .unwrap_or(1 << 20);
        let rlimit_max = RLIMITS
            .iter()
            .filter_map(|(name, res)| {
                let max = match (cap_sys_resource, *name) {
                    (true, "nofile") => nr_open,
                    (true, _) => u64::MAX,
                    (false, _) => getrlimit(*res).ok()?.1,
                };
                Some((name.to_string(), max))
            })
            .collect();
        let oom_score_adj = fs::read_to_string("/proc/self/oom_score_adj")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0);
        let cap_last_cap = fs::read_to_string("/proc/sys/kernel/cap_last_cap")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(40);
        let sysctls = DEFAULT_NET_SYSCTLS
            .iter()
            .map(|(k, _)| *k)
            .filter(|k| Path::new("/proc/sys").join(k.replace('.', "/")).exists())
            .map(str::to_string)
            .collect();
        Ok(HostInfo {
            ncpus,
            cpuset_cpus: parse_cpuset(&cpus).unwrap_or_default(),
            cpuset_mems: parse_cpuset(&mems).unwrap_or_default(),
            rlimit_max,
            cap_sys_resource,
            oom_score_adj,
            cap_last_cap,
            cap_bounding: status_mask(&status, "CapBnd:").unwrap_or(u64::MAX),
            sysctls,
            machine_memory: machine_memory(),
            cgroup,
        })
    }

    /// The capabilities a container can get here: known to the kernel and
    /// in the daemon's bounding set.
    pub fn available_caps(&self) -> u64 {
        let known = if self.cap_last_cap >= 63 {
            u64::MAX
        } else {
            (1u64 << (self.cap_last_cap + 1)) - 1
        };
        known & self.cap_bounding
    }

    /// A host with every feature, 4 CPUs, one memory node, a 1048576 open
    /// files ceiling and CAP_SYS_RESOURCE (for tests here and in other
    /// crates).
    pub fn synthetic(layout: CgroupLayout) -> Self {
        HostInfo {
            cgroup: CgroupHost::synthetic(layout),
            ncpus: 4,
            cpuset_cpus: parse_cpuset("0-3").unwrap_or_default(),
            cpuset_mems: parse_cpuset("0").unwrap_or_default(),
            rlimit_max: RLIMITS
                .iter()
                .map(|(n, _)| {
                    (
                        n.to_string(),
                        if *n == "nofile" { 1 << 20 } else { u64::MAX },
                    )
                })
                .collect(),
            cap_sys_resource: true,
            oom_score_adj: 0,
            cap_last_cap: 40,
            cap_bounding: (1u64 << 41) - 1,
            sysctls: DEFAULT_NET_SYSCTLS
                .iter()
                .map(|(k, _)| k.to_string())
                .collect(),
            machine_memory: 8 << 30,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_from_status() {
        let status = "Name:\tx\nCapEff:\t000001fffeffffff\n";
        assert!(!has_effective_cap(status, 24));
        assert!(has_effective_cap(status, 21));
        assert!(!has_effective_cap("", 0));
        assert_eq!(
            status_mask("CapBnd:\t00000000000000ff\n", "CapBnd:"),
            Some(0xff)
        );
    }

    #[test]
    fn detect_this_host() {
        let h = HostInfo::detect().unwrap();
        assert!(h.ncpus >= 1);
        assert!(!h.cpuset_cpus.is_empty());
        assert!(h.rlimit_max.contains_key("nofile"));
        assert!(h.cap_last_cap >= 30);
        assert_ne!(h.available_caps(), 0);
    }
}
