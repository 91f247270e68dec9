//! OCI runtime spec generation: from a [`SpecInput`] (the container as the
//! daemon resolved it) and [`HostInfo`] to an `oci_spec` [`Spec`] with
//! Docker's defaults, plus the warnings Docker would print.

mod api;
pub mod caps;
mod devices;
mod exec;
mod host;
mod input;
mod mounts;
mod process;
mod resources;
mod seccomp;

use std::collections::HashMap;
use std::path::PathBuf;

use oci_spec::runtime::{
    BoxBuilder, Linux, LinuxCapabilities, LinuxNamespace, LinuxNamespaceType, Process, Root, Spec,
    User,
};

pub use caps::{DEFAULT_CAPABILITIES, capability_mask, normalize_capability, tweak_capabilities};
pub use devices::{default_device_rules, device_cgroup_rules, devices_from_path, host_devices};
pub use exec::{Bundle, ExecProcess, exec_env, exec_process, exec_process_json, read_bundle};
pub use host::HostInfo;
pub use input::{
    CgroupNamespace, IpcNamespace, Mount, NetworkNamespace, PidNamespace, Seccomp, SpecInput,
    UtsNamespace,
};
pub use mounts::{DEFAULT_SHM_SIZE, default_mounts};
pub use process::{DEFAULT_NOFILE, DEFAULT_PATH_ENV};
pub use resources::{
    DEFAULT_CPU_PERIOD, MIN_MEMORY, Resources, linux_resources, validate_resources,
};
pub use seccomp::default_profile as default_seccomp_profile;

use crate::cgroup::container_cgroup_path;
use crate::error::{Result, RuntimeError};
use crate::parse::{SysctlNamespace, sysctl_namespace, validate_sysctl_name};

/// The OCI runtime-spec version written into `config.json`.
pub const OCI_VERSION: &str = "1.0.2";

