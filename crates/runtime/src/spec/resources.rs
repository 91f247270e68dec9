//! Resource limits (`--memory`, `--memory-swap`, `--cpus`, `--cpu-shares`,
//! `--cpuset-*`, `--pids-limit`, `--blkio-weight`): Docker's validation and
//! defaults, and their OCI `LinuxResources` form.

use oci_spec::runtime::{LinuxBlockIo, LinuxCpu, LinuxMemory, LinuxPids, LinuxResources};
use serde::{Deserialize, Serialize};

use super::host::HostInfo;
use crate::error::{Result, RuntimeError};
use crate::parse::parse_cpuset;

/// The smallest memory limit (and reservation) Docker accepts: 6 MiB.
pub const MIN_MEMORY: i64 = 6 * 1024 * 1024;

/// The CFS period `--cpus` uses, in microseconds (100 ms).
pub const DEFAULT_CPU_PERIOD: u64 = 100_000;

/// Resource limits in HostConfig's units (bytes, nano-CPUs, µs).
/// Zero/`None` means "not set".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resources {
    pub memory: i64,
    /// `-1` unlimited; `0` at create = twice `memory`.
    pub memory_swap: i64,
    pub memory_reservation: i64,
    /// `-1` or `None` = not set.
    pub memory_swappiness: Option<i64>,
    pub oom_kill_disable: Option<bool>,
    pub cpu_shares: i64,
    pub nano_cpus: i64,
    pub cpu_period: i64,
    pub cpu_quota: i64,
    pub cpuset_cpus: String,
    pub cpuset_mems: String,
    /// `None`, `0` or negative = unlimited.
    pub pids_limit: Option<i64>,
    pub blkio_weight: u16,
}

impl From<&berth_api::types::container::HostConfig> for Resources {
    /// The resource fields of a create request's HostConfig.
    fn from(h: &berth_api::types::container::HostConfig) -> Self {
        Resources {
            memory: h.memory,
            memory_swap: h.memory_swap,
            memory_reservation: h.memory_reservation,
            memory_swappiness: h.memory_swappiness,
            oom_kill_disable: h.oom_kill_disable,
            cpu_shares: h.cpu_shares,
            nano_cpus: h.nano_cpus,
            cpu_period: h.cpu_period,
            cpu_quota: h.cpu_quota,
            cpuset_cpus: h.cpuset_cpus.clone(),
            cpuset_mems: h.cpuset_mems.clone(),
            pids_limit: h.pids_limit,
            blkio_weight: h.blkio_weight,
        }
    }
}

