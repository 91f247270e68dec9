//! Generated specs run with the real `runc` on a busybox rootfs: OOM kill
//! under a memory limit, `--read-only`, binds, tmpfs, a non-root user,
//! capabilities, freezer, stats, process listing and live updates.

mod common;

use std::fs;
use std::time::Duration;

use berth_runtime::cgroup::{self, FreezerState, ResourceUpdate};
use berth_runtime::parse::Propagation;
use berth_runtime::spec::{Mount, Resources, capability_mask, tweak_capabilities};
use berth_runtime::user;
use common::{TestContainer, can_run};

fn status_mask(out: &str, field: &str) -> u64 {
    out.lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .unwrap_or_else(|| panic!("no {field} in {out}"))
}

#[test]
fn memory_hog_is_oom_killed() {
    if !can_run() {
        return;
    }
    let c = TestContainer::new("oom");
    let mut input = c.input(&["dd", "if=/dev/zero", "of=/dev/null", "bs=128M", "count=1"]);
    input.resources = Resources {
        memory: 20 << 20,
        ..Default::default()
    };
    let g = c.write(&input);
    assert!(g.warnings.is_empty(), "{:?}", g.warnings);
    c.run_detached();
    c.wait_status("stopped", Duration::from_secs(30));
    let kills = cgroup::oom_kill_count(&c.paths).unwrap();
    assert!(kills >= 1, "no OOM kill counted; output: {}", c.output());
    let stats = cgroup::read_stats(&c.paths).unwrap();
    assert_eq!(stats.memory_stats.limit, 20 << 20);
    c.cleanup();
    c.assert_gone();
}

#[test]
fn read_only_rootfs_binds_and_tmpfs() {
    if !can_run() {
        return;
    }
    let c = TestContainer::new("ro");
    let ro_src = c.dir.path().join("ro-src");
    let rw_src = c.dir.path().join("rw-src");
    fs::create_dir_all(&ro_src).unwrap();
    fs::create_dir_all(&rw_src).unwrap();
    fs::write(ro_src.join("f"), "from-host\n").unwrap();
    let script = "touch /x 2>&1; echo rootrc=$?; cat /ro/f; touch /ro/y 2>&1; echo rorc=$?; \
                  echo hi > /rw/out; echo rwrc=$?; touch /scratch/t; echo tmprc=$?; \
                  cat /etc/hostname; grep -c . /etc/hosts";
    let mut input = c.input(&["sh", "-c", script]);
    input.readonly_rootfs = true;
    input.mounts = vec![
        Mount::bind(&ro_src, "/ro", true),
        Mount::Bind {
            source: rw_src.clone(),
            destination: "/rw".into(),
            read_only: false,
            propagation: Some(Propagation::RPrivate),
            recursive: true,
        },
        Mount::tmpfs("/scratch", vec!["size=1m".into()]),
    ];
    c.write(&input);
    let (code, out, err) = c.run(Duration::from_secs(30));
    assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
    assert!(out.contains("Read-only file system"), "{out}");
    assert!(!out.contains("rootrc=0"), "{out}");
    assert!(out.contains("from-host"), "{out}");
    assert!(!out.contains("rorc=0"), "{out}");
    assert!(out.contains("rwrc=0"), "{out}");
    assert!(out.contains("tmprc=0"), "{out}");
    assert!(out.contains("testhost"), "{out}");
    assert_eq!(fs::read_to_string(rw_src.join("out")).unwrap(), "hi\n");
    assert!(!ro_src.join("y").exists());
    c.cleanup();
    c.assert_gone();
}

#[test]
fn non_root_user_workdir_and_capabilities() {
    if !can_run() {
        return;
    }
    let c = TestContainer::new("user");
    let u = user::resolve_user(&c.rootfs, "app", &["wheel".into()]).unwrap();
    assert_eq!((u.uid, u.gid), (1000, 1000));
    user::ensure_workdir(&c.rootfs, "/home/app/work", u.uid, u.gid).unwrap();
    let mut input = c.input(&[
        "sh",
        "-c",
        "id; pwd; touch mine && echo wrote; grep Cap /proc/self/status",
    ]);
    input.user = u;
    input.cwd = "/home/app/work".into();
    input.cap_add = vec!["NET_ADMIN".into()];
    input.cap_drop = vec!["CAP_NET_RAW".into(), "chown".into()];
    c.write(&input);
    let (code, out, err) = c.run(Duration::from_secs(30));
    assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
    assert!(out.contains("uid=1000(app) gid=1000(app)"), "{out}");
    assert!(out.contains("10(wheel)"), "{out}");
    assert!(out.contains("/home/app/work"), "{out}");
    assert!(out.contains("wrote"), "{out}");
    let expected = tweak_capabilities(
        &["NET_ADMIN".into()],
        &["CAP_NET_RAW".into(), "chown".into()],
        false,
        c.host.available_caps(),
    )
    .unwrap();
    let mask = capability_mask(&expected);
    assert_eq!(status_mask(&out, "CapBnd:"), mask, "{out}");
    assert_eq!(
        status_mask(&out, "CapEff:"),
        0,
        "non-root has no effective caps"
    );
    assert_eq!(mask & (1 << 13), 0, "NET_RAW dropped");
    assert_ne!(mask & (1 << 12), 0, "NET_ADMIN added");
    c.cleanup();
    c.assert_gone();

    // Root gets the same set as effective.
    let c = TestContainer::new("rootcaps");
    let mut input = c.input(&["grep", "Cap", "/proc/self/status"]);
    input.cap_drop = vec!["NET_RAW".into()];
    c.write(&input);
    let (code, out, _) = c.run(Duration::from_secs(30));
    assert_eq!(code, 0, "{out}");
    let expected =
        tweak_capabilities(&[], &["NET_RAW".into()], false, c.host.available_caps()).unwrap();
    assert_eq!(
        status_mask(&out, "CapEff:"),
        capability_mask(&expected),
        "{out}"
    );
    assert_eq!(
        status_mask(&out, "CapBnd:"),
        capability_mask(&expected),
        "{out}"
    );
}

