//! The resource flags (memory, CPU, pids, block I/O, devices, ulimits,
//! sysctls) into the resource fields of `HostConfig`, with docker's
//! defaults (`MemorySwappiness: -1`, empty lists rather than nulls).

use berth_api::types::container::{DeviceMapping, HostConfig, Ulimit};
use berth_runtime::parse::{
    parse_device, parse_nano_cpus, parse_sysctl, parse_ulimit, ram_in_bytes,
};

use super::flags::ContainerFlags;
use super::values;
use super::{OptsResult, flag_err, invalid};
use crate::goparse;

/// The resource part of the request.
pub struct Resources {
    pub host: HostConfig,
    /// `--kernel-memory` (a field the typed body lacks).
    pub kernel_memory: Option<i64>,
}

/// `opts.MemBytes`.
pub fn mem_bytes(v: &Option<String>, flag: &'static str) -> OptsResult<i64> {
    match v {
        Some(s) => ram_in_bytes(s).map_err(|e| flag_err(flag, s)(e.to_string())),
        None => Ok(0),
    }
}

/// `opts.MemSwapBytes`: like [`mem_bytes`], and `-1` means unlimited.
pub fn mem_swap_bytes(v: &Option<String>, flag: &'static str) -> OptsResult<i64> {
    match v.as_deref() {
        Some("-1") => Ok(-1),
        _ => mem_bytes(v, flag),
    }
}

/// An `Int64Var` flag.
pub fn int(v: &Option<String>, flag: &'static str) -> OptsResult<i64> {
    match v {
        Some(s) => goparse::parse_int(s).map_err(flag_err(flag, s)),
        None => Ok(0),
    }
}

/// `--cpus`.
pub fn nano_cpus(v: &Option<String>) -> OptsResult<i64> {
    match v {
        Some(s) => parse_nano_cpus(s).map_err(|e| flag_err("--cpus", s)(e.to_string())),
        None => Ok(0),
    }
}

/// `--blkio-weight`.
pub fn blkio_weight(v: &Option<String>) -> OptsResult<u16> {
    match v {
        Some(s) => goparse::parse_uint(s, 16)
            .map(|w| w as u16)
            .map_err(flag_err("--blkio-weight", s)),
        None => Ok(0),
    }
}

fn each<T>(
    list: &[String],
    flag: &'static str,
    f: impl Fn(&str) -> Result<T, String>,
) -> OptsResult<Vec<T>> {
    list.iter()
        .map(|v| f(v).map_err(flag_err(flag, v)))
        .collect()
}

/// `^[acb] ([0-9]+|\*):([0-9]+|\*) [rwm]{1,3}$`.
fn valid_cgroup_rule(rule: &str) -> bool {
    let parts: Vec<&str> = rule.split(' ').collect();
    let [kind, numbers, perms] = parts.as_slice() else {
        return false;
    };
    let num = |s: &str| s == "*" || (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()));
    matches!(*kind, "a" | "b" | "c")
        && numbers
            .split_once(':')
            .is_some_and(|(a, b)| num(a) && num(b))
        && (1..=3).contains(&perms.len())
        && perms.bytes().all(|b| matches!(b, b'r' | b'w' | b'm'))
}

