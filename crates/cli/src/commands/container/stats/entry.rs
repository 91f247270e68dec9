//! One line of `berth stats`: computed from a stats sample as docker's
//! `stats_helpers` computes it (CPU % from the deltas to the previous
//! sample, memory without the inactive page cache, summed network and
//! block I/O), and its template fields.

use serde_json::Value;

use crate::format::units::{bytes_size, human_size_with_precision};
use crate::format::{row, truncate_id};

/// The numbers shown for one container.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatsEntry {
    /// The name or ID the user gave (or the short ID).
    pub container: String,
    pub name: String,
    pub id: String,
    pub cpu_percent: f64,
    pub memory: f64,
    pub memory_limit: f64,
    pub memory_percent: f64,
    pub net_rx: f64,
    pub net_tx: f64,
    pub block_read: f64,
    pub block_write: f64,
    pub pids: u64,
    /// No sample (yet, or any more): the numbers show as `--`.
    pub invalid: bool,
}

fn u(v: &Value, path: &str) -> u64 {
    v.pointer(path)
        .and_then(|x| x.as_u64().or_else(|| x.as_f64().map(|f| f as u64)))
        .unwrap_or(0)
}

/// Docker's `calculateCPUPercentUnix`.
fn cpu_percent(v: &Value) -> f64 {
    let cpu_delta = u(v, "/cpu_stats/cpu_usage/total_usage") as f64
        - u(v, "/precpu_stats/cpu_usage/total_usage") as f64;
    let system_delta =
        u(v, "/cpu_stats/system_cpu_usage") as f64 - u(v, "/precpu_stats/system_cpu_usage") as f64;
    let mut online = u(v, "/cpu_stats/online_cpus") as f64;
    if online == 0.0 {
        online = v
            .pointer("/cpu_stats/cpu_usage/percpu_usage")
            .and_then(Value::as_array)
            .map_or(0, Vec::len) as f64;
    }
    if system_delta > 0.0 && cpu_delta > 0.0 {
        cpu_delta / system_delta * online * 100.0
    } else {
        0.0
    }
}

/// Docker's `calculateMemUsageUnixNoCache`.
fn memory_usage(v: &Value) -> f64 {
    let usage = u(v, "/memory_stats/usage");
    let stat = |k: &str| {
        v.pointer(&format!("/memory_stats/stats/{k}"))
            .and_then(Value::as_u64)
    };
    if let Some(inactive) = stat("total_inactive_file")
        && inactive < usage
    {
        return (usage - inactive) as f64;
    }
    let inactive = stat("inactive_file").unwrap_or(0);
    if inactive < usage {
        (usage - inactive) as f64
    } else {
        usage as f64
    }
}

fn block_io(v: &Value) -> (f64, f64) {
    let (mut read, mut write) = (0u64, 0u64);
    let entries = v
        .pointer("/blkio_stats/io_service_bytes_recursive")
        .and_then(Value::as_array);
    for e in entries.into_iter().flatten() {
        let op = e.get("op").and_then(Value::as_str).unwrap_or("");
        let value = e.get("value").and_then(Value::as_u64).unwrap_or(0);
        match op.as_bytes().first() {
            Some(b'r' | b'R') => read += value,
            Some(b'w' | b'W') => write += value,
            _ => {}
        }
    }
    (read as f64, write as f64)
}

fn network(v: &Value) -> (f64, f64) {
    let nets = v.get("networks").and_then(Value::as_object);
    nets.into_iter()
        .flatten()
        .fold((0.0, 0.0), |(rx, tx), (_, n)| {
            (rx + u(n, "/rx_bytes") as f64, tx + u(n, "/tx_bytes") as f64)
        })
}

impl StatsEntry {
    /// An entry still waiting for its first sample.
    pub fn pending(container: &str) -> Self {
        Self {
            container: container.to_string(),
            ..Default::default()
        }
    }

    /// The entry for one sample.
    pub fn from_sample(container: &str, v: &Value) -> Self {
        let memory = memory_usage(v);
        let limit = u(v, "/memory_stats/limit") as f64;
        let (block_read, block_write) = block_io(v);
        let (net_rx, net_tx) = network(v);
        Self {
            container: container.to_string(),
            name: v
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            id: v
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            cpu_percent: cpu_percent(v),
            memory,
            memory_limit: limit,
            memory_percent: if limit != 0.0 {
                memory / limit * 100.0
            } else {
                0.0
            },
            net_rx,
            net_tx,
            block_read,
            block_write,
            pids: u(v, "/pids_stats/current"),
            invalid: false,
        }
    }

