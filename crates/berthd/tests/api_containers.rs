//! Containers over the raw API: run, exit codes, logs, create validation,
//! lifecycle (stop, start, restart, kill, pause, rm), wait conditions,
//! restart policies, OOM, options that reach the OCI spec, and daemon
//! restarts with running containers.

use std::time::{Duration, Instant};

use berth_testkit::TestDaemon;
use serde_json::json;

fn daemon() -> TestDaemon {
    let d = TestDaemon::start();
    d.import_busybox();
    d
}

/// A container that exits promptly on SIGTERM (PID 1 ignores signals it
/// has no handler for).
const TRAPPING: &[&str] = &["sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait"];

#[test]
fn run_prints_and_exit_codes_propagate() {
    let d = daemon();
    let (code, out, err) = d.run_cmd(&["sh", "-c", "echo hi; echo oops >&2"]);
    assert_eq!((code, out.as_str(), err.as_str()), (0, "hi\n", "oops\n"));
    let (code, _, _) = d.run_cmd(&["sh", "-c", "exit 3"]);
    assert_eq!(code, 3);
    // A command killed by a signal reports 128 + the signal.
    let (code, _, _) = d.run_cmd(&["sh", "-c", "sh -c 'kill -9 $$'; exit $?"]);
    assert_eq!(code, 137);
}

#[test]
fn bad_create_requests_are_4xx_and_create_nothing() {
    let d = daemon();
    d.create(Some("taken"), &json!({"Image": "busybox", "Cmd": ["true"]}));
    let noimage = d.import(&berth_testkit::busybox::tar_of(&[("f", b"x")]), "nocmd:1");
    assert!(!noimage.is_empty());
    let cases = vec![
        (
            "unknown image",
            "/containers/create",
            json!({"Image": "nope", "Cmd": ["true"]}),
            404,
            "No such image: nope:latest",
        ),
        (
            "name clash",
            "/containers/create?name=taken",
            json!({"Image": "busybox", "Cmd": ["true"]}),
            409,
            "is already in use by container",
        ),
        (
            "bad name",
            "/containers/create?name=-bad",
            json!({"Image": "busybox", "Cmd": ["true"]}),
            400,
            "Invalid container name",
        ),
        (
            "tiny memory",
            "/containers/create",
            json!({"Image": "busybox", "HostConfig": {"Memory": 1000}}),
            400,
            "Minimum memory limit",
        ),
        (
            "swap < memory",
            "/containers/create",
            json!({"Image": "busybox", "HostConfig": {"Memory": 20000000, "MemorySwap": 10000000}}),
            400,
            "memoryswap",
        ),
        (
            "bad restart",
            "/containers/create",
            json!({"Image": "busybox", "HostConfig": {"RestartPolicy": {"Name": "sometimes"}}}),
            400,
            "invalid restart policy",
        ),
        (
            "rm + restart",
            "/containers/create",
            json!({"Image": "busybox", "HostConfig": {"AutoRemove": true, "RestartPolicy": {"Name": "always"}}}),
            400,
            "AutoRemove",
        ),
        (
            "missing bind",
            "/containers/create",
            json!({"Image": "busybox", "HostConfig": {"Mounts": [{"Type": "bind", "Source": "/nonexistent/berth", "Target": "/x"}]}}),
            400,
            "bind source path does not exist",
        ),
        (
            "relative workdir",
            "/containers/create",
            json!({"Image": "busybox", "WorkingDir": "rel"}),
            400,
            "absolute path",
        ),
        (
            "no command",
            "/containers/create",
            json!({"Image": "nocmd:1"}),
            400,
            "No command specified",
        ),
        (
            "bad cap",
            "/containers/create",
            json!({"Image": "busybox", "HostConfig": {"CapAdd": ["CAP_FOO"]}}),
            400,
            "CAP_FOO",
        ),
        (
            "bad network",
            "/containers/create",
            json!({"Image": "busybox", "HostConfig": {"NetworkMode": "nonet"}}),
            404,
            "network nonet not found",
        ),
        (
            "bad log opt",
            "/containers/create",
            json!({"Image": "busybox", "HostConfig": {"LogConfig": {"Type": "json-file", "Config": {"max-size": "lots"}}}}),
            400,
            "max-size",
        ),
        (
            "too many cpus",
            "/containers/create",
            json!({"Image": "busybox", "HostConfig": {"NanoCpus": 1_000_000_000_000i64}}),
            400,
            "Range of CPUs",
        ),
    ];
    for (what, path, body, status, msg) in cases {
        let r = d.post_json(path, &body);
        assert_eq!(r.status, status, "{what}: {}", r.text());
        assert!(r.message().contains(msg), "{what}: {}", r.message());
    }
    let r = d.request_with(
        "POST",
        "/containers/create",
        &[("Content-Type", "application/json")],
        b"{not json",
    );
    assert_eq!(r.status, 400);
    let list = d.get("/containers/json?all=1").json();
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
}