pub fn parse(f: &ContainerFlags) -> OptsResult<Resources> {
    let swappiness = match &f.memory_swappiness {
        Some(s) => goparse::parse_int(s).map_err(flag_err("--memory-swappiness", s))?,
        None => -1,
    };
    if swappiness != -1 && !(0..=100).contains(&swappiness) {
        return Err(invalid(format!(
            "invalid value: {swappiness}. Valid memory swappiness range is 0-100"
        )));
    }
    let ulimits = each(&f.ulimit, "--ulimit", |v| {
        parse_ulimit(v)
            .map(|u| Ulimit {
                name: u.name,
                soft: u.soft,
                hard: u.hard,
            })
            .map_err(|e| e.to_string())
    })?;
    let mut devices = Vec::new();
    for d in &f.device {
        let spec = parse_device(d).map_err(|e| invalid(e.to_string()))?;
        devices.push(DeviceMapping {
            path_on_host: spec.path_on_host,
            path_in_container: spec.path_in_container,
            cgroup_permissions: spec.permissions,
        });
    }
    let rules = each(&f.device_cgroup_rule, "--device-cgroup-rule", |r| {
        if valid_cgroup_rule(r) {
            Ok(r.to_string())
        } else {
            Err(format!("invalid device cgroup format '{r}'"))
        }
    })?;
    let mut sysctls = std::collections::BTreeMap::new();
    for s in &f.sysctl {
        let (k, v) = parse_sysctl(s).map_err(|e| flag_err("--sysctl", s)(e.to_string()))?;
        sysctls.insert(k, v);
    }
    let kernel_memory = match &f.kernel_memory {
        Some(_) => Some(mem_bytes(&f.kernel_memory, "--kernel-memory")?),
        None => None,
    };
    let host = HostConfig {
        cgroup_parent: f.cgroup_parent.clone().unwrap_or_default(),
        memory: mem_bytes(&f.memory, "-m, --memory")?,
        memory_reservation: mem_bytes(&f.memory_reservation, "--memory-reservation")?,
        memory_swap: mem_swap_bytes(&f.memory_swap, "--memory-swap")?,
        memory_swappiness: Some(swappiness),
        oom_kill_disable: Some(f.oom_kill_disable),
        nano_cpus: nano_cpus(&f.cpus)?,
        cpu_count: int(&f.cpu_count, "--cpu-count")?,
        cpu_percent: int(&f.cpu_percent, "--cpu-percent")?,
        cpu_shares: int(&f.cpu_shares, "-c, --cpu-shares")?,
        cpu_period: int(&f.cpu_period, "--cpu-period")?,
        cpu_quota: int(&f.cpu_quota, "--cpu-quota")?,
        cpu_realtime_period: int(&f.cpu_rt_period, "--cpu-rt-period")?,
        cpu_realtime_runtime: int(&f.cpu_rt_runtime, "--cpu-rt-runtime")?,
        cpuset_cpus: f.cpuset_cpus.clone().unwrap_or_default(),
        cpuset_mems: f.cpuset_mems.clone().unwrap_or_default(),
        pids_limit: Some(int(&f.pids_limit, "--pids-limit")?),
        blkio_weight: blkio_weight(&f.blkio_weight)?,
        blkio_weight_device: Some(each(
            &f.blkio_weight_device,
            "--blkio-weight-device",
            values::weight_device,
        )?),
        blkio_device_read_bps: Some(each(
            &f.device_read_bps,
            "--device-read-bps",
            values::throttle_bps_device,
        )?),
        blkio_device_write_bps: Some(each(
            &f.device_write_bps,
            "--device-write-bps",
            values::throttle_bps_device,
        )?),
        blkio_device_read_iops: Some(each(
            &f.device_read_iops,
            "--device-read-iops",
            values::throttle_iops_device,
        )?),
        blkio_device_write_iops: Some(each(
            &f.device_write_iops,
            "--device-write-iops",
            values::throttle_iops_device,
        )?),
        ulimits: Some(ulimits),
        device_cgroup_rules: (!rules.is_empty()).then_some(rules),
        devices: Some(devices),
        shm_size: mem_bytes(&f.shm_size, "--shm-size")?,
        sysctls: (!sysctls.is_empty()).then_some(sysctls),
        ..Default::default()
    };
    Ok(Resources {
        host,
        kernel_memory,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cgroup_rules() {
        assert!(valid_cgroup_rule("c 1:3 mr"));
        assert!(valid_cgroup_rule("a *:* rwm"));
        assert!(!valid_cgroup_rule("x 1:3 r"));
        assert!(!valid_cgroup_rule("c 1:3 rwmr"));
        assert!(!valid_cgroup_rule("c 1 r"));
    }

    #[test]
    fn memory_values() {
        assert_eq!(mem_bytes(&Some("20m".into()), "-m, --memory"), Ok(20 << 20));
        assert_eq!(mem_swap_bytes(&Some("-1".into()), "--memory-swap"), Ok(-1));
        assert_eq!(
            mem_bytes(&Some("20q".into()), "-m, --memory"),
            Err(super::super::OptsError::Flag {
                flag: "-m, --memory",
                value: "20q".into(),
                message: "invalid size: '20q'".into()
            })
        );
    }
}
