//! `berth update`: resources and restart policy of running or stopped
//! containers, sent in the shape docker sends (zero = unchanged).

use serde_json::{Value, json};

use super::common::usage_error;
use super::opts::resources::{blkio_weight, int, mem_bytes, mem_swap_bytes, nano_cpus};
use super::opts::values::parse_restart_policy;
use super::opts::{OptsError, OptsResult};
use crate::context::Ctx;
use crate::error::{CliError, CliResult};
use crate::term;

const USAGE: &str = "[OPTIONS] CONTAINER [CONTAINER...]";

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Block IO (relative weight), between 10 and 1000, or 0 to disable (default 0)
    #[arg(long = "blkio-weight", value_name = "uint16")]
    pub blkio_weight: Option<String>,
    /// Limit CPU CFS (Completely Fair Scheduler) period
    #[arg(long = "cpu-period", value_name = "int")]
    pub cpu_period: Option<String>,
    /// Limit CPU CFS (Completely Fair Scheduler) quota
    #[arg(long = "cpu-quota", value_name = "int", allow_hyphen_values = true)]
    pub cpu_quota: Option<String>,
    /// Limit the CPU real-time period in microseconds
    #[arg(long = "cpu-rt-period", value_name = "int")]
    pub cpu_rt_period: Option<String>,
    /// Limit the CPU real-time runtime in microseconds
    #[arg(long = "cpu-rt-runtime", value_name = "int")]
    pub cpu_rt_runtime: Option<String>,
    /// CPU shares (relative weight)
    #[arg(short = 'c', long = "cpu-shares", value_name = "int")]
    pub cpu_shares: Option<String>,
    /// Number of CPUs
    #[arg(long = "cpus", value_name = "decimal")]
    pub cpus: Option<String>,
    /// CPUs in which to allow execution (0-3, 0,1)
    #[arg(long = "cpuset-cpus", value_name = "string")]
    pub cpuset_cpus: Option<String>,
    /// MEMs in which to allow execution (0-3, 0,1)
    #[arg(long = "cpuset-mems", value_name = "string")]
    pub cpuset_mems: Option<String>,
    /// Kernel memory limit (deprecated)
    #[arg(long = "kernel-memory", value_name = "bytes", hide = true)]
    pub kernel_memory: Option<String>,
    /// Memory limit
    #[arg(short = 'm', long = "memory", value_name = "bytes")]
    pub memory: Option<String>,
    /// Memory soft limit
    #[arg(long = "memory-reservation", value_name = "bytes")]
    pub memory_reservation: Option<String>,
    /// Swap limit equal to memory plus swap: -1 to enable unlimited swap
    #[arg(long = "memory-swap", value_name = "bytes", allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    /// Tune container pids limit (set -1 for unlimited)
    #[arg(long = "pids-limit", value_name = "int", allow_hyphen_values = true)]
    pub pids_limit: Option<String>,
    /// Restart policy to apply when a container exits
    #[arg(long = "restart", value_name = "string")]
    pub restart: Option<String>,
    #[arg(value_name = "CONTAINER", required = true)]
    pub containers: Vec<String>,
}

impl Args {
    fn flag_count(&self) -> usize {
        [
            &self.blkio_weight,
            &self.cpu_period,
            &self.cpu_quota,
            &self.cpu_rt_period,
            &self.cpu_rt_runtime,
            &self.cpu_shares,
            &self.cpus,
            &self.cpuset_cpus,
            &self.cpuset_mems,
            &self.kernel_memory,
            &self.memory,
            &self.memory_reservation,
            &self.memory_swap,
            &self.pids_limit,
            &self.restart,
        ]
        .iter()
        .filter(|f| f.is_some())
        .count()
    }
}

