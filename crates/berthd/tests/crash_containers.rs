//! Killing berthd (SIGKILL) at random moments during parallel create,
//! start, stop and remove: after a restart every container is whole or
//! absent, running ones still run and are reattached, and nothing leaks
//! (mounts, network namespaces, shims, run directories, cgroups).

use std::collections::HashSet;
use std::time::Duration;

use berth_testkit::TestDaemon;
use berth_testkit::http::request;
use serde_json::json;

const TRAPPING: &[&str] = &["sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait"];

/// Entries of `dir`, without removed containers' directories that a
/// background thread is still deleting (`.removing-<id>`).
fn names_in(dir: &std::path::Path) -> HashSet<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| !n.starts_with(".removing-"))
                .collect()
        })
        .unwrap_or_default()
}

fn mounts_under(path: &std::path::Path) -> usize {
    let prefix = path.display().to_string();
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter(|l| {
            l.split_whitespace()
                .nth(4)
                .is_some_and(|m| m.starts_with(&prefix))
        })
        .count()
}

fn shims_of(d: &TestDaemon) -> usize {
    let needle = d.exec_root.display().to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .chars()
                .all(|c| c.is_ascii_digit())
        })
        .filter(|e| {
            let cmd = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
            let cmd = String::from_utf8_lossy(&cmd);
            cmd.contains("berth-shim") && cmd.contains(&needle)
        })
        .count()
}

fn check_consistent(d: &TestDaemon) -> Vec<String> {
    let list = d.get("/containers/json?all=1").json();
    let list = list.as_array().unwrap();
    let ids: HashSet<String> = list
        .iter()
        .map(|c| c["Id"].as_str().unwrap().to_string())
        .collect();
    let mut running = HashSet::new();
    for id in &ids {
        let c = d.inspect(id);
        let st = &c["State"];
        let status = st["Status"].as_str().unwrap();
        assert!(
            ["created", "running", "exited", "restarting"].contains(&status),
            "{id}: {status}\n{}",
            d.log_text()
        );
        if status == "running" {
            let pid = st["Pid"].as_i64().unwrap();
            assert!(
                std::path::Path::new(&format!("/proc/{pid}")).exists(),
                "{id}: running but pid {pid} is gone"
            );
            running.insert(id.clone());
        }
    }
    // Whole or absent: directories, records and layers agree.
    let dirs = names_in(&d.root.join("containers"));
    assert_eq!(dirs, ids, "container directories vs containers");
    let driver = d.get("/info").json()["Driver"]
        .as_str()
        .unwrap()
        .to_string();
    let rw = names_in(&d.root.join("image").join(&driver).join("layerdb/mounts"));
    assert_eq!(rw, ids, "read-write layers vs containers");
    // Held resources belong to running containers only.
    let netns = names_in(&d.exec_root.join("netns"));
    assert_eq!(netns, running, "network namespaces vs running containers");
    let run_dirs = names_in(&d.exec_root.join("c"));
    assert_eq!(
        run_dirs.len(),
        running.len(),
        "run directories vs running containers: {run_dirs:?}"
    );
    // A shim outlives its container's reported exit by the runtime's
    // `delete` (a few ms): wait for those to leave.
    berth_testkit::eventually(Duration::from_secs(5), || shims_of(d) == running.len());
    assert_eq!(shims_of(d), running.len(), "shims vs running containers");
    let overlay_mounts = mounts_under(&d.root.join(&driver));
    if driver == "overlay2" {
        assert_eq!(
            overlay_mounts,
            running.len(),
            "rootfs mounts vs running containers"
        );
    }
    ids.into_iter().collect()
}

#[test]
fn kill9_during_parallel_lifecycle_operations() {
    let mut d = TestDaemon::start();
    d.import_busybox();
    let mut created: HashSet<String> = HashSet::new();
    for round in 0..6u64 {
        let mut workers = Vec::new();
        for w in 0..4u64 {
            let socket = d.socket.clone();
            workers.push(std::thread::spawn(move || {
                for i in 0..6 {
                    let name = format!("c{round}-{w}-{i}");
                    let body = json!({"Image": "busybox", "Cmd": TRAPPING}).to_string();
                    let hdr = [("Content-Type", "application/json")];
                    let Ok(r) = request(
                        &socket,
                        "POST",
                        &format!("/containers/create?name={name}"),
                        &hdr,
                        body.as_bytes(),
                    ) else {
                        return;
                    };
                    if r.status != 201 {
                        return;
                    }
                    if request(
                        &socket,
                        "POST",
                        &format!("/containers/{name}/start"),
                        &[],
                        b"",
                    )
                    .is_err()
                    {
                        return;
                    }
                    match (w + i) % 3 {
                        0 => {
                            let _ = request(
                                &socket,
                                "POST",
                                &format!("/containers/{name}/stop?t=2"),
                                &[],
                                b"",
                            );
                        }
                        1 => {
                            let _ = request(
                                &socket,
                                "DELETE",
                                &format!("/containers/{name}?force=1"),
                                &[],
                                b"",
                            );
                        }
                        _ => {}
                    }
                }
            }));
        }
        std::thread::sleep(Duration::from_millis(60 + (round * 97) % 400));
        d.kill9();
        for w in workers {
            let _ = w.join();
        }
        d.restart();
        created.extend(check_consistent(&d));
    }
    // Everything can still be removed, and then nothing is left.
    for id in check_consistent(&d) {
        let r = d.delete(&format!("/containers/{id}?force=1"));
        assert_eq!(r.status, 204, "{}", r.text());
    }
    check_consistent(&d);
    // No container cgroup is left behind (the runtime's `delete` removes
    // them, once the shim gets to run it).
    let leftover = || -> Vec<String> {
        let mut out = Vec::new();
        for ctl in std::fs::read_dir("/sys/fs/cgroup")
            .into_iter()
            .flatten()
            .flatten()
        {
            for dir in [
                ctl.path().join("berth"),
                std::path::PathBuf::from("/sys/fs/cgroup/berth"),
            ] {
                for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                    let name = e.file_name().to_string_lossy().into_owned();
                    if created.contains(&name) {
                        out.push(e.path().display().to_string());
                    }
                }
            }
        }
        out
    };
    berth_testkit::eventually(Duration::from_secs(5), || leftover().is_empty());
    assert_eq!(leftover(), Vec::<String>::new(), "cgroups left behind");
    d.stop();
    assert_eq!(
        mounts_under(d.dir.path()),
        0,
        "mounts left after a clean stop"
    );
    assert_eq!(shims_of(&d), 0);
}