/// Docker's masked paths (HostConfig `MaskedPaths` at create; none with
/// `--privileged`).
pub const DEFAULT_MASKED_PATHS: &[&str] = &[
    "/proc/asound",
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

/// Docker's read-only paths (HostConfig `ReadonlyPaths`).
pub const DEFAULT_READONLY_PATHS: &[&str] = &[
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// A generated spec and the warnings for the user (controls the host
/// lacks, capped limits), as Docker returns them from create.
#[derive(Debug, Clone)]
pub struct GeneratedSpec {
    pub spec: Spec,
    /// The resources after Docker's adaptations (swap = 2 × memory, …):
    /// what `inspect` shows.
    pub resources: Resources,
    pub warnings: Vec<String>,
}

fn valid_id(id: &str) -> bool {
    let b = id.as_bytes();
    !b.is_empty()
        && b.len() <= 1024
        && b[0].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

fn namespace(typ: LinuxNamespaceType, path: Option<PathBuf>) -> LinuxNamespace {
    let mut ns = LinuxNamespace::default();
    ns.set_typ(typ);
    ns.set_path(path);
    ns
}

/// Docker's namespaces (mount, network, uts, pid, ipc, and cgroup where
/// private) adjusted by the modes.
fn namespaces(input: &SpecInput, host: &HostInfo) -> Vec<LinuxNamespace> {
    use LinuxNamespaceType as T;
    let mut out = vec![namespace(T::Mount, None)];
    match &input.network {
        NetworkNamespace::New => out.push(namespace(T::Network, None)),
        NetworkNamespace::Join(p) => out.push(namespace(T::Network, Some(p.clone()))),
        NetworkNamespace::Host => {}
    }
    if input.uts == UtsNamespace::Private {
        out.push(namespace(T::Uts, None));
    }
    match &input.pid {
        PidNamespace::Private => out.push(namespace(T::Pid, None)),
        PidNamespace::Join(p) => out.push(namespace(T::Pid, Some(p.clone()))),
        PidNamespace::Host => {}
    }
    match &input.ipc {
        IpcNamespace::Host => {}
        IpcNamespace::Join { ns, .. } => out.push(namespace(T::Ipc, Some(ns.clone()))),
        _ => out.push(namespace(T::Ipc, None)),
    }
    let cgroupns = match input.cgroupns {
        CgroupNamespace::Default => host.cgroup.default_cgroupns_private(),
        CgroupNamespace::Private => host.cgroup.cgroupns_supported,
        CgroupNamespace::Host => false,
    };
    if cgroupns {
        out.push(namespace(T::Cgroup, None));
    }
    out
}

/// Docker's default sysctls (private network only) and the user's, each
/// checked against the namespaces the container has.
fn sysctls(input: &SpecInput, host: &HostInfo) -> Result<HashMap<String, String>> {
    let mut out = HashMap::new();
    if input.network == NetworkNamespace::New {
        for (k, v) in host::DEFAULT_NET_SYSCTLS {
            if host.sysctls.iter().any(|s| s == k) {
                out.insert(k.to_string(), v.to_string());
            }
        }
    }
    for (k, v) in &input.sysctls {
        let bad =
            |why: String| RuntimeError::invalid(format!("invalid --sysctl \"{k}={v}\": {why}"));
        validate_sysctl_name(k).map_err(|e| bad(e.to_string()))?;
        if v.contains('\n') || v.contains('\0') {
            return Err(bad("invalid value".into()));
        }
        match sysctl_namespace(k) {
            Some(SysctlNamespace::Net) if input.network == NetworkNamespace::Host => {
                return Err(bad(format!(
                    "sysctl '{k}' is not allowed in the host network namespace"
                )));
            }
            Some(SysctlNamespace::Ipc) if input.ipc == IpcNamespace::Host => {
                return Err(bad(format!(
                    "sysctl '{k}' is not allowed in the host IPC namespace"
                )));
            }
            _ => {}
        }
        out.insert(k.clone(), v.clone());
    }
    Ok(out)
}

/// Generates the OCI spec of a container. Pure except for looking at the
/// host where Docker does too: bind sources must exist, `--device` paths
/// are stat'ed, and `--privileged` lists the host's `/dev`. The spec's
/// `linux.cgroupsPath` is `<cgroup_parent or /berth>/<id>` (see
/// [`crate::cgroup::container_cgroup_path`]).
pub fn generate(input: &SpecInput, host: &HostInfo) -> Result<GeneratedSpec> {
    let mut warnings = Vec::new();
    if !valid_id(&input.id) {
        return Err(RuntimeError::invalid(format!(
            "invalid container id {:?}",
            input.id
        )));
    }
    if !input.rootfs.is_absolute() {
        return Err(RuntimeError::invalid(format!(
            "invalid rootfs {:?}: must be an absolute path",
            input.rootfs
        )));
    }
    if input.args.is_empty() || input.args[0].is_empty() {
        return Err(RuntimeError::invalid("No command specified"));
    }
    let cwd = if input.cwd.is_empty() {
        "/"
    } else {
        input.cwd.as_str()
    };
    if !cwd.starts_with('/') {
        return Err(RuntimeError::invalid(format!(
            "the working directory '{cwd}' is invalid, it needs to be an absolute path"
        )));
    }
    let (resources, res_warnings) = validate_resources(&input.resources, host, false)?;
    warnings.extend(res_warnings);

    // Process.
    let mut process = Process::default();
    process.set_terminal(Some(input.tty));
    if input.tty
        && let Some((h, w)) = input.console_size
    {
        let b = BoxBuilder::default()
            .height(h)
            .width(w)
            .build()
            .map_err(|e| RuntimeError::oci("console size", e))?;
        process.set_console_size(Some(b));
    }
    let mut user = User::default();
    user.set_uid(input.user.uid);
    user.set_gid(input.user.gid);
    if !input.user.additional_gids.is_empty() {
        user.set_additional_gids(Some(input.user.additional_gids.clone()));
    }
    process.set_user(user);
    process.set_args(Some(input.args.clone()));
    let hostname = if input.uts == UtsNamespace::Host {
        ""
    } else {
        input.hostname.as_str()
    };
    process.set_env(Some(process::build_env(
        &input.env,
        &input.hostname,
        input.tty,
    )?));
    process.set_cwd(PathBuf::from(cwd));
    let cap_list = tweak_capabilities(
        &input.cap_add,
        &input.cap_drop,
        input.privileged,
        host.available_caps(),
    )?;
    let oci_caps = caps::to_oci(&cap_list)?;
    let mut capabilities = LinuxCapabilities::default();
    capabilities.set_bounding(Some(oci_caps.clone()));
    capabilities.set_inheritable(None);
    capabilities.set_ambient(None);
    if input.user.uid == 0 {
        capabilities.set_effective(Some(oci_caps.clone()));
        capabilities.set_permitted(Some(oci_caps));
    } else {
        // Docker: a non-root process gets no effective or permitted
        // capabilities, as after execve.
        capabilities.set_effective(None);
        capabilities.set_permitted(None);
    }
    process.set_capabilities(Some(capabilities));
    process.set_rlimits(Some(process::build_rlimits(
        &input.ulimits,
        host,
        &mut warnings,
    )?));
    process.set_no_new_privileges(input.no_new_privileges.then_some(true));
    let oom = match input.oom_score_adj {
        Some(v) if !(-1000..=1000).contains(&v) => {
            return Err(RuntimeError::invalid(format!(
                "Invalid value {v}, range for oom score adj is [-1000, 1000]"
            )));
        }
        Some(v) if v < host.oom_score_adj && !host.cap_sys_resource => {
            return Err(RuntimeError::invalid(format!(
                "invalid --oom-score-adj {v}: lower than the daemon's own ({}) and the daemon lacks CAP_SYS_RESOURCE",
                host.oom_score_adj
            )));
        }
        Some(v) => v,
        None if host.oom_score_adj > 0 && !host.cap_sys_resource => host.oom_score_adj,
        None => 0,
    };
    process.set_oom_score_adj(Some(oom));

    // Mounts, namespaces, devices, resources.
    let (mounts, rootfs_propagation) = mounts::build_mounts(input)?;
    let mut linux = Linux::default();
    linux.set_namespaces(Some(namespaces(input, host)));
    linux.set_cgroups_path(Some(PathBuf::from(container_cgroup_path(
        input.cgroup_parent.as_deref(),
        &input.id,
    )?)));
    linux.set_rootfs_propagation(rootfs_propagation);
    linux.set_uid_mappings(None);
    linux.set_gid_mappings(None);

    let mut devices = Vec::new();
    let mut rules;
    if input.privileged {
        devices.extend(host_devices()?);
        for d in &input.devices {
            if d.path_on_host != d.path_in_container {
                let (devs, _) = devices_from_path(d)?;
                devices.extend(devs);
            }
        }
        rules = vec![devices::rule(true, None, None, None, "rwm")];
    } else {
        rules = default_device_rules();
        for d in &input.devices {
            let (devs, r) = devices_from_path(d)?;
            devices.extend(devs);
            rules.extend(r);
        }
        rules.extend(devices::device_cgroup_rules(&input.device_cgroup_rules)?);
    }
    linux.set_devices(Some(devices));
    let mut lr = linux_resources(&resources, false);
    lr.set_devices(Some(rules));
    linux.set_resources(Some(lr));

    let default_list = |l: &[&str]| -> Vec<String> {
        if input.privileged {
            Vec::new()
        } else {
            l.iter().map(|s| s.to_string()).collect()
        }
    };
    linux.set_masked_paths(Some(
        input
            .masked_paths
            .clone()
            .unwrap_or_else(|| default_list(DEFAULT_MASKED_PATHS)),
    ));
    linux.set_readonly_paths(Some(
        input
            .readonly_paths
            .clone()
            .unwrap_or_else(|| default_list(DEFAULT_READONLY_PATHS)),
    ));
    linux.set_sysctl(Some(sysctls(input, host)?));
    linux.set_seccomp(match (&input.seccomp, input.privileged) {
        (Seccomp::Profile(p), _) => Some(p.clone()),
        (Seccomp::Unconfined, _) | (Seccomp::Default, true) => None,
        (Seccomp::Default, false) => Some(seccomp::default_profile(&cap_list)),
    });

    let mut root = Root::default();
    root.set_path(input.rootfs.clone());
    root.set_readonly(Some(input.readonly_rootfs));

    let mut spec = Spec::default();
    spec.set_version(OCI_VERSION.to_string());
    spec.set_root(Some(root));
    spec.set_mounts(Some(mounts));
    spec.set_process(Some(process));
    spec.set_hostname((!hostname.is_empty()).then(|| hostname.to_string()));
    spec.set_domainname((!input.domainname.is_empty()).then(|| input.domainname.clone()));
    spec.set_hooks(None);
    spec.set_annotations((!input.annotations.is_empty()).then(|| {
        input
            .annotations
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }));
    spec.set_linux(Some(linux));
    Ok(GeneratedSpec {
        spec,
        resources,
        warnings,
    })
}

/// Writes `spec` as `config.json` in `bundle` (atomically).
pub fn write_config(bundle: &std::path::Path, spec: &Spec) -> Result<()> {
    let json = serde_json::to_vec_pretty(spec)
        .map_err(|e| RuntimeError::io("serializing the OCI spec", std::io::Error::other(e)))?;
    berth_fsutil::atomic_write(&bundle.join("config.json"), &json)
        .map_err(|e| RuntimeError::io(format!("writing {}/config.json", bundle.display()), e))
}

#[cfg(test)]
mod tests;