    /// The fields a stats template can use (docker's `statsContext`).
    pub fn row(&self, trunc: bool) -> Value {
        let pct = |f: f64| format!("{f:.2}%");
        let dash = |s: String| if self.invalid { "--".to_string() } else { s };
        let name = match self.name.get(1..) {
            Some(n) if !n.is_empty() => n.to_string(),
            _ => "--".to_string(),
        };
        row([
            ("Container", self.container.clone()),
            ("Name", name),
            (
                "ID",
                if trunc {
                    truncate_id(&self.id)
                } else {
                    self.id.clone()
                },
            ),
            ("CPUPerc", dash(pct(self.cpu_percent))),
            (
                "MemUsage",
                if self.invalid {
                    "-- / --".into()
                } else {
                    format!(
                        "{} / {}",
                        bytes_size(self.memory),
                        bytes_size(self.memory_limit)
                    )
                },
            ),
            ("MemPerc", dash(pct(self.memory_percent))),
            (
                "NetIO",
                dash(format!(
                    "{} / {}",
                    human_size_with_precision(self.net_rx, 3),
                    human_size_with_precision(self.net_tx, 3)
                )),
            ),
            (
                "BlockIO",
                dash(format!(
                    "{} / {}",
                    human_size_with_precision(self.block_read, 3),
                    human_size_with_precision(self.block_write, 3)
                )),
            ),
            ("PIDs", dash(self.pids.to_string())),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Value {
        json!({
            "name": "/web",
            "id": "4f66ad9a0b2e1234567890abcdef4f66ad9a0b2e1234567890abcdef12345678",
            "cpu_stats": {"cpu_usage": {"total_usage": 2_000_000_000u64}, "system_cpu_usage": 20_000_000_000u64, "online_cpus": 2},
            "precpu_stats": {"cpu_usage": {"total_usage": 1_000_000_000u64}, "system_cpu_usage": 10_000_000_000u64},
            "memory_stats": {"usage": 10_485_760, "limit": 104_857_600, "stats": {"inactive_file": 2_097_152}},
            "blkio_stats": {"io_service_bytes_recursive": [
                {"major": 8, "minor": 0, "op": "read", "value": 4096},
                {"major": 8, "minor": 0, "op": "write", "value": 8192},
                {"major": 8, "minor": 0, "op": "total", "value": 12288}
            ]},
            "pids_stats": {"current": 3},
            "networks": {"eth0": {"rx_bytes": 1500, "tx_bytes": 500}, "eth1": {"rx_bytes": 500, "tx_bytes": 0}}
        })
    }

    #[test]
    fn computed_like_docker() {
        let e = StatsEntry::from_sample("web", &sample());
        assert!((e.cpu_percent - 20.0).abs() < 1e-9);
        assert_eq!(e.memory, 8_388_608.0);
        assert!((e.memory_percent - 8.0).abs() < 1e-9);
        assert_eq!((e.block_read, e.block_write), (4096.0, 8192.0));
        assert_eq!((e.net_rx, e.net_tx), (2000.0, 500.0));
        let r = e.row(true);
        assert_eq!(r["ID"], "4f66ad9a0b2e");
        assert_eq!(r["Name"], "web");
        assert_eq!(r["CPUPerc"], "20.00%");
        assert_eq!(r["MemUsage"], "8MiB / 100MiB");
        assert_eq!(r["MemPerc"], "8.00%");
        assert_eq!(r["NetIO"], "2kB / 500B");
        assert_eq!(r["BlockIO"], "4.1kB / 8.19kB");
        assert_eq!(r["PIDs"], "3");
    }

    #[test]
    fn cgroup_v1_cache_and_invalid_rows() {
        let mut s = sample();
        s["memory_stats"]["stats"] = json!({"total_inactive_file": 1_048_576});
        assert_eq!(StatsEntry::from_sample("x", &s).memory, 9_437_184.0);
        let mut e = StatsEntry::pending("gone");
        e.invalid = true;
        let r = e.row(true);
        assert_eq!(r["CPUPerc"], "--");
        assert_eq!(r["MemUsage"], "-- / --");
        assert_eq!(r["Name"], "--");
        assert_eq!(r["Container"], "gone");
    }
}
