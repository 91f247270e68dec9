//! Docker's `StatsJSON` as the API sends it (field order and omitted
//! fields as Go encodes them): one sample with its predecessor's CPU
//! figures (`precpu_stats`, `preread`).

use std::collections::BTreeMap;

use berth_runtime::cgroup::{BlkioEntry, CgroupStats, CpuStats};
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::netdev::NetworkStats;

/// One reading of a container.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sample {
    pub id: String,
    /// With the leading `/`, as Docker.
    pub name: String,
    /// `None` for a container that is not running (all zeros).
    pub read: Option<DateTime<Utc>>,
    pub cgroup: CgroupStats,
    /// `None` without a network namespace of its own to read.
    pub networks: Option<BTreeMap<String, NetworkStats>>,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

#[derive(Serialize)]
struct PidsStats {
    #[serde(skip_serializing_if = "is_zero")]
    current: u64,
    #[serde(skip_serializing_if = "is_zero")]
    limit: u64,
}

#[derive(Serialize)]
struct BlkioStats<'a> {
    io_service_bytes_recursive: Option<&'a [BlkioEntry]>,
    io_serviced_recursive: Option<&'a [BlkioEntry]>,
    io_queue_recursive: Option<()>,
    io_service_time_recursive: Option<()>,
    io_wait_time_recursive: Option<()>,
    io_merged_recursive: Option<()>,
    io_time_recursive: Option<()>,
    sectors_recursive: Option<()>,
}

#[derive(Serialize)]
struct StorageStats {}

#[derive(Serialize)]
struct MemoryStats<'a> {
    #[serde(skip_serializing_if = "is_zero")]
    usage: u64,
    #[serde(skip_serializing_if = "is_zero")]
    max_usage: u64,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    stats: &'a BTreeMap<String, u64>,
    #[serde(skip_serializing_if = "is_zero")]
    failcnt: u64,
    #[serde(skip_serializing_if = "is_zero")]
    limit: u64,
}

#[derive(Serialize)]
struct StatsJson<'a> {
    read: String,
    preread: String,
    pids_stats: PidsStats,
    blkio_stats: BlkioStats<'a>,
    num_procs: u32,
    storage_stats: StorageStats,
    cpu_stats: &'a CpuStats,
    precpu_stats: &'a CpuStats,
    memory_stats: MemoryStats<'a>,
    name: &'a str,
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    networks: Option<&'a BTreeMap<String, NetworkStats>>,
}

/// Go's `time.Time` in JSON: RFC 3339 with trailing fractional zeros
/// trimmed; the zero time for `None`.
pub fn go_time(t: Option<DateTime<Utc>>) -> String {
    match t {
        None => "0001-01-01T00:00:00Z".to_string(),
        Some(t) => {
            let mut s = t.format("%Y-%m-%dT%H:%M:%S").to_string();
            let nanos = format!("{:09}", t.timestamp_subsec_nanos());
            let frac = nanos.trim_end_matches('0');
            if !frac.is_empty() {
                s.push('.');
                s.push_str(frac);
            }
            s.push('Z');
            s
        }
    }
}