/// Validates `r` against the host, as Docker's
/// `verifyPlatformContainerResources`: errors for invalid values,
/// warnings (and the value dropped) for controls the host lacks. At create
/// (`update == false`) a memory limit without `memory_swap` gets twice the
/// memory as swap limit, as Docker stores it. Returns the adapted
/// resources and the warnings.
pub fn validate_resources(
    r: &Resources,
    host: &HostInfo,
    update: bool,
) -> Result<(Resources, Vec<String>)> {
    let f = &host.cgroup.features;
    let mut r = r.clone();
    let mut warnings = Vec::new();
    let invalid = |m: String| Err(RuntimeError::invalid(m));

    // Memory.
    if r.memory != 0 && r.memory < MIN_MEMORY {
        return invalid("Minimum memory limit allowed is 6MB".into());
    }
    if r.memory > 0 && !f.memory {
        warnings.push("Your kernel does not support memory limit capabilities or the cgroup is not mounted. Limitation discarded.".into());
        r.memory = 0;
        r.memory_swap = -1;
    }
    if r.memory_swap < -1 {
        return invalid(format!(
            "invalid --memory-swap {}: must be -1 (unlimited), 0 (default) or a size",
            r.memory_swap
        ));
    }
    if r.memory > 0 && r.memory_swap != -1 && !f.swap {
        warnings.push("Your kernel does not support swap limit capabilities or the cgroup is not mounted. Memory limited without swap.".into());
        r.memory_swap = -1;
    }
    if r.memory > 0 && r.memory_swap > 0 && r.memory_swap < r.memory {
        return invalid(
            "Minimum memoryswap limit should be larger than memory limit, see usage".into(),
        );
    }
    if r.memory == 0 && r.memory_swap > 0 && !update {
        return invalid(
            "You should always set the Memory limit when using Memoryswap limit, see usage".into(),
        );
    }
    if let Some(s) = r.memory_swappiness
        && s != -1
    {
        if !f.swappiness {
            warnings.push("Your kernel does not support memory swappiness capabilities or the cgroup is not mounted. Memory swappiness discarded.".into());
            r.memory_swappiness = None;
        } else if !(0..=100).contains(&s) {
            return invalid(format!(
                "Invalid value: {s}, valid memory swappiness range is 0-100"
            ));
        }
    }
    if r.memory_reservation > 0 && !f.memory_reservation {
        warnings.push("Your kernel does not support memory soft limit capabilities or the cgroup is not mounted. Limitation discarded.".into());
        r.memory_reservation = 0;
    }
    if r.memory_reservation != 0 && r.memory_reservation < MIN_MEMORY {
        return invalid("Minimum memory reservation allowed is 6MB".into());
    }
    if r.memory > 0 && r.memory_reservation > 0 && r.memory < r.memory_reservation {
        return invalid(
            "Minimum memory limit can not be less than memory reservation limit, see usage".into(),
        );
    }
    if r.oom_kill_disable == Some(true) {
        if !f.oom_kill_disable {
            warnings.push(
                "Your kernel does not support OomKillDisable. OomKillDisable discarded.".into(),
            );
            r.oom_kill_disable = None;
        } else if r.memory == 0 {
            warnings.push("OOM killer is disabled for the container, but no memory limit is set, this can result in the system running out of resources.".into());
        }
    }
    if !update && r.memory > 0 && r.memory_swap == 0 && f.swap {
        r.memory_swap = r.memory.saturating_mul(2);
    }

    // CPU.
    if r.cpu_shares < 0 {
        return invalid(format!(
            "invalid --cpu-shares {}: shares must not be negative",
            r.cpu_shares
        ));
    }
    if r.cpu_shares > 0 && !f.cpu_shares {
        warnings.push("Your kernel does not support CPU shares or the cgroup is not mounted. Shares discarded.".into());
        r.cpu_shares = 0;
    }
    if r.nano_cpus > 0 && r.cpu_period > 0 {
        return invalid("Conflicting options: Nano CPUs and CPU Period cannot both be set".into());
    }
    if r.nano_cpus > 0 && r.cpu_quota > 0 {
        return invalid("Conflicting options: Nano CPUs and CPU Quota cannot both be set".into());
    }
    if r.nano_cpus != 0 {
        let max = i64::from(host.ncpus) * 1_000_000_000;
        if r.nano_cpus < 10_000_000 || r.nano_cpus > max {
            return invalid(format!(
                "Range of CPUs is from 0.01 to {n}.00, as there are only {n} CPUs available",
                n = host.ncpus
            ));
        }
        if !f.cpu_cfs {
            return invalid("NanoCPUs can not be set, as your kernel does not support CPU CFS scheduler or the cgroup is not mounted".into());
        }
    }
    if r.cpu_period != 0 && !(1000..=1_000_000).contains(&r.cpu_period) {
        return invalid(
            "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)"
                .into(),
        );
    }
    if r.cpu_quota > 0 && r.cpu_quota < 1000 {
        return invalid("CPU cfs quota can not be less than 1ms (i.e. 1000)".into());
    }
    if (r.cpu_period != 0 || r.cpu_quota > 0) && !f.cpu_cfs {
        warnings.push(
            "Your kernel does not support CPU CFS scheduler. CPU period/quota discarded.".into(),
        );
        r.cpu_period = 0;
        r.cpu_quota = 0;
    }
    for (value, flag, avail, what) in [
        (
            &mut r.cpuset_cpus,
            "--cpuset-cpus",
            &host.cpuset_cpus,
            "CPUs",
        ),
        (
            &mut r.cpuset_mems,
            "--cpuset-mems",
            &host.cpuset_mems,
            "memory nodes",
        ),
    ] {
        if value.is_empty() {
            continue;
        }
        let set = parse_cpuset(value).map_err(|e| e.for_flag(flag, value))?;
        if !f.cpuset {
            warnings.push(format!(
                "Your kernel does not support cpuset or the cgroup is not mounted. {flag} discarded."
            ));
            value.clear();
            continue;
        }
        if !set.is_subset(avail) {
            return invalid(format!(
                "Requested {what} are not available - requested {value}, available: {avail}"
            ));
        }
    }

    // Pids, block I/O.
    if let Some(n) = r.pids_limit
        && n > 0
        && !f.pids
    {
        warnings.push("Your kernel does not support PIDs limit capabilities or the cgroup is not mounted. PIDs limit discarded.".into());
        r.pids_limit = None;
    }
    if r.blkio_weight > 0 && !(10..=1000).contains(&r.blkio_weight) {
        return invalid("Range of blkio weight is from 10 to 1000".into());
    }
    if r.blkio_weight > 0 && !f.blkio_weight {
        warnings.push("Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.".into());
        r.blkio_weight = 0;
    }
    Ok((r, warnings))
}