/// The `POST /containers/{id}/update` body.
pub fn update_body(a: &Args) -> OptsResult<Value> {
    let restart = match &a.restart {
        Some(r) if !r.is_empty() => parse_restart_policy(r).map_err(OptsError::Invalid)?,
        _ => Default::default(),
    };
    let pids = int(&a.pids_limit, "--pids-limit")?;
    let mut body = json!({
        "CpuShares": int(&a.cpu_shares, "-c, --cpu-shares")?,
        "Memory": mem_bytes(&a.memory, "-m, --memory")?,
        "NanoCpus": nano_cpus(&a.cpus)?,
        "CgroupParent": "",
        "BlkioWeight": blkio_weight(&a.blkio_weight)?,
        "BlkioWeightDevice": null,
        "BlkioDeviceReadBps": null,
        "BlkioDeviceWriteBps": null,
        "BlkioDeviceReadIOps": null,
        "BlkioDeviceWriteIOps": null,
        "CpuPeriod": int(&a.cpu_period, "--cpu-period")?,
        "CpuQuota": int(&a.cpu_quota, "--cpu-quota")?,
        "CpuRealtimePeriod": int(&a.cpu_rt_period, "--cpu-rt-period")?,
        "CpuRealtimeRuntime": int(&a.cpu_rt_runtime, "--cpu-rt-runtime")?,
        "CpusetCpus": a.cpuset_cpus.clone().unwrap_or_default(),
        "CpusetMems": a.cpuset_mems.clone().unwrap_or_default(),
        "Devices": null,
        "DeviceCgroupRules": null,
        "DeviceRequests": null,
        "MemoryReservation": mem_bytes(&a.memory_reservation, "--memory-reservation")?,
        "MemorySwap": mem_swap_bytes(&a.memory_swap, "--memory-swap")?,
        "MemorySwappiness": null,
        "OomKillDisable": null,
        "PidsLimit": if pids != 0 { json!(pids) } else { Value::Null },
        "Ulimits": null,
        "CpuCount": 0,
        "CpuPercent": 0,
        "IOMaximumIOps": 0,
        "IOMaximumBandwidth": 0,
        "RestartPolicy": {
            "Name": restart.name,
            "MaximumRetryCount": restart.maximum_retry_count,
        },
    });
    let kernel = mem_bytes(&a.kernel_memory, "--kernel-memory")?;
    if kernel != 0
        && let Some(o) = body.as_object_mut()
    {
        o.insert("KernelMemory".into(), json!(kernel));
    }
    Ok(body)
}

pub async fn run(ctx: &Ctx, args: Args) -> CliResult {
    if args.flag_count() == 0 {
        return Err(CliError::Plain(
            "you must provide one or more flags when using this command".into(),
        ));
    }
    let body = update_body(&args).map_err(|e| usage_error("update", USAGE, e))?;
    let (mut warnings, mut errors) = (Vec::new(), Vec::new());
    for c in &args.containers {
        match ctx.client.container_update_as(c, &body).await {
            Ok(r) => {
                term::out(&format!("{c}\n"))?;
                warnings.extend(r.warnings);
            }
            Err(e) => errors.push(e.to_string()),
        }
    }
    if !warnings.is_empty() {
        term::out(&format!("{}\n", warnings.join("\n")))?;
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(CliError::Plain(errors.join("\n")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct T {
        #[command(flatten)]
        a: Args,
    }

    #[test]
    fn body_like_docker() {
        let t = T::try_parse_from([
            "update",
            "--memory",
            "20m",
            "--memory-swap",
            "40m",
            "--restart",
            "always",
            "--cpus",
            "1.5",
            "--pids-limit",
            "10",
            "x",
        ])
        .unwrap();
        // What docker 28 sent for the same flags.
        let docker: Value = serde_json::from_str(r#"{"CpuShares":0,"Memory":20971520,"NanoCpus":1500000000,"CgroupParent":"","BlkioWeight":0,"BlkioWeightDevice":null,"BlkioDeviceReadBps":null,"BlkioDeviceWriteBps":null,"BlkioDeviceReadIOps":null,"BlkioDeviceWriteIOps":null,"CpuPeriod":0,"CpuQuota":0,"CpuRealtimePeriod":0,"CpuRealtimeRuntime":0,"CpusetCpus":"","CpusetMems":"","Devices":null,"DeviceCgroupRules":null,"DeviceRequests":null,"MemoryReservation":0,"MemorySwap":41943040,"MemorySwappiness":null,"OomKillDisable":null,"PidsLimit":10,"Ulimits":null,"CpuCount":0,"CpuPercent":0,"IOMaximumIOps":0,"IOMaximumBandwidth":0,"RestartPolicy":{"Name":"always","MaximumRetryCount":0}}"#).unwrap();
        assert_eq!(update_body(&t.a).unwrap(), docker);
        assert_eq!(t.a.flag_count(), 5);
    }
}
