//! cgroups on v1, v2 and hybrid hosts: layout detection, the per-container
//! path convention, statistics in Docker's shapes, OOM-kill counters, the
//! freezer, resource updates, process listing and removal.

mod files;
mod freezer;
mod layout;
mod paths;
mod remove;
mod stats;
mod update;

pub use freezer::{FreezerState, freeze, freezer_state, thaw};
pub use layout::{CgroupFeatures, CgroupHost, CgroupLayout, V1_CONTROLLERS};
pub use paths::{CgroupPaths, DEFAULT_CGROUP_PARENT, container_cgroup_path};
pub use remove::{procs, remove};
pub use stats::{
    BlkioEntry, BlkioStats, CgroupStats, CpuStats, CpuUsage, MemoryStats, PidsStats,
    ThrottlingData, machine_memory, oom_kill_count, read_stats, read_v1_stats, read_v2_stats,
    system_cpu_usage,
};
pub use update::{ResourceUpdate, UpdatePlan, plan_update};