/// One JSON line for `sample`, after `previous` (if any).
pub fn encode(sample: &Sample, previous: Option<&Sample>) -> Vec<u8> {
    let zero = CpuStats::default();
    let c = &sample.cgroup;
    let m = &c.memory_stats;
    let json = StatsJson {
        read: go_time(sample.read),
        preread: go_time(previous.and_then(|p| p.read)),
        pids_stats: PidsStats {
            current: c.pids_stats.current,
            limit: c.pids_stats.limit.unwrap_or(0),
        },
        blkio_stats: BlkioStats {
            io_service_bytes_recursive: c.blkio_stats.io_service_bytes_recursive.as_deref(),
            io_serviced_recursive: c.blkio_stats.io_serviced_recursive.as_deref(),
            io_queue_recursive: None,
            io_service_time_recursive: None,
            io_wait_time_recursive: None,
            io_merged_recursive: None,
            io_time_recursive: None,
            sectors_recursive: None,
        },
        num_procs: 0,
        storage_stats: StorageStats {},
        cpu_stats: &c.cpu_stats,
        precpu_stats: previous.map_or(&zero, |p| &p.cgroup.cpu_stats),
        memory_stats: MemoryStats {
            usage: m.usage,
            max_usage: m.max_usage.unwrap_or(0),
            stats: &m.stats,
            failcnt: m.failcnt.unwrap_or(0),
            limit: m.limit,
        },
        name: &sample.name,
        id: &sample.id,
        networks: sample.networks.as_ref().filter(|n| !n.is_empty()),
    };
    let mut out = serde_json::to_vec(&json).unwrap_or_default();
    out.push(b'\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn times_like_go() {
        assert_eq!(go_time(None), "0001-01-01T00:00:00Z");
        let t = DateTime::parse_from_rfc3339("2024-05-01T10:20:30.123400000Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(go_time(Some(t)), "2024-05-01T10:20:30.1234Z");
        let t = DateTime::parse_from_rfc3339("2024-05-01T10:20:30Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(go_time(Some(t)), "2024-05-01T10:20:30Z");
    }

    #[test]
    fn a_stopped_container_is_zeros() {
        let s = Sample {
            id: "abc".into(),
            name: "/web".into(),
            ..Default::default()
        };
        let line = encode(&s, None);
        assert_eq!(line.last(), Some(&b'\n'));
        let v: Value = serde_json::from_slice(&line).unwrap();
        assert_eq!(v["read"], "0001-01-01T00:00:00Z");
        assert_eq!(v["memory_stats"], serde_json::json!({}));
        assert_eq!(v["pids_stats"], serde_json::json!({}));
        assert_eq!(v["cpu_stats"]["cpu_usage"]["total_usage"], 0);
        assert!(v["blkio_stats"]["io_service_bytes_recursive"].is_null());
        assert!(v["blkio_stats"]["sectors_recursive"].is_null());
        assert_eq!(v["name"], "/web");
        assert!(v.get("networks").is_none());
        let text = String::from_utf8_lossy(&line);
        let at = |k: &str| text.find(&format!("\"{k}\":")).unwrap();
        let keys = [
            "read",
            "preread",
            "pids_stats",
            "blkio_stats",
            "num_procs",
            "storage_stats",
            "cpu_stats",
            "precpu_stats",
            "memory_stats",
            "name",
            "id",
        ];
        assert!(keys.windows(2).all(|w| at(w[0]) < at(w[1])), "{text}");
    }

    #[test]
    fn a_running_container_with_its_predecessor() {
        let mut prev = Sample {
            id: "abc".into(),
            name: "/web".into(),
            read: Some(Utc::now()),
            ..Default::default()
        };
        prev.cgroup.cpu_stats.cpu_usage.total_usage = 100;
        let mut s = prev.clone();
        s.read = Some(Utc::now());
        s.cgroup.cpu_stats.cpu_usage.total_usage = 300;
        s.cgroup.cpu_stats.system_cpu_usage = 10_000;
        s.cgroup.cpu_stats.online_cpus = 2;
        s.cgroup.memory_stats.usage = 4096;
        s.cgroup.memory_stats.limit = 1 << 30;
        s.cgroup.memory_stats.stats.insert("cache".into(), 12);
        s.cgroup.pids_stats.current = 3;
        s.networks = Some(
            [(
                "eth0".to_string(),
                NetworkStats {
                    rx_bytes: 7,
                    ..Default::default()
                },
            )]
            .into_iter()
            .collect(),
        );
        let v: Value = serde_json::from_slice(&encode(&s, Some(&prev))).unwrap();
        assert_eq!(v["cpu_stats"]["cpu_usage"]["total_usage"], 300);
        assert_eq!(v["precpu_stats"]["cpu_usage"]["total_usage"], 100);
        assert_eq!(v["cpu_stats"]["online_cpus"], 2);
        assert_eq!(v["memory_stats"]["usage"], 4096);
        assert_eq!(v["memory_stats"]["limit"], 1u64 << 30);
        assert_eq!(v["memory_stats"]["stats"]["cache"], 12);
        assert_eq!(v["pids_stats"]["current"], 3);
        assert_eq!(v["networks"]["eth0"]["rx_bytes"], 7);
        assert_ne!(v["preread"], "0001-01-01T00:00:00Z");
    }
}
