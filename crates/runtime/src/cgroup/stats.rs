//! Container resource statistics in Docker's shapes (`/containers/{id}/stats`)
//! from cgroup v1 (and hybrid) or v2 files, and the OOM-kill counter.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::files::{parse_kv, read_kv, read_opt, read_u64};
use super::layout::CgroupLayout;
use super::paths::CgroupPaths;
use crate::error::{Result, RuntimeError};

/// The cgroup part of Docker's `StatsJSON`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CgroupStats {
    pub cpu_stats: CpuStats,
    pub memory_stats: MemoryStats,
    pub pids_stats: PidsStats,
    pub blkio_stats: BlkioStats,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpuStats {
    pub cpu_usage: CpuUsage,
    /// Host CPU time since boot in nanoseconds (from `/proc/stat`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub system_cpu_usage: u64,
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub online_cpus: u32,
    pub throttling_data: ThrottlingData,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

fn is_zero_u32(v: &u32) -> bool {
    *v == 0
}

/// CPU time in nanoseconds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpuUsage {
    pub total_usage: u64,
    /// Per CPU (v1 only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percpu_usage: Option<Vec<u64>>,
    pub usage_in_kernelmode: u64,
    pub usage_in_usermode: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThrottlingData {
    pub periods: u64,
    pub throttled_periods: u64,
    /// Nanoseconds.
    pub throttled_time: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryStats {
    #[serde(default)]
    pub usage: u64,
    /// v1 `memory.max_usage_in_bytes`; v2 `memory.peak` when the kernel has it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_usage: Option<u64>,
    /// `memory.stat` as is (v1: `cache`, `rss`, `total_*`…; v2: `anon`,
    /// `file`, `inactive_file`…).
    #[serde(default)]
    pub stats: BTreeMap<String, u64>,
    /// v1 only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failcnt: Option<u64>,
    /// The limit, or the machine's memory when unlimited.
    #[serde(default)]
    pub limit: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PidsStats {
    #[serde(default)]
    pub current: u64,
    /// `None` when unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlkioStats {
    pub io_service_bytes_recursive: Option<Vec<BlkioEntry>>,
    pub io_serviced_recursive: Option<Vec<BlkioEntry>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlkioEntry {
    pub major: u64,
    pub minor: u64,
    pub op: String,
    pub value: u64,
}

/// Reads the stats of a container, including the host's CPU time, and
/// caps an unlimited memory limit at the machine's memory, as Docker does.
pub fn read_stats(paths: &CgroupPaths) -> Result<CgroupStats> {
    let mut stats = match paths.layout {
        CgroupLayout::Unified => {
            let dir = paths.unified.as_deref().ok_or_else(|| missing(paths))?;
            read_v2_stats(dir)?
        }
        CgroupLayout::V1 | CgroupLayout::Hybrid => read_v1_stats(&paths.v1)?,
    };
    let proc_stat =
        fs::read_to_string("/proc/stat").map_err(|e| RuntimeError::io("reading /proc/stat", e))?;
    stats.cpu_stats.system_cpu_usage = system_cpu_usage(&proc_stat, clock_ticks());
    if stats.cpu_stats.online_cpus == 0 {
        stats.cpu_stats.online_cpus = online_cpus();
    }
    let machine = machine_memory();
    if machine > 0 && stats.memory_stats.limit > machine {
        stats.memory_stats.limit = machine;
    }
    Ok(stats)
}

fn missing(paths: &CgroupPaths) -> RuntimeError {
    RuntimeError::NotFound(format!("cgroup {} does not exist", paths.path))
}

/// `USER_HZ`.
pub(crate) fn clock_ticks() -> u64 {
    // SAFETY: sysconf has no memory-safety preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 { t as u64 } else { 100 }
}

fn online_cpus() -> u32 {
    // SAFETY: sysconf has no memory-safety preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    u32::try_from(n).unwrap_or(1).max(1)
}

/// The machine's memory in bytes (`MemTotal`), 0 when unknown.
pub fn machine_memory() -> u64 {
    fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                let rest = l.strip_prefix("MemTotal:")?;
                let kb: u64 = rest.trim().trim_end_matches("kB").trim().parse().ok()?;
                Some(kb * 1024)
            })
        })
        .unwrap_or(0)
}

