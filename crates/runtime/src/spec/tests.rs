//! Spec generation compared with what Docker (moby `oci/defaults.go`,
//! `daemon/oci_linux.go`) produces.

use std::collections::BTreeSet;
use std::path::Path;

use oci_spec::runtime::{Capability, LinuxNamespaceType as T, PosixRlimitType};
use serde_json::Value;

use super::*;
use crate::cgroup::CgroupLayout;
use crate::parse::{DeviceSpec, Ulimit};
use crate::user::ResolvedUser;

fn input() -> SpecInput {
    let mut i = SpecInput::new(
        "abc123",
        "/var/lib/berth/rootfs",
        vec!["sh".into(), "-c".into(), "true".into()],
    );
    i.hostname = "abc123".into();
    i
}

fn gen_on(i: &SpecInput, layout: CgroupLayout) -> GeneratedSpec {
    generate(i, &HostInfo::synthetic(layout)).unwrap()
}

fn json(g: &GeneratedSpec) -> Value {
    serde_json::to_value(&g.spec).unwrap()
}

fn ns_types(g: &GeneratedSpec) -> Vec<T> {
    g.spec
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().clone())
        .unwrap_or_default()
        .iter()
        .map(|n| n.typ())
        .collect()
}

fn strings(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn docker_defaults_v1_and_hybrid() {
    for layout in [CgroupLayout::V1, CgroupLayout::Hybrid] {
        let g = gen_on(&input(), layout);
        assert_eq!(
            ns_types(&g),
            vec![T::Mount, T::Network, T::Uts, T::Pid, T::Ipc],
            "{layout:?}"
        );
    }
    let g = gen_on(&input(), CgroupLayout::Unified);
    assert_eq!(
        ns_types(&g),
        vec![T::Mount, T::Network, T::Uts, T::Pid, T::Ipc, T::Cgroup]
    );
    assert!(g.warnings.is_empty(), "{:?}", g.warnings);

    let j = json(&g);
    assert_eq!(j["ociVersion"], OCI_VERSION);
    assert_eq!(j["root"]["path"], "/var/lib/berth/rootfs");
    assert_eq!(j["root"]["readonly"], false);
    assert_eq!(j["hostname"], "abc123");
    assert_eq!(j["process"]["cwd"], "/");
    assert_eq!(j["process"]["terminal"], false);
    assert_eq!(j["process"]["user"]["uid"], 0);
    assert_eq!(j["process"]["oomScoreAdj"], 0);
    assert_eq!(
        j["process"]["env"],
        serde_json::json!([format!("PATH={DEFAULT_PATH_ENV}"), "HOSTNAME=abc123"])
    );
    let caps: BTreeSet<String> = DEFAULT_CAPABILITIES.iter().map(|s| s.to_string()).collect();
    for set in ["bounding", "effective", "permitted"] {
        assert_eq!(strings(&j["process"]["capabilities"][set]), caps, "{set}");
    }
    assert!(j["process"]["capabilities"].get("inheritable").is_none());
    assert!(j["process"]["capabilities"].get("ambient").is_none());
    assert!(j["process"].get("noNewPrivileges").is_none());
    assert_eq!(j["process"]["rlimits"][0]["type"], "RLIMIT_NOFILE");
    assert_eq!(j["process"]["rlimits"][0]["hard"], DEFAULT_NOFILE);
    assert_eq!(j["linux"]["cgroupsPath"], "/berth/abc123");
    assert_eq!(
        strings(&j["linux"]["maskedPaths"]),
        DEFAULT_MASKED_PATHS.iter().map(|s| s.to_string()).collect()
    );
    assert_eq!(
        strings(&j["linux"]["readonlyPaths"]),
        DEFAULT_READONLY_PATHS
            .iter()
            .map(|s| s.to_string())
            .collect()
    );
    assert_eq!(
        j["linux"]["resources"]["devices"][0],
        serde_json::json!({"allow": false, "access": "rwm"})
    );
    assert_eq!(
        j["linux"]["sysctl"]["net.ipv4.ip_unprivileged_port_start"],
        "0"
    );
    assert_eq!(
        j["linux"]["sysctl"]["net.ipv4.ping_group_range"],
        "0 2147483647"
    );
    assert_eq!(j["linux"]["seccomp"]["defaultAction"], "SCMP_ACT_ALLOW");
    assert!(j["linux"]["resources"].get("memory").is_none());
    assert!(j["linux"].get("uidMappings").is_none());
    // Docker's mounts.
    let mounts: Vec<&str> = j["mounts"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["destination"].as_str())
        .collect();
    assert_eq!(
        mounts,
        [
            "/proc",
            "/dev",
            "/dev/pts",
            "/sys",
            "/sys/fs/cgroup",
            "/dev/mqueue",
            "/dev/shm"
        ]
    );
    assert_eq!(j["mounts"][3]["type"], "sysfs");
    assert!(strings(&j["mounts"][3]["options"]).contains("ro"));
}

#[test]
fn tty_user_and_nnp() {
    let mut i = input();
    i.tty = true;
    i.console_size = Some((40, 120));
    i.no_new_privileges = true;
    i.cwd = "/work".into();
    i.env = vec!["PATH=/custom".into(), "A=1".into()];
    i.user = ResolvedUser {
        uid: 1000,
        gid: 1000,
        additional_gids: vec![10, 20],
        ..Default::default()
    };
    let g = gen_on(&i, CgroupLayout::Unified);
    let j = json(&g);
    assert_eq!(j["process"]["terminal"], true);
    assert_eq!(
        j["process"]["consoleSize"],
        serde_json::json!({"height": 40, "width": 120})
    );
    assert_eq!(j["process"]["noNewPrivileges"], true);
    assert_eq!(j["process"]["cwd"], "/work");
    assert_eq!(
        j["process"]["env"],
        serde_json::json!(["PATH=/custom", "HOSTNAME=abc123", "TERM=xterm", "A=1"])
    );
    assert_eq!(
        j["process"]["user"]["additionalGids"],
        serde_json::json!([10, 20])
    );
    // Non-root: bounding only, as Docker sets it.
    assert_eq!(
        strings(&j["process"]["capabilities"]["bounding"]).len(),
        DEFAULT_CAPABILITIES.len()
    );
    assert!(j["process"]["capabilities"].get("effective").is_none());
    assert!(j["process"]["capabilities"].get("permitted").is_none());
}

#[test]
fn privileged_like_docker() {
    let mut i = input();
    i.privileged = true;
    i.cap_drop = vec!["ALL".into()];
    let g = gen_on(&i, CgroupLayout::Hybrid);
    let p = g.spec.process().as_ref().unwrap();
    let bounding = p
        .capabilities()
        .as_ref()
        .unwrap()
        .bounding()
        .clone()
        .unwrap();
    assert_eq!(bounding.len(), crate::spec::caps::CAPABILITIES.len());
    assert!(bounding.contains(&Capability::SysAdmin));
    let linux = g.spec.linux().as_ref().unwrap();
    assert_eq!(linux.masked_paths().as_deref(), Some(&[][..]));
    assert_eq!(linux.readonly_paths().as_deref(), Some(&[][..]));
    assert!(linux.seccomp().is_none());
    let rules = linux
        .resources()
        .as_ref()
        .unwrap()
        .devices()
        .clone()
        .unwrap();
    assert_eq!(rules.len(), 1);
    assert!(rules[0].allow());
    assert!(
        linux
            .devices()
            .as_ref()
            .unwrap()
            .iter()
            .any(|d| d.path() == Path::new("/dev/null"))
    );
    let j = json(&g);
    let sys = j["mounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["destination"] == "/sys")
        .unwrap();
    assert!(!strings(&sys["options"]).contains("ro"));
}

#[test]
fn caps_devices_and_sysctls() {
    let mut i = input();
    i.cap_add = vec!["NET_ADMIN".into(), "CAP_SYS_PTRACE".into()];
    i.cap_drop = vec!["MKNOD".into()];
    i.devices = vec![DeviceSpec {
        path_on_host: "/dev/zero".into(),
        path_in_container: "/dev/myzero".into(),
        permissions: "r".into(),
    }];
    i.device_cgroup_rules = vec!["c 42:* rmw".into()];
    i.sysctls.insert("net.core.somaxconn".into(), "1024".into());
    i.sysctls.insert("kernel.shmmax".into(), "1000000".into());
    let g = gen_on(&i, CgroupLayout::V1);
    let j = json(&g);
    let b = strings(&j["process"]["capabilities"]["bounding"]);
    assert!(b.contains("CAP_NET_ADMIN") && b.contains("CAP_SYS_PTRACE"));
    assert!(!b.contains("CAP_MKNOD"));
    let seccomp_names: BTreeSet<String> = j["linux"]["seccomp"]["syscalls"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| strings(&r["names"]))
        .collect();
    assert!(
        !seccomp_names.contains("ptrace"),
        "CAP_SYS_PTRACE lifts the ptrace block"
    );
    assert!(seccomp_names.contains("mount"));
    let devices = j["linux"]["devices"].as_array().unwrap();
    assert_eq!(devices.len(), 1);
    assert_eq!(devices[0]["path"], "/dev/myzero");
    assert_eq!(devices[0]["major"], 1);
    let rules = j["linux"]["resources"]["devices"].as_array().unwrap();
    let n = rules.len();
    assert_eq!(rules[n - 2]["access"], "r");
    assert_eq!(rules[n - 1]["major"], 42);
    assert!(rules[n - 1].get("minor").is_none());
    assert_eq!(j["linux"]["sysctl"]["net.core.somaxconn"], "1024");
    assert_eq!(j["linux"]["sysctl"]["kernel.shmmax"], "1000000");

    let mut bad = input();
    bad.cap_add = vec!["CAP_FOO".into()];
    assert_eq!(
        generate(&bad, &HostInfo::synthetic(CgroupLayout::V1))
            .unwrap_err()
            .to_string(),
        "unknown capability: \"CAP_FOO\""
    );
    let mut bad = input();
    bad.sysctls.insert("vm.swappiness".into(), "1".into());
    assert_eq!(
        generate(&bad, &HostInfo::synthetic(CgroupLayout::V1))
            .unwrap_err()
            .to_string(),
        "invalid --sysctl \"vm.swappiness=1\": sysctl 'vm.swappiness' is not allowed"
    );
}

#[test]
fn namespace_modes() {
    let mut i = input();
    i.network = NetworkNamespace::Host;
    i.uts = UtsNamespace::Host;
    i.pid = PidNamespace::Join("/proc/42/ns/pid".into());
    i.ipc = IpcNamespace::Host;
    i.cgroupns = CgroupNamespace::Private;
    let g = gen_on(&i, CgroupLayout::V1);
    assert_eq!(ns_types(&g), vec![T::Mount, T::Pid, T::Cgroup]);
    let linux = g.spec.linux().as_ref().unwrap();
    let pid = linux.namespaces().as_ref().unwrap()[1].clone();
    assert_eq!(pid.path().as_deref(), Some(Path::new("/proc/42/ns/pid")));
    assert!(g.spec.hostname().is_none());
    assert!(
        linux.sysctl().as_ref().unwrap().is_empty(),
        "no net sysctls on the host network"
    );

    i.sysctls.insert("net.ipv4.ip_forward".into(), "1".into());
    let err = generate(&i, &HostInfo::synthetic(CgroupLayout::V1))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("not allowed in the host network namespace"),
        "{err}"
    );

    let mut i = input();
    i.network = NetworkNamespace::Join("/run/netns/x".into());
    i.cgroupns = CgroupNamespace::Host;
    let g = gen_on(&i, CgroupLayout::Unified);
    assert_eq!(
        ns_types(&g),
        vec![T::Mount, T::Network, T::Uts, T::Pid, T::Ipc]
    );
    assert!(
        g.spec
            .linux()
            .as_ref()
            .unwrap()
            .sysctl()
            .as_ref()
            .unwrap()
            .is_empty()
    );
}

#[test]
fn resources_rlimits_and_warnings() {
    let mut i = input();
    i.resources = Resources {
        memory: 20 << 20,
        nano_cpus: 500_000_000,
        pids_limit: Some(64),
        blkio_weight: 300,
        ..Default::default()
    };
    i.ulimits = vec![Ulimit {
        name: "nofile".into(),
        soft: 1024,
        hard: 4096,
    }];
    i.oom_score_adj = Some(500);
    i.cgroup_parent = Some("/custom".into());
    let mut host = HostInfo::synthetic(CgroupLayout::Hybrid);
    host.cgroup.features.blkio_weight = false;
    let g = generate(&i, &host).unwrap();
    assert_eq!(g.resources.memory_swap, 40 << 20);
    assert_eq!(g.warnings.len(), 1);
    let j = json(&g);
    assert_eq!(j["linux"]["resources"]["memory"]["limit"], 20 << 20);
    assert_eq!(j["linux"]["resources"]["memory"]["swap"], 40 << 20);
    assert_eq!(j["linux"]["resources"]["cpu"]["quota"], 50_000);
    assert_eq!(j["linux"]["resources"]["cpu"]["period"], 100_000);
    assert_eq!(j["linux"]["resources"]["pids"]["limit"], 64);
    assert!(j["linux"]["resources"].get("blockIO").is_none());
    assert_eq!(j["linux"]["cgroupsPath"], "/custom/abc123");
    assert_eq!(j["process"]["oomScoreAdj"], 500);
    let r = &g
        .spec
        .process()
        .as_ref()
        .unwrap()
        .rlimits()
        .clone()
        .unwrap()[0];
    assert_eq!(
        (r.typ(), r.soft(), r.hard()),
        (PosixRlimitType::RlimitNofile, 1024, 4096)
    );

    // A daemon without CAP_SYS_RESOURCE cannot lower oom_score_adj.
    let mut host = HostInfo::synthetic(CgroupLayout::V1);
    host.cap_sys_resource = false;
    host.oom_score_adj = 100;
    let mut i = input();
    let g = generate(&i, &host).unwrap();
    assert_eq!(
        g.spec.process().as_ref().unwrap().oom_score_adj(),
        Some(100)
    );
    i.oom_score_adj = Some(-10);
    assert!(generate(&i, &host).is_err());
    i.oom_score_adj = Some(2000);
    assert_eq!(
        generate(&i, &host).unwrap_err().to_string(),
        "Invalid value 2000, range for oom score adj is [-1000, 1000]"
    );
}

#[test]
fn invalid_inputs() {
    let host = HostInfo::synthetic(CgroupLayout::V1);
    let msg = |f: &dyn Fn(&mut SpecInput)| {
        let mut i = input();
        f(&mut i);
        generate(&i, &host).unwrap_err().to_string()
    };
    assert_eq!(msg(&|i| i.args.clear()), "No command specified");
    assert!(msg(&|i| i.id = "../x".into()).contains("invalid container id"));
    assert!(msg(&|i| i.rootfs = "rel".into()).contains("absolute"));
    assert!(msg(&|i| i.cwd = "rel".into()).contains("needs to be an absolute path"));
    assert_eq!(
        msg(&|i| i.resources.cpuset_cpus = "0-".into()),
        "invalid --cpuset-cpus \"0-\": invalid format: 0-"
    );
    assert_eq!(
        msg(&|i| i.resources.memory = 1 << 20),
        "Minimum memory limit allowed is 6MB"
    );
    assert!(msg(&|i| i.cgroup_parent = Some("/../x".into())).contains("--cgroup-parent"));
    assert!(
        msg(&|i| i.ulimits = vec![Ulimit {
            name: "nofile".into(),
            soft: 5,
            hard: 1
        }])
        .contains("--ulimit")
    );
}

#[test]
fn read_only_and_masked_overrides() {
    let tmp = tempfile::tempdir().unwrap();
    let mut i = input();
    i.readonly_rootfs = true;
    i.masked_paths = Some(vec![]);
    i.readonly_paths = Some(vec!["/proc/sys".into()]);
    i.etc_hostname = Some(tmp.path().join("hostname"));
    i.seccomp = Seccomp::Unconfined;
    let g = gen_on(&i, CgroupLayout::V1);
    let j = json(&g);
    assert_eq!(j["root"]["readonly"], true);
    assert_eq!(j["linux"]["maskedPaths"], serde_json::json!([]));
    assert_eq!(
        j["linux"]["readonlyPaths"],
        serde_json::json!(["/proc/sys"])
    );
    assert!(j["linux"].get("seccomp").is_none());
    let hn = j["mounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["destination"] == "/etc/hostname")
        .unwrap();
    assert_eq!(hn["type"], "bind");
    assert!(strings(&hn["options"]).contains("ro"));
}

#[test]
fn write_config_roundtrips() {
    let tmp = tempfile::tempdir().unwrap();
    let g = gen_on(&input(), CgroupLayout::Unified);
    write_config(tmp.path(), &g.spec).unwrap();
    let back = oci_spec::runtime::Spec::load(tmp.path().join("config.json")).unwrap();
    assert_eq!(back, g.spec);
}