/// The OCI form of validated resources. With `update`, unset values stay
/// unset (the runtime keeps the current ones) and "unlimited" requests are
/// explicit (`-1`), as `runc update` needs them.
pub fn linux_resources(r: &Resources, update: bool) -> LinuxResources {
    let mut res = LinuxResources::default();

    let mut mem = LinuxMemory::default();
    let mut any_mem = false;
    if r.memory > 0 {
        mem.set_limit(Some(r.memory));
        any_mem = true;
    }
    if r.memory_reservation > 0 {
        mem.set_reservation(Some(r.memory_reservation));
        any_mem = true;
    }
    if r.memory_swap > 0 || (update && r.memory_swap == -1) {
        mem.set_swap(Some(r.memory_swap));
        any_mem = true;
    }
    if let Some(s) = r.memory_swappiness
        && (0..=100).contains(&s)
    {
        mem.set_swappiness(Some(s as u64));
        any_mem = true;
    }
    if let Some(d) = r.oom_kill_disable {
        mem.set_disable_oom_killer(Some(d));
        any_mem = true;
    }
    if any_mem {
        res.set_memory(Some(mem));
    }

    let mut cpu = LinuxCpu::default();
    let mut any_cpu = false;
    if r.cpu_shares > 0 {
        cpu.set_shares(Some(r.cpu_shares as u64));
        any_cpu = true;
    }
    if r.nano_cpus > 0 {
        cpu.set_period(Some(DEFAULT_CPU_PERIOD));
        cpu.set_quota(Some(
            (i128::from(r.nano_cpus) * i128::from(DEFAULT_CPU_PERIOD) / 1_000_000_000) as i64,
        ));
        any_cpu = true;
    }
    if r.cpu_period > 0 {
        cpu.set_period(Some(r.cpu_period as u64));
        any_cpu = true;
    }
    if r.cpu_quota != 0 {
        cpu.set_quota(Some(r.cpu_quota));
        any_cpu = true;
    }
    if !r.cpuset_cpus.is_empty() {
        cpu.set_cpus(Some(r.cpuset_cpus.clone()));
        any_cpu = true;
    }
    if !r.cpuset_mems.is_empty() {
        cpu.set_mems(Some(r.cpuset_mems.clone()));
        any_cpu = true;
    }
    if any_cpu {
        res.set_cpu(Some(cpu));
    }

    match r.pids_limit {
        Some(n) if n > 0 => {
            let mut p = LinuxPids::default();
            p.set_limit(n);
            res.set_pids(Some(p));
        }
        Some(_) if update => {
            let mut p = LinuxPids::default();
            p.set_limit(-1);
            res.set_pids(Some(p));
        }
        _ => {}
    }

    if r.blkio_weight > 0 {
        let mut b = LinuxBlockIo::default();
        b.set_weight(Some(r.blkio_weight));
        res.set_block_io(Some(b));
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroup::CgroupLayout;

    fn host() -> HostInfo {
        HostInfo::synthetic(CgroupLayout::V1)
    }

    fn err(r: Resources) -> String {
        validate_resources(&r, &host(), false)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn memory_rules() {
        let m = 20 << 20;
        let (r, w) = validate_resources(
            &Resources {
                memory: m,
                ..Default::default()
            },
            &host(),
            false,
        )
        .unwrap();
        assert_eq!(r.memory_swap, 2 * m, "swap defaults to twice the memory");
        assert!(w.is_empty());
        let (r, _) = validate_resources(
            &Resources {
                memory: m,
                memory_swap: -1,
                ..Default::default()
            },
            &host(),
            false,
        )
        .unwrap();
        assert_eq!(r.memory_swap, -1);

        assert_eq!(
            err(Resources {
                memory: 4 << 20,
                ..Default::default()
            }),
            "Minimum memory limit allowed is 6MB"
        );
        assert_eq!(
            err(Resources {
                memory: m,
                memory_swap: m / 2,
                ..Default::default()
            }),
            "Minimum memoryswap limit should be larger than memory limit, see usage"
        );
        assert_eq!(
            err(Resources {
                memory_swap: m,
                ..Default::default()
            }),
            "You should always set the Memory limit when using Memoryswap limit, see usage"
        );
        assert_eq!(
            err(Resources {
                memory: m,
                memory_reservation: 2 * m,
                ..Default::default()
            }),
            "Minimum memory limit can not be less than memory reservation limit, see usage"
        );
        assert_eq!(
            err(Resources {
                memory_reservation: 1 << 20,
                ..Default::default()
            }),
            "Minimum memory reservation allowed is 6MB"
        );
        assert_eq!(
            err(Resources {
                memory_swappiness: Some(101),
                ..Default::default()
            }),
            "Invalid value: 101, valid memory swappiness range is 0-100"
        );
        assert!(
            err(Resources {
                memory: m,
                memory_swap: -7,
                ..Default::default()
            })
            .contains("--memory-swap -7")
        );
    }

    #[test]
    fn unsupported_controls_warn_and_drop() {
        let mut h = host();
        h.cgroup.features.swap = false;
        h.cgroup.features.blkio_weight = false;
        h.cgroup.features.pids = false;
        let (r, w) = validate_resources(
            &Resources {
                memory: 64 << 20,
                blkio_weight: 500,
                pids_limit: Some(10),
                ..Default::default()
            },
            &h,
            false,
        )
        .unwrap();
        assert_eq!(r.memory_swap, -1);
        assert_eq!(r.blkio_weight, 0);
        assert_eq!(r.pids_limit, None);
        assert_eq!(w.len(), 3);
        assert!(w[0].contains("Memory limited without swap"));
        let lr = linux_resources(&r, false);
        assert_eq!(lr.memory().as_ref().and_then(|m| m.swap()), None);
    }

    #[test]
    fn cpu_rules() {
        let (r, _) = validate_resources(
            &Resources {
                nano_cpus: 1_500_000_000,
                cpu_shares: 512,
                cpuset_cpus: "0-1".into(),
                ..Default::default()
            },
            &host(),
            false,
        )
        .unwrap();
        let lr = linux_resources(&r, false);
        let cpu = lr.cpu().as_ref().unwrap();
        assert_eq!(cpu.period(), Some(100_000));
        assert_eq!(cpu.quota(), Some(150_000));
        assert_eq!(cpu.shares(), Some(512));
        assert_eq!(cpu.cpus().as_deref(), Some("0-1"));

        assert_eq!(
            err(Resources {
                nano_cpus: 5_000_000_000,
                ..Default::default()
            }),
            "Range of CPUs is from 0.01 to 4.00, as there are only 4 CPUs available"
        );
        assert_eq!(
            err(Resources {
                nano_cpus: 1_000_000_000,
                cpu_period: 50_000,
                ..Default::default()
            }),
            "Conflicting options: Nano CPUs and CPU Period cannot both be set"
        );
        assert!(
            err(Resources {
                cpu_period: 100,
                ..Default::default()
            })
            .starts_with("CPU cfs period can not be less than 1ms")
        );
        assert!(
            err(Resources {
                cpu_quota: 10,
                ..Default::default()
            })
            .starts_with("CPU cfs quota can not be less than 1ms")
        );
        assert_eq!(
            err(Resources {
                cpuset_cpus: "0-".into(),
                ..Default::default()
            }),
            "invalid --cpuset-cpus \"0-\": invalid format: 0-"
        );
        assert_eq!(
            err(Resources {
                cpuset_cpus: "0-7".into(),
                ..Default::default()
            }),
            "Requested CPUs are not available - requested 0-7, available: 0-3"
        );
        assert_eq!(
            err(Resources {
                cpuset_mems: "1".into(),
                ..Default::default()
            }),
            "Requested memory nodes are not available - requested 1, available: 0"
        );
        assert!(
            err(Resources {
                cpu_shares: -1,
                ..Default::default()
            })
            .contains("--cpu-shares -1")
        );
    }

    #[test]
    fn pids_and_blkio() {
        assert_eq!(
            err(Resources {
                blkio_weight: 5,
                ..Default::default()
            }),
            "Range of blkio weight is from 10 to 1000"
        );
        let r = Resources {
            pids_limit: Some(100),
            blkio_weight: 300,
            ..Default::default()
        };
        let lr = linux_resources(&r, false);
        assert_eq!(lr.pids().map(|p| p.limit()), Some(100));
        assert_eq!(lr.block_io().as_ref().and_then(|b| b.weight()), Some(300));
        let unlimited = Resources {
            pids_limit: Some(0),
            ..Default::default()
        };
        assert!(linux_resources(&unlimited, false).pids().is_none());
        assert_eq!(
            linux_resources(&unlimited, true).pids().map(|p| p.limit()),
            Some(-1)
        );
    }

    #[test]
    fn from_host_config() {
        let h = berth_api::types::container::HostConfig {
            memory: 1 << 30,
            pids_limit: Some(7),
            cpuset_cpus: "0".into(),
            ..Default::default()
        };
        let r = Resources::from(&h);
        assert_eq!(
            (r.memory, r.pids_limit, r.cpuset_cpus.as_str()),
            (1 << 30, Some(7), "0")
        );
    }

    #[test]
    fn empty_resources_are_empty() {
        let lr = linux_resources(&Resources::default(), false);
        assert!(lr.memory().is_none() && lr.cpu().is_none() && lr.pids().is_none());
        assert!(lr.block_io().is_none());
    }
}