#[test]
fn lifecycle_stop_start_restart_kill_rm() {
    let d = daemon();
    let id = d.create(Some("web"), &json!({"Image": "busybox", "Cmd": TRAPPING}));
    d.start_container("web");
    let ps = d.get("/containers/json").json();
    assert_eq!(ps.as_array().unwrap().len(), 1);
    assert_eq!(ps[0]["Names"][0], "/web");
    assert_eq!(ps[0]["State"], "running");
    assert!(ps[0]["Status"].as_str().unwrap().starts_with("Up"));
    let st = d.inspect("web")["State"].clone();
    assert_eq!(st["Running"], true);
    assert!(st["Pid"].as_i64().unwrap() > 0);
    // Start again: 304.
    assert_eq!(d.post("/containers/web/start", b"").status, 304);

    let t = Instant::now();
    assert_eq!(d.post("/containers/web/stop?t=5", b"").status, 204);
    assert!(
        t.elapsed() < Duration::from_secs(4),
        "stop took {:?}",
        t.elapsed()
    );
    assert_eq!(d.inspect(&id)["State"]["Status"], "exited");
    assert_eq!(d.post("/containers/web/stop", b"").status, 304);
    assert_eq!(
        d.get("/containers/json").json().as_array().unwrap().len(),
        0
    );
    assert_eq!(
        d.get("/containers/json?all=1")
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );

    d.start_container("web");
    assert_eq!(d.post("/containers/web/restart?t=1", b"").status, 204);
    assert_eq!(d.inspect("web")["State"]["Running"], true);

    // A stubborn process: stop escalates to SIGKILL after the timeout.
    let stub = d.create(None, &json!({"Image": "busybox", "Cmd": ["sleep", "1000"]}));
    d.start_container(&stub);
    let t = Instant::now();
    assert_eq!(
        d.post(&format!("/containers/{stub}/stop?t=1"), b"").status,
        204
    );
    assert!(t.elapsed() < Duration::from_secs(5));
    assert_eq!(d.inspect(&stub)["State"]["ExitCode"], 137);

    assert_eq!(
        d.post("/containers/web/kill?signal=SIGBOGUS", b"").status,
        400
    );
    assert_eq!(d.post("/containers/web/kill", b"").status, 204);
    assert_eq!(d.inspect("web")["State"]["ExitCode"], 137);
    assert_eq!(d.post("/containers/web/kill", b"").status, 409);

    d.start_container("web");
    let r = d.delete("/containers/web");
    assert_eq!(r.status, 409, "{}", r.text());
    assert!(
        r.message()
            .contains("stop the container before removing or force remove")
    );
    assert_eq!(d.delete("/containers/web?force=1").status, 204);
    assert_eq!(d.get("/containers/web/json").status, 404);
    assert_eq!(
        d.get("/containers/web/json").message(),
        "No such container: web"
    );
}

