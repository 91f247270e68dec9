//! `docker update` of a live container's resources.
//!
//! Berth does not write cgroup files for updates: it computes the new
//! resources with Docker's rules and hands the changed ones to the OCI
//! runtime (`runc update --resources -`, see
//! [`RuntimeCli::update`](crate::runtimes::RuntimeCli::update)), which
//! knows the v1/v2 translations (swap vs memsw, shares vs weight, the
//! order of memory and swap writes).

use oci_spec::runtime::LinuxResources;
use serde::{Deserialize, Serialize};

use crate::error::{Result, RuntimeError};
use crate::spec::{HostInfo, Resources, linux_resources, validate_resources};

/// The resource fields of `docker update`. `None` (and, as in Docker's
/// API, `Some(0)`) leaves a value unchanged, except `pids_limit` where 0
/// or less means unlimited and `memory_swap` where -1 means unlimited.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceUpdate {
    pub memory: Option<i64>,
    pub memory_swap: Option<i64>,
    pub memory_reservation: Option<i64>,
    pub cpu_shares: Option<i64>,
    pub nano_cpus: Option<i64>,
    pub cpu_period: Option<i64>,
    pub cpu_quota: Option<i64>,
    pub cpuset_cpus: Option<String>,
    pub cpuset_mems: Option<String>,
    pub pids_limit: Option<i64>,
    pub blkio_weight: Option<u16>,
}

impl From<&berth_api::types::container::UpdateConfig> for ResourceUpdate {
    /// The resource part of `POST /containers/{id}/update`.
    fn from(u: &berth_api::types::container::UpdateConfig) -> Self {
        ResourceUpdate {
            memory: u.memory,
            memory_swap: u.memory_swap,
            memory_reservation: u.memory_reservation,
            cpu_shares: u.cpu_shares,
            nano_cpus: u.nano_cpus,
            cpu_period: u.cpu_period,
            cpu_quota: u.cpu_quota,
            cpuset_cpus: u.cpuset_cpus.clone(),
            cpuset_mems: u.cpuset_mems.clone(),
            pids_limit: u.pids_limit,
            blkio_weight: u.blkio_weight,
        }
    }
}

/// The outcome of [`plan_update`].
#[derive(Debug, Clone)]
pub struct UpdatePlan {
    /// The container's resources after the update (to persist).
    pub resources: Resources,
    /// Only what changes, for `runtime update --resources -`.
    pub linux: LinuxResources,
    pub warnings: Vec<String>,
}

fn set<T: PartialEq + Default>(v: &Option<T>) -> Option<&T> {
    v.as_ref().filter(|x| **x != T::default())
}