#[test]
fn freezer_stats_procs_and_update() {
    if !can_run() {
        return;
    }
    let c = TestContainer::new("live");
    let mut input = c.input(&["sleep", "300"]);
    input.resources = Resources {
        memory: 64 << 20,
        pids_limit: Some(50),
        ..Default::default()
    };
    let g = c.write(&input);
    c.run_detached();
    c.wait_status("running", Duration::from_secs(10));
    let pid = c.rt.state(&c.id).unwrap().pid;
    assert!(pid > 0);
    assert_eq!(cgroup::procs(&c.paths).unwrap(), vec![pid]);
    assert_eq!(c.rt.ps(&c.id).unwrap(), vec![pid]);

    let stats = cgroup::read_stats(&c.paths).unwrap();
    assert_eq!(stats.memory_stats.limit, 64 << 20);
    assert_eq!(stats.pids_stats.current, 1);
    assert_eq!(stats.pids_stats.limit, Some(50));
    assert!(stats.cpu_stats.system_cpu_usage > 0);
    assert!(stats.memory_stats.usage > 0);

    cgroup::freeze(&c.paths, Duration::from_secs(5)).unwrap();
    assert_eq!(
        cgroup::freezer_state(&c.paths).unwrap(),
        FreezerState::Frozen
    );
    cgroup::thaw(&c.paths).unwrap();
    assert_eq!(
        cgroup::freezer_state(&c.paths).unwrap(),
        FreezerState::Thawed
    );

    c.rt.pause(&c.id).unwrap();
    assert_eq!(c.rt.state(&c.id).unwrap().status, "paused");
    assert_eq!(
        cgroup::freezer_state(&c.paths).unwrap(),
        FreezerState::Frozen
    );
    c.rt.resume(&c.id).unwrap();
    assert_eq!(c.rt.state(&c.id).unwrap().status, "running");

    let plan = cgroup::plan_update(
        &g.resources,
        &ResourceUpdate {
            memory: Some(128 << 20),
            memory_swap: Some(-1),
            pids_limit: Some(100),
            ..Default::default()
        },
        &c.host,
    )
    .unwrap();
    c.rt.update(&c.id, &plan.linux).unwrap();
    let stats = cgroup::read_stats(&c.paths).unwrap();
    assert_eq!(stats.memory_stats.limit, 128 << 20);
    assert_eq!(stats.pids_stats.limit, Some(100));

    // Removing a cgroup with a live process times out; after the kill it
    // goes.
    assert!(cgroup::remove(&c.paths, Duration::from_millis(50)).is_err());
    c.rt.kill(&c.id, "KILL", false).unwrap();
    c.wait_status("stopped", Duration::from_secs(10));
    c.cleanup();
    c.assert_gone();
}

#[test]
fn default_seccomp_profile_blocks_user_namespaces() {
    if !can_run() {
        return;
    }
    let script = "unshare -U true 2>&1; echo rc=$?";
    let c = TestContainer::new("seccomp");
    c.write(&c.input(&["sh", "-c", script]));
    let (code, out, err) = c.run(Duration::from_secs(30));
    assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
    assert!(
        out.contains("Operation not permitted") && !out.contains("rc=0"),
        "{out}"
    );
    c.cleanup();
    c.assert_gone();

    let c = TestContainer::new("unconfined");
    let mut input = c.input(&["sh", "-c", script]);
    input.seccomp = berth_runtime::spec::Seccomp::Unconfined;
    c.write(&input);
    let (code, out, err) = c.run(Duration::from_secs(30));
    assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
    assert!(
        out.contains("rc=0"),
        "without the profile the kernel allows it: {out}"
    );
}

#[test]
fn privileged_container_has_everything() {
    if !can_run() {
        return;
    }
    let c = TestContainer::new("priv");
    let mut input = c.input(&["sh", "-c", "grep CapEff /proc/self/status; mount -t tmpfs none /tmp && echo mounted; touch /sys/fs/cgroup/x 2>&1; ls /dev/null"]);
    input.privileged = true;
    c.write(&input);
    let (code, out, err) = c.run(Duration::from_secs(30));
    assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
    assert!(out.contains("mounted"), "{out}");
    assert_eq!(
        status_mask(&out, "CapEff:"),
        c.host.available_caps(),
        "{out}"
    );
    c.cleanup();
    c.assert_gone();
}

#[test]
fn ulimits_are_capped_at_the_host_limit() {
    if !can_run() {
        return;
    }
    let c = TestContainer::new("ulimit");
    let mut input = c.input(&["sh", "-c", "ulimit -Sn; ulimit -Hn"]);
    input.ulimits = vec![berth_runtime::parse::parse_ulimit("nofile=1024:4294967296").unwrap()];
    let g = c.write(&input);
    let max = c.host.rlimit_max["nofile"];
    assert_eq!(
        g.warnings.len(),
        usize::from(max < 4294967296),
        "{:?}",
        g.warnings
    );
    let (code, out, err) = c.run(Duration::from_secs(30));
    assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        vec!["1024".to_string(), max.min(4294967296).to_string()],
        "{out}"
    );
    c.cleanup();
    c.assert_gone();
}