#[test]
fn wait_conditions_and_auto_remove() {
    let d = daemon();
    let id = d.create(None, &json!({"Image": "busybox", "Cmd": ["sh", "-c", "sleep 0.3; exit 7"], "HostConfig": {"AutoRemove": true}}));
    // Registered before the start, as the docker CLI does.
    let socket = d.socket.clone();
    let path = format!("/containers/{id}/wait?condition=removed");
    let waiter = std::thread::spawn(move || {
        berth_testkit::http::request(&socket, "POST", &path, &[], b"").unwrap()
    });
    std::thread::sleep(Duration::from_millis(100));
    d.start_container(&id);
    let r = waiter.join().unwrap();
    assert_eq!(r.json()["StatusCode"], 7);
    assert_eq!(
        d.get(&format!("/containers/{id}/json")).status,
        404,
        "auto-removed"
    );

    let id = d.create_cmd(None, &["sh", "-c", "exit 4"]);
    // not-running on a created container answers at once.
    assert_eq!(
        d.post(&format!("/containers/{id}/wait"), b"").json()["StatusCode"],
        0
    );
    let socket = d.socket.clone();
    let path = format!("/containers/{id}/wait?condition=next-exit");
    let waiter = std::thread::spawn(move || {
        berth_testkit::http::request(&socket, "POST", &path, &[], b"").unwrap()
    });
    std::thread::sleep(Duration::from_millis(100));
    d.start_container(&id);
    assert_eq!(waiter.join().unwrap().json()["StatusCode"], 4);
    assert_eq!(
        d.post(&format!("/containers/{id}/wait?condition=bogus"), b"")
            .status,
        400
    );
}