/// Applies `update` to `current` with Docker's rules (`UpdateContainer`
/// and the daemon's validation in update mode).
pub fn plan_update(
    current: &Resources,
    update: &ResourceUpdate,
    host: &HostInfo,
) -> Result<UpdatePlan> {
    let conflict = |m: &str| Err(RuntimeError::Conflict(m.to_string()));
    let nano = set(&update.nano_cpus).copied().unwrap_or(0);
    let period = set(&update.cpu_period).copied().unwrap_or(0);
    let quota = set(&update.cpu_quota).copied().unwrap_or(0);
    if nano > 0 && current.cpu_period > 0 && period == 0 {
        return conflict(
            "Conflicting options: CPU Period cannot be updated as NanoCPUs has already been set",
        );
    }
    if nano > 0 && current.cpu_quota > 0 && quota == 0 {
        return conflict(
            "Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set",
        );
    }
    if period > 0 && current.nano_cpus > 0 && nano == 0 {
        return conflict(
            "Conflicting options: CPU Period cannot be updated as NanoCPUs has already been set",
        );
    }
    if quota > 0 && current.nano_cpus > 0 && nano == 0 {
        return conflict(
            "Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set",
        );
    }
    let memory = set(&update.memory).copied();
    let swap = set(&update.memory_swap).copied();
    if let Some(m) = memory
        && current.memory_swap > 0
        && m > current.memory_swap
        && swap.is_none()
    {
        return conflict(
            "Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time",
        );
    }

    let mut merged = current.clone();
    let mut delta = Resources::default();
    if let Some(m) = memory {
        merged.memory = m;
    }
    if let Some(s) = swap {
        merged.memory_swap = s;
    }
    if let Some(r) = set(&update.memory_reservation) {
        merged.memory_reservation = *r;
    }
    if let Some(s) = set(&update.cpu_shares) {
        merged.cpu_shares = *s;
    }
    if nano != 0 {
        merged.nano_cpus = nano;
    }
    if period != 0 {
        merged.cpu_period = period;
    }
    if quota != 0 {
        merged.cpu_quota = quota;
    }
    if let Some(c) = &update.cpuset_cpus {
        merged.cpuset_cpus = c.clone();
    }
    if let Some(c) = &update.cpuset_mems {
        merged.cpuset_mems = c.clone();
    }
    if let Some(p) = update.pids_limit {
        merged.pids_limit = Some(p);
    }
    if let Some(w) = set(&update.blkio_weight) {
        merged.blkio_weight = *w;
    }
    let (resources, warnings) = validate_resources(&merged, host, true)?;

    // Only the fields asked for go to the runtime, with validated values.
    if memory.is_some() {
        delta.memory = resources.memory;
    }
    if swap.is_some() {
        delta.memory_swap = resources.memory_swap;
    }
    if set(&update.memory_reservation).is_some() {
        delta.memory_reservation = resources.memory_reservation;
    }
    if set(&update.cpu_shares).is_some() {
        delta.cpu_shares = resources.cpu_shares;
    }
    if nano != 0 {
        delta.nano_cpus = resources.nano_cpus;
    }
    if period != 0 {
        delta.cpu_period = resources.cpu_period;
    }
    if quota != 0 {
        delta.cpu_quota = resources.cpu_quota;
    }
    if update.cpuset_cpus.is_some() {
        delta.cpuset_cpus = resources.cpuset_cpus.clone();
    }
    if update.cpuset_mems.is_some() {
        delta.cpuset_mems = resources.cpuset_mems.clone();
    }
    if update.pids_limit.is_some() {
        delta.pids_limit = resources.pids_limit.or(Some(-1));
    }
    if set(&update.blkio_weight).is_some() {
        delta.blkio_weight = resources.blkio_weight;
    }
    Ok(UpdatePlan {
        linux: linux_resources(&delta, true),
        resources,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroup::CgroupLayout;

    fn host() -> HostInfo {
        HostInfo::synthetic(CgroupLayout::Hybrid)
    }

    #[test]
    fn memory_update() {
        let current = Resources {
            memory: 20 << 20,
            memory_swap: 40 << 20,
            ..Default::default()
        };
        let err = plan_update(
            &current,
            &ResourceUpdate {
                memory: Some(64 << 20),
                ..Default::default()
            },
            &host(),
        )
        .unwrap_err();
        assert!(matches!(err, RuntimeError::Conflict(_)));
        assert!(
            err.to_string()
                .starts_with("Memory limit should be smaller")
        );

        let plan = plan_update(
            &current,
            &ResourceUpdate {
                memory: Some(64 << 20),
                memory_swap: Some(-1),
                ..Default::default()
            },
            &host(),
        )
        .unwrap();
        assert_eq!(plan.resources.memory, 64 << 20);
        assert_eq!(plan.resources.memory_swap, -1);
        let mem = plan.linux.memory().unwrap();
        assert_eq!((mem.limit(), mem.swap()), (Some(64 << 20), Some(-1)));
        assert!(plan.linux.cpu().is_none());

        assert!(
            plan_update(
                &current,
                &ResourceUpdate {
                    memory: Some(1 << 20),
                    ..Default::default()
                },
                &host()
            )
            .is_err()
        );
    }

    #[test]
    fn cpu_and_pids_update() {
        let current = Resources {
            nano_cpus: 1_000_000_000,
            pids_limit: Some(50),
            ..Default::default()
        };
        assert!(
            plan_update(
                &current,
                &ResourceUpdate {
                    cpu_quota: Some(50_000),
                    ..Default::default()
                },
                &host()
            )
            .is_err()
        );
        let plan = plan_update(
            &current,
            &ResourceUpdate {
                nano_cpus: Some(500_000_000),
                pids_limit: Some(0),
                cpuset_cpus: Some("1".into()),
                ..Default::default()
            },
            &host(),
        )
        .unwrap();
        let cpu = plan.linux.cpu().as_ref().unwrap();
        assert_eq!((cpu.quota(), cpu.period()), (Some(50_000), Some(100_000)));
        assert_eq!(cpu.cpus().as_deref(), Some("1"));
        assert_eq!(plan.linux.pids().map(|p| p.limit()), Some(-1));
        assert_eq!(plan.resources.pids_limit, Some(0));
        assert!(plan.linux.memory().is_none());
        let json = serde_json::to_value(&plan.linux).unwrap();
        assert_eq!(json["pids"]["limit"], -1);
    }
}