/// The host's total CPU time in nanoseconds from `/proc/stat`'s `cpu`
/// line (user through steal, as Docker sums them).
pub fn system_cpu_usage(proc_stat: &str, ticks_per_sec: u64) -> u64 {
    let Some(line) = proc_stat.lines().find(|l| l.starts_with("cpu ")) else {
        return 0;
    };
    let ticks: u64 = line
        .split_whitespace()
        .skip(1)
        .take(8)
        .filter_map(|v| v.parse::<u64>().ok())
        .sum();
    ticks.saturating_mul(1_000_000_000) / ticks_per_sec.max(1)
}

/// Parses v1 `blkio.*_recursive` (`8:0 Read 123`, `Total 456` skipped).
fn parse_blkio_v1(text: &str) -> Vec<BlkioEntry> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let [dev, op, value] = f.as_slice() else {
                return None;
            };
            let (major, minor) = dev.split_once(':')?;
            Some(BlkioEntry {
                major: major.parse().ok()?,
                minor: minor.parse().ok()?,
                op: op.to_string(),
                value: value.parse().ok()?,
            })
        })
        .collect()
}

fn read_blkio_v1(dir: &Path, name: &str) -> Result<Option<Vec<BlkioEntry>>> {
    // CFQ/BFQ statistics first, the throttle layer's when those are empty
    // (as containerd does).
    for file in [
        format!("blkio.{name}"),
        format!("blkio.bfq.{name}"),
        format!("blkio.throttle.{name}"),
    ] {
        if let Some(text) = read_opt(&dir.join(file))? {
            let entries = parse_blkio_v1(&text);
            if !entries.is_empty() {
                return Ok(Some(entries));
            }
        }
    }
    Ok(None)
}

/// Stats from v1 hierarchies (controller → the container's directory).
pub fn read_v1_stats(dirs: &BTreeMap<String, std::path::PathBuf>) -> Result<CgroupStats> {
    let mut s = CgroupStats::default();
    let existing = dirs
        .iter()
        .filter(|(k, _)| !k.starts_with("name="))
        .any(|(_, d)| d.is_dir());
    if !existing {
        return Err(RuntimeError::NotFound(
            "the container's cgroup does not exist".to_string(),
        ));
    }
    if let Some(d) = dirs.get("memory") {
        let m = &mut s.memory_stats;
        m.usage = read_u64(&d.join("memory.usage_in_bytes"))?.unwrap_or(0);
        m.max_usage = read_u64(&d.join("memory.max_usage_in_bytes"))?;
        m.failcnt = read_u64(&d.join("memory.failcnt"))?;
        m.limit = read_u64(&d.join("memory.limit_in_bytes"))?.unwrap_or(0);
        m.stats = read_kv(&d.join("memory.stat"))?;
    }
    if let Some(d) = dirs.get("cpuacct") {
        let u = &mut s.cpu_stats.cpu_usage;
        u.total_usage = read_u64(&d.join("cpuacct.usage"))?.unwrap_or(0);
        if let Some(text) = read_opt(&d.join("cpuacct.usage_percpu"))? {
            let per: Vec<u64> = text
                .split_whitespace()
                .filter_map(|v| v.parse().ok())
                .collect();
            s.cpu_stats.online_cpus = per.len() as u32;
            u.percpu_usage = Some(per);
        }
        let st = read_kv(&d.join("cpuacct.stat"))?;
        let ns = |ticks: u64| ticks.saturating_mul(1_000_000_000) / clock_ticks();
        u.usage_in_usermode = ns(st.get("user").copied().unwrap_or(0));
        u.usage_in_kernelmode = ns(st.get("system").copied().unwrap_or(0));
    }
    if let Some(d) = dirs.get("cpu") {
        let st = read_kv(&d.join("cpu.stat"))?;
        let t = &mut s.cpu_stats.throttling_data;
        t.periods = st.get("nr_periods").copied().unwrap_or(0);
        t.throttled_periods = st.get("nr_throttled").copied().unwrap_or(0);
        t.throttled_time = st.get("throttled_time").copied().unwrap_or(0);
    }
    if let Some(d) = dirs.get("pids") {
        s.pids_stats.current = read_u64(&d.join("pids.current"))?.unwrap_or(0);
        s.pids_stats.limit = read_u64(&d.join("pids.max"))?.filter(|l| *l != u64::MAX);
    }
    if let Some(d) = dirs.get("blkio") {
        s.blkio_stats.io_service_bytes_recursive = read_blkio_v1(d, "io_service_bytes_recursive")?;
        s.blkio_stats.io_serviced_recursive = read_blkio_v1(d, "io_serviced_recursive")?;
    }
    Ok(s)
}