#[test]
fn restart_policy_on_failure_and_oom() {
    let d = daemon();
    let id = d.create(None, &json!({"Image": "busybox", "Cmd": ["sh", "-c", "exit 1"], "HostConfig": {"RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 3}}}));
    d.start_container(&id);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let st = d.inspect(&id);
        if st["RestartCount"] == 3 && st["State"]["Status"] == "exited" {
            break;
        }
        assert!(Instant::now() < deadline, "restarts: {st}");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(d.inspect(&id)["RestartCount"], 3);

    let hog = json!({"Image": "busybox", "Cmd": ["sh", "-c", "x=a; while true; do x=$x$x; done"], "HostConfig": {"Memory": 20 * 1024 * 1024}});
    let id = d.create(None, &hog);
    d.start_container(&id);
    assert_eq!(d.wait(&id), 137);
    assert_eq!(d.inspect(&id)["State"]["OOMKilled"], true);
}

#[test]
fn spec_options_reach_the_container() {
    let d = daemon();
    let host_dir = d.dir.path().join("shared");
    std::fs::create_dir_all(&host_dir).unwrap();
    std::fs::write(host_dir.join("in.txt"), "from host").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&host_dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let body = json!({
        "Image": "busybox",
        "Hostname": "myhost",
        "User": "www-data",
        "WorkingDir": "/work/dir",
        "Env": ["FOO=bar"],
        "Cmd": ["sh", "-c", "hostname; id -u; pwd; echo $FOO; cat /data/in.txt; echo; touch /data/out.txt; grep CapEff /proc/self/status; touch /ro-test 2>&1 || echo ro; df /scratch | tail -1 | awk '{print $1}'; ip -o link | wc -l"],
        "HostConfig": {
            "Binds": [format!("{}:/data", host_dir.display())],
            "ReadonlyRootfs": true,
            "Tmpfs": {"/scratch": "size=1m"},
            "CapDrop": ["ALL"],
            "PidsLimit": 50,
            "NanoCpus": 500_000_000,
            "NetworkMode": "none"
        }
    });
    let (code, out, err) = d.run_with(&body);
    assert_eq!(code, 0, "{out}\n{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "myhost");
    assert_eq!(lines[1], "33");
    assert_eq!(lines[2], "/work/dir");
    assert_eq!(lines[3], "bar");
    assert_eq!(lines[4], "from host");
    assert!(lines[5].ends_with("0000000000000000"), "{}", lines[5]);
    assert!(out.contains("ro\n") || out.contains("Read-only"), "{out}");
    assert!(out.contains("tmpfs"), "{out}");
    assert_eq!(
        lines.last().unwrap().trim(),
        "1",
        "only lo with --network none: {out}"
    );
    assert!(host_dir.join("out.txt").exists());

    // Host networking sees the host's interfaces (the default route's one
    // is stable while other tests add and remove links).
    let route = std::fs::read_to_string("/proc/net/route").unwrap();
    let default_if = route
        .lines()
        .skip(1)
        .find(|l| l.split_whitespace().nth(1) == Some("00000000"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or("lo")
        .to_string();
    let (_, out, _) = d.run_with(&json!({"Image": "busybox", "Cmd": ["ls", "/sys/class/net"], "HostConfig": {"NetworkMode": "host"}}));
    assert!(
        out.split_whitespace().any(|n| n == default_if),
        "{default_if} not in {out}"
    );
    // A user that is not in /etc/passwd fails the start with a clear error.
    let id = d.create(
        None,
        &json!({"Image": "busybox", "User": "nobody-here", "Cmd": ["true"]}),
    );
    let r = d.post(&format!("/containers/{id}/start"), b"");
    assert!(r.status >= 400, "{}", r.text());
    assert!(r.message().contains("nobody-here"), "{}", r.message());
    // A missing command: 127-style failure with the runtime's reason.
    let id = d.create(
        None,
        &json!({"Image": "busybox", "Cmd": ["/no/such/binary"]}),
    );
    let r = d.post(&format!("/containers/{id}/start"), b"");
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(d.inspect(&id)["State"]["ExitCode"], 127);
}

#[test]
fn logs_options() {
    let d = daemon();
    let id = d.create_cmd(
        None,
        &[
            "sh",
            "-c",
            "for i in 1 2 3 4 5; do echo out$i; done; echo err >&2",
        ],
    );
    d.start_container(&id);
    d.wait(&id);
    let r = d.get(&format!("/containers/{id}/logs?stdout=1&tail=2"));
    let (out, err) = berth_testkit::containers::demux(&r.body);
    assert_eq!(out, "out5\n");
    assert_eq!(err, "");
    let r = d.get(&format!("/containers/{id}/logs?stderr=1&timestamps=1"));
    let (_, err) = berth_testkit::containers::demux(&r.body);
    assert!(err.ends_with("Z err\n"), "{err}");
    assert_eq!(d.get(&format!("/containers/{id}/logs")).status, 400);
    let future = 4_000_000_000u64;
    let r = d.get(&format!("/containers/{id}/logs?stdout=1&since={future}"));
    assert!(r.body.is_empty());
    // Follow ends when the container stops.
    let id = d.create_cmd(None, &["sh", "-c", "echo a; sleep 0.5; echo b"]);
    d.start_container(&id);
    let r = d.get(&format!("/containers/{id}/logs?stdout=1&follow=1"));
    assert_eq!(berth_testkit::containers::demux(&r.body).0, "a\nb\n");
}

#[test]
fn rename_pause_update_prune_changes_export_top() {
    let d = daemon();
    let id = d.create(
        Some("one"),
        &json!({"Image": "busybox", "Cmd": TRAPPING, "Labels": {"app": "x"}}),
    );
    assert_eq!(d.post("/containers/one/rename?name=two", b"").status, 204);
    assert_eq!(d.inspect(&id)["Name"], "/two");
    assert_eq!(d.post("/containers/two/rename?name=-bad", b"").status, 400);
    d.start_container("two");
    let top = d.get("/containers/two/top").json();
    assert!(top["Titles"].as_array().unwrap().iter().any(|t| t == "PID"));
    assert!(!top["Processes"].as_array().unwrap().is_empty());
    assert_eq!(d.post("/containers/two/pause", b"").status, 204);
    assert_eq!(d.inspect(&id)["State"]["Status"], "paused");
    assert_eq!(d.post("/containers/two/pause", b"").status, 409);
    assert_eq!(d.post("/containers/two/unpause", b"").status, 204);
    assert_eq!(d.inspect(&id)["State"]["Status"], "running");
    let r = d.post_json(
        "/containers/two/update",
        &json!({"Memory": 64 * 1024 * 1024, "RestartPolicy": {"Name": "unless-stopped"}}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let hc = d.inspect(&id)["HostConfig"].clone();
    assert_eq!(hc["Memory"], 64 * 1024 * 1024);
    assert_eq!(hc["RestartPolicy"]["Name"], "unless-stopped");
    let filters = "%7B%22label%22%3A%5B%22app%3Dx%22%5D%7D";
    assert_eq!(
        d.get(&format!("/containers/json?filters={filters}"))
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // Image removal is refused while a container uses the image.
    let r = d.delete("/images/busybox");
    assert_eq!(r.status, 409, "{}", r.text());
    d.post("/containers/two/kill", b"");

    let id2 = d.create_cmd(
        Some("changer"),
        &["sh", "-c", "echo hi > /etc/newfile; rm /bin/ls"],
    );
    d.start_container(&id2);
    d.wait(&id2);
    let changes = d.get("/containers/changer/changes").json();
    let pairs: Vec<(String, i64)> = changes
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["Path"].as_str().unwrap().to_string(),
                c["Kind"].as_i64().unwrap(),
            )
        })
        .collect();
    assert!(
        pairs.contains(&("/etc/newfile".to_string(), 1)),
        "{pairs:?}"
    );
    assert!(pairs.contains(&("/bin/ls".to_string(), 2)), "{pairs:?}");
    let export = d.get("/containers/changer/export");
    assert_eq!(export.status, 200);
    let mut a = tar::Archive::new(&export.body[..]);
    let names: Vec<String> = a
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect();
    assert!(names.iter().any(|n| n == "etc/newfile"), "{}", names.len());
    assert!(!names.iter().any(|n| n == "bin/ls"));

    let r = d.post("/containers/prune", b"").json();
    assert_eq!(r["ContainersDeleted"].as_array().unwrap().len(), 2, "{r}");
    assert_eq!(
        d.get("/containers/json?all=1")
            .json()
            .as_array()
            .unwrap()
            .len(),
        0
    );
}

#[test]
fn running_containers_survive_daemon_restarts() {
    let mut d = daemon();
    let id = d.create(
        Some("keeper"),
        &json!({"Image": "busybox", "Cmd": TRAPPING}),
    );
    d.start_container(&id);
    let pid = d.inspect(&id)["State"]["Pid"].as_i64().unwrap();
    d.kill9();
    assert!(
        std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "container died with the daemon"
    );
    d.restart();
    assert_eq!(d.inspect(&id)["State"]["Status"], "running");
    assert_eq!(d.inspect(&id)["State"]["Pid"], pid);
    // The reconnected container can still be stopped and waited for.
    assert_eq!(d.post("/containers/keeper/stop?t=5", b"").status, 204);
    assert_eq!(d.inspect(&id)["State"]["Status"], "exited");
    // A container that exits while the daemon is down is seen as exited.
    let id2 = d.create_cmd(None, &["sh", "-c", "sleep 1; exit 5"]);
    d.start_container(&id2);
    d.kill9();
    std::thread::sleep(Duration::from_millis(1500));
    d.restart();
    assert_eq!(d.inspect(&id2)["State"]["ExitCode"], 5);
    // A clean stop without live-restore stops containers; `always` ones
    // come back with the daemon.
    let id3 = d.create(None, &json!({"Image": "busybox", "Cmd": TRAPPING, "HostConfig": {"RestartPolicy": {"Name": "always"}}}));
    d.start_container(&id3);
    d.stop();
    d.restart();
    assert_eq!(d.inspect(&id3)["State"]["Status"], "running");
}