/// Parses v2 `io.stat` into service-bytes and serviced entries.
fn parse_io_stat(text: &str) -> (Vec<BlkioEntry>, Vec<BlkioEntry>) {
    let (mut bytes, mut ios) = (Vec::new(), Vec::new());
    for line in text.lines() {
        let mut it = line.split_whitespace();
        let Some((major, minor)) = it.next().and_then(|d| d.split_once(':')) else {
            continue;
        };
        let (Ok(major), Ok(minor)) = (major.parse::<u64>(), minor.parse::<u64>()) else {
            continue;
        };
        for kv in it {
            let Some((k, v)) = kv.split_once('=') else {
                continue;
            };
            let Ok(value) = v.parse::<u64>() else {
                continue;
            };
            let (list, op) = match k {
                "rbytes" => (&mut bytes, "read"),
                "wbytes" => (&mut bytes, "write"),
                "rios" => (&mut ios, "read"),
                "wios" => (&mut ios, "write"),
                _ => continue,
            };
            list.push(BlkioEntry {
                major,
                minor,
                op: op.to_string(),
                value,
            });
        }
    }
    (bytes, ios)
}

/// Stats from a cgroup v2 directory.
pub fn read_v2_stats(dir: &Path) -> Result<CgroupStats> {
    if !dir.is_dir() {
        return Err(RuntimeError::NotFound(format!(
            "cgroup {} does not exist",
            dir.display()
        )));
    }
    let mut s = CgroupStats::default();
    let m = &mut s.memory_stats;
    m.usage = read_u64(&dir.join("memory.current"))?.unwrap_or(0);
    m.max_usage = read_u64(&dir.join("memory.peak"))?;
    m.limit = read_u64(&dir.join("memory.max"))?.unwrap_or(u64::MAX);
    m.stats = read_kv(&dir.join("memory.stat"))?;

    let cpu = read_kv(&dir.join("cpu.stat"))?;
    let us = |k: &str| cpu.get(k).copied().unwrap_or(0).saturating_mul(1000);
    s.cpu_stats.cpu_usage.total_usage = us("usage_usec");
    s.cpu_stats.cpu_usage.usage_in_usermode = us("user_usec");
    s.cpu_stats.cpu_usage.usage_in_kernelmode = us("system_usec");
    s.cpu_stats.throttling_data = ThrottlingData {
        periods: cpu.get("nr_periods").copied().unwrap_or(0),
        throttled_periods: cpu.get("nr_throttled").copied().unwrap_or(0),
        throttled_time: us("throttled_usec"),
    };

    s.pids_stats.current = read_u64(&dir.join("pids.current"))?.unwrap_or(0);
    s.pids_stats.limit = read_u64(&dir.join("pids.max"))?.filter(|l| *l != u64::MAX);

    if let Some(text) = read_opt(&dir.join("io.stat"))? {
        let (bytes, ios) = parse_io_stat(&text);
        s.blkio_stats.io_service_bytes_recursive = (!bytes.is_empty()).then_some(bytes);
        s.blkio_stats.io_serviced_recursive = (!ios.is_empty()).then_some(ios);
    }
    Ok(s)
}

/// How many processes of the container the kernel's OOM killer killed
/// (v1 `memory.oom_control` `oom_kill`, v2 `memory.events` `oom_kill`).
pub fn oom_kill_count(paths: &CgroupPaths) -> Result<u64> {
    let (file, dir) = match paths.layout {
        CgroupLayout::Unified => ("memory.events", paths.unified.as_deref()),
        _ => (
            "memory.oom_control",
            paths.v1.get("memory").map(|p| p.as_path()),
        ),
    };
    let dir = dir.ok_or_else(|| RuntimeError::Unsupported {
        what: "OOM accounting".into(),
        reason: "the memory controller is not mounted".into(),
    })?;
    match read_opt(&dir.join(file))? {
        Some(text) => Ok(parse_kv(&text).get("oom_kill").copied().unwrap_or(0)),
        None if !dir.is_dir() => Err(missing(paths)),
        None => Ok(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn write(dir: &Path, name: &str, text: &str) {
        fs::create_dir_all(dir).unwrap();
        fs::write(dir.join(name), text).unwrap();
    }

    fn v1_fixture(root: &Path) -> BTreeMap<String, PathBuf> {
        let mut dirs = BTreeMap::new();
        for c in ["memory", "cpuacct", "cpu", "pids", "blkio"] {
            dirs.insert(c.to_string(), root.join(c).join("berth/x"));
        }
        let d = &dirs["memory"];
        write(d, "memory.usage_in_bytes", "10485760\n");
        write(d, "memory.max_usage_in_bytes", "20971520\n");
        write(d, "memory.failcnt", "3\n");
        write(d, "memory.limit_in_bytes", "20971520\n");
        write(
            d,
            "memory.stat",
            "cache 4096\nrss 8192\nrss_huge 0\ntotal_cache 4096\ntotal_rss 8192\ntotal_inactive_file 100\n",
        );
        write(
            d,
            "memory.oom_control",
            "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n",
        );
        let d = &dirs["cpuacct"];
        write(d, "cpuacct.usage", "123456789\n");
        write(d, "cpuacct.usage_percpu", "100000000 23456789 \n");
        write(d, "cpuacct.stat", "user 5\nsystem 7\n");
        let d = &dirs["cpu"];
        write(
            d,
            "cpu.stat",
            "nr_periods 10\nnr_throttled 4\nthrottled_time 5000\n",
        );
        let d = &dirs["pids"];
        write(d, "pids.current", "3\n");
        write(d, "pids.max", "max\n");
        let d = &dirs["blkio"];
        write(d, "blkio.io_service_bytes_recursive", "Total 0\n");
        write(
            d,
            "blkio.throttle.io_service_bytes_recursive",
            "8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 0\n8:0 Async 12288\n8:0 Discard 0\n8:0 Total 12288\nTotal 12288\n",
        );
        write(
            d,
            "blkio.throttle.io_serviced_recursive",
            "8:0 Read 1\n8:0 Write 2\nTotal 3\n",
        );
        dirs
    }

    #[test]
    fn v1_stats_from_fixtures() {
        let tmp = tempfile::tempdir().unwrap();
        let dirs = v1_fixture(tmp.path());
        let s = read_v1_stats(&dirs).unwrap();
        assert_eq!(s.memory_stats.usage, 10 << 20);
        assert_eq!(s.memory_stats.max_usage, Some(20 << 20));
        assert_eq!(s.memory_stats.failcnt, Some(3));
        assert_eq!(s.memory_stats.limit, 20 << 20);
        assert_eq!(s.memory_stats.stats["cache"], 4096);
        assert_eq!(s.memory_stats.stats["rss"], 8192);
        assert_eq!(s.cpu_stats.cpu_usage.total_usage, 123456789);
        assert_eq!(
            s.cpu_stats.cpu_usage.percpu_usage,
            Some(vec![100000000, 23456789])
        );
        assert_eq!(s.cpu_stats.online_cpus, 2);
        let tick_ns = 1_000_000_000 / clock_ticks();
        assert_eq!(s.cpu_stats.cpu_usage.usage_in_usermode, 5 * tick_ns);
        assert_eq!(s.cpu_stats.cpu_usage.usage_in_kernelmode, 7 * tick_ns);
        assert_eq!(
            s.cpu_stats.throttling_data,
            ThrottlingData {
                periods: 10,
                throttled_periods: 4,
                throttled_time: 5000
            }
        );
        assert_eq!(
            s.pids_stats,
            PidsStats {
                current: 3,
                limit: None
            }
        );
        let bytes = s.blkio_stats.io_service_bytes_recursive.unwrap();
        assert_eq!(bytes.len(), 6);
        assert_eq!(
            bytes[0],
            BlkioEntry {
                major: 8,
                minor: 0,
                op: "Read".into(),
                value: 4096
            }
        );
        assert_eq!(s.blkio_stats.io_serviced_recursive.unwrap().len(), 2);

        // Docker's JSON field names.
        let json = serde_json::to_value(CgroupStats {
            blkio_stats: BlkioStats::default(),
            ..read_v1_stats(&dirs).unwrap()
        })
        .unwrap();
        assert!(json["memory_stats"]["max_usage"].is_u64());
        assert!(json["cpu_stats"]["cpu_usage"]["percpu_usage"].is_array());
        assert!(json["cpu_stats"]["throttling_data"]["throttled_periods"].is_u64());
        assert!(json["blkio_stats"]["io_service_bytes_recursive"].is_null());
        assert!(json["pids_stats"]["current"].is_u64());
    }

    #[test]
    fn v1_oom_counter() {
        let tmp = tempfile::tempdir().unwrap();
        let dirs = v1_fixture(tmp.path());
        let paths = CgroupPaths {
            layout: CgroupLayout::Hybrid,
            path: "/berth/x".into(),
            v1: dirs,
            unified: None,
        };
        assert_eq!(oom_kill_count(&paths).unwrap(), 2);
    }

    #[test]
    fn v2_stats_from_fixtures() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path().join("berth/x");
        write(&d, "memory.current", "1048576\n");
        write(&d, "memory.max", "max\n");
        write(&d, "memory.peak", "2097152\n");
        write(
            &d,
            "memory.stat",
            "anon 4096\nfile 8192\ninactive_file 1024\n",
        );
        write(
            &d,
            "memory.events",
            "low 0\nhigh 0\nmax 5\noom 2\noom_kill 1\noom_group_kill 0\n",
        );
        write(
            &d,
            "cpu.stat",
            "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 7\nnr_throttled 2\nthrottled_usec 30\n",
        );
        write(&d, "pids.current", "4\n");
        write(&d, "pids.max", "100\n");
        write(
            &d,
            "io.stat",
            "8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n",
        );
        let s = read_v2_stats(&d).unwrap();
        assert_eq!(s.memory_stats.usage, 1 << 20);
        assert_eq!(s.memory_stats.max_usage, Some(2 << 20));
        assert_eq!(s.memory_stats.limit, u64::MAX);
        assert_eq!(s.memory_stats.failcnt, None);
        assert_eq!(s.memory_stats.stats["anon"], 4096);
        assert_eq!(s.memory_stats.stats["file"], 8192);
        assert_eq!(s.cpu_stats.cpu_usage.total_usage, 1_500_000);
        assert_eq!(s.cpu_stats.cpu_usage.usage_in_usermode, 1_000_000);
        assert_eq!(s.cpu_stats.cpu_usage.usage_in_kernelmode, 500_000);
        assert_eq!(s.cpu_stats.cpu_usage.percpu_usage, None);
        assert_eq!(s.cpu_stats.throttling_data.throttled_time, 30_000);
        assert_eq!(
            s.pids_stats,
            PidsStats {
                current: 4,
                limit: Some(100)
            }
        );
        let bytes = s.blkio_stats.io_service_bytes_recursive.unwrap();
        assert_eq!(
            bytes
                .iter()
                .map(|e| (e.op.as_str(), e.value))
                .collect::<Vec<_>>(),
            vec![("read", 4096), ("write", 8192)]
        );
        let paths = CgroupPaths {
            layout: CgroupLayout::Unified,
            path: "/berth/x".into(),
            v1: BTreeMap::new(),
            unified: Some(d.clone()),
        };
        assert_eq!(oom_kill_count(&paths).unwrap(), 1);
        assert!(read_v2_stats(&tmp.path().join("gone")).is_err());
    }

    #[test]
    fn missing_cgroup_is_not_found() {
        let paths = CgroupPaths {
            layout: CgroupLayout::V1,
            path: "/berth/gone".into(),
            v1: [(
                "memory".to_string(),
                PathBuf::from("/nonexistent/memory/berth/gone"),
            )]
            .into_iter()
            .collect(),
            unified: None,
        };
        assert!(matches!(read_stats(&paths), Err(RuntimeError::NotFound(_))));
        assert!(matches!(
            oom_kill_count(&paths),
            Err(RuntimeError::NotFound(_))
        ));
    }

    #[test]
    fn system_usage() {
        let text = "cpu  100 0 50 1000 10 0 5 0 0 0\ncpu0 50 0 25 500 5 0 2 0 0 0\n";
        assert_eq!(system_cpu_usage(text, 100), 1165 * 10_000_000);
        assert_eq!(system_cpu_usage("", 100), 0);
    }
}
