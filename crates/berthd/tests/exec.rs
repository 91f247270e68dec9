//! Exec over the raw API (create, upgraded start with frames or a TTY,
//! stdin half-close, detached start, resize, inspect, errors, events,
//! `ExecIDs`) and through the real docker CLI.

use std::time::{Duration, Instant};

use berth_testkit::containers::demux;
use berth_testkit::{TestDaemon, upgrade};
use serde_json::{Value, json};

const TRAPPING: &[&str] = &["sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait"];

fn daemon() -> TestDaemon {
    let d = TestDaemon::start();
    d.import_busybox();
    d
}

/// A running container named `name` with env `A=1` and workdir `/srv`.
fn web(d: &TestDaemon, name: &str) -> String {
    let id = d.create(
        Some(name),
        &json!({"Image": "busybox", "Cmd": TRAPPING, "Env": ["A=1"], "WorkingDir": "/srv"}),
    );
    d.start_container(&id);
    id
}

fn exec_create(d: &TestDaemon, container: &str, body: &Value) -> String {
    let r = d.post_json(&format!("/containers/{container}/exec"), body);
    assert_eq!(r.status, 201, "exec create: {}", r.text());
    r.json()["Id"].as_str().unwrap_or_default().to_string()
}

/// Starts an exec over an upgraded connection.
fn exec_attach(d: &TestDaemon, id: &str, tty: bool) -> upgrade::Upgraded {
    let body = json!({"Detach": false, "Tty": tty}).to_string();
    let u = upgrade::request(
        &d.socket,
        "POST",
        &format!("/v1.47/exec/{id}/start"),
        body.as_bytes(),
    )
    .unwrap();
    assert_eq!(u.status, 101);
    u
}

/// Runs `cmd` in `container` to its end: (exit code, stdout, stderr).
fn exec_run(d: &TestDaemon, container: &str, body: Value) -> (i64, String, String) {
    let mut body = body;
    body["AttachStdout"] = json!(true);
    body["AttachStderr"] = json!(true);
    let id = exec_create(d, container, &body);
    let mut u = exec_attach(d, &id, false);
    assert_eq!(
        u.header("Content-Type"),
        Some("application/vnd.docker.multiplexed-stream")
    );
    let raw = u.read_to_end(Duration::from_secs(30)).unwrap();
    let (out, err) = demux(&raw);
    let i = d.get(&format!("/exec/{id}/json")).json();
    assert_eq!(i["Running"], false, "{i}");
    (i["ExitCode"].as_i64().unwrap_or(-999), out, err)
}

#[test]
fn exec_output_exit_codes_env_user_workdir() {
    let d = daemon();
    let cid = web(&d, "web");
    let (code, out, err) = exec_run(
        &d,
        "web",
        json!({"Cmd": ["sh", "-c", "echo out; echo err >&2; exit 3"]}),
    );
    assert_eq!((code, out.as_str(), err.as_str()), (3, "out\n", "err\n"));

    // Inherits the container's env and workdir; -e, -u, -w override.
    let (code, out, _) = exec_run(
        &d,
        "web",
        json!({"Cmd": ["sh", "-c", "echo $A $B; pwd; id -u"]}),
    );
    assert_eq!((code, out.as_str()), (0, "1\n/srv\n0\n"));
    let (code, out, _) = exec_run(
        &d,
        "web",
        json!({"Cmd": ["sh", "-c", "echo $A $B; pwd; id -u; id -g"], "Env": ["B=2", "A=9"],
               "User": "daemon", "WorkingDir": "/tmp"}),
    );
    assert_eq!((code, out.as_str()), (0, "9 2\n/tmp\n1\n1\n"));
    let (_, out, _) = exec_run(&d, "web", json!({"Cmd": ["id"], "User": "33:10"}));
    assert!(out.contains("uid=33") && out.contains("gid=10"), "{out}");

    // Capabilities: the container's, all of them with Privileged, none for
    // a non-root user.
    let caps = |body: Value| {
        let (_, out, _) = exec_run(&d, "web", body);
        let line = out
            .lines()
            .find(|l| l.starts_with("CapEff:"))
            .unwrap_or_default()
            .to_string();
        u64::from_str_radix(line.trim_start_matches("CapEff:").trim(), 16).unwrap_or(u64::MAX)
    };
    let plain = caps(json!({"Cmd": ["cat", "/proc/self/status"]}));
    let privileged = caps(json!({"Cmd": ["cat", "/proc/self/status"], "Privileged": true}));
    let nobody = caps(json!({"Cmd": ["cat", "/proc/self/status"], "User": "nobody"}));
    assert_ne!(plain, 0);
    assert_eq!(plain & (1 << 21), 0, "CAP_SYS_ADMIN without --privileged");
    assert_ne!(privileged & (1 << 21), 0, "CAP_SYS_ADMIN with Privileged");
    assert_eq!(nobody, 0);

    // A missing command: the message in the stream, exit code 127.
    let (code, out, _) = exec_run(&d, "web", json!({"Cmd": ["nope"]}));
    assert_eq!(code, 127, "{out}");
    assert!(out.contains("executable file not found"), "{out}");

    // Inspect of a finished exec.
    let id = exec_create(&d, "web", &json!({"Cmd": ["true"], "AttachStdout": true}));
    let i = d.get(&format!("/exec/{id}/json")).json();
    assert_eq!(i["Running"], false);
    assert!(i["ExitCode"].is_null(), "{i}");
    assert_eq!(i["ContainerID"], cid.as_str());
    assert_eq!(i["ProcessConfig"]["entrypoint"], "true");
    assert_eq!(i["ProcessConfig"]["privileged"], false);
    assert_eq!(i["OpenStdout"], true);
    assert_eq!(i["OpenStdin"], false);
    // Listed in the container's ExecIDs until it ends.
    let ids = d.inspect("web")["ExecIDs"].clone();
    assert!(
        ids.as_array()
            .is_some_and(|a| a.iter().any(|x| x == id.as_str())),
        "{ids}"
    );
    let mut u = exec_attach(&d, &id, false);
    u.read_to_end(Duration::from_secs(30)).unwrap();
    let i = d.get(&format!("/exec/{id}/json")).json();
    assert_eq!(i["ExitCode"], 0);
    assert!(i["Pid"].as_i64().unwrap() > 0);
    assert!(d.inspect("web")["ExecIDs"].is_null());
    // A second start is refused.
    let r = d.post_json(&format!("/exec/{id}/start"), &json!({"Detach": true}));
    assert_eq!(r.status, 409);
    assert!(r.message().contains("has already run"), "{}", r.message());
}

#[test]
fn exec_stdin_half_close_tty_and_resize() {
    let d = daemon();
    web(&d, "web");
    let id = exec_create(
        &d,
        "web",
        &json!({"Cmd": ["sh", "-c", "cat; echo done"], "AttachStdin": true, "AttachStdout": true, "AttachStderr": true}),
    );
    let mut u = exec_attach(&d, &id, false);
    u.send(b"hello\n").unwrap();
    u.send(b"world\n").unwrap();
    u.close_write().unwrap();
    let raw = u.read_to_end(Duration::from_secs(30)).unwrap();
    assert_eq!(demux(&raw).0, "hello\nworld\ndone\n");
    assert_eq!(d.get(&format!("/exec/{id}/json")).json()["ExitCode"], 0);

    // A TTY: raw stream, a terminal of the requested size, resizable.
    let id = exec_create(
        &d,
        "web",
        &json!({"Cmd": ["sh"], "Tty": true, "AttachStdin": true, "AttachStdout": true,
                "AttachStderr": true, "ConsoleSize": [30, 100]}),
    );
    let mut u = exec_attach(&d, &id, true);
    assert_eq!(
        u.header("Content-Type"),
        Some("application/vnd.docker.raw-stream")
    );
    u.send(b"stty size; tty\n").unwrap();
    let got = u
        .read_until(Duration::from_secs(20), |b| {
            String::from_utf8_lossy(b).contains("/dev/pts/")
        })
        .unwrap();
    assert!(
        String::from_utf8_lossy(&got).contains("30 100"),
        "{}",
        String::from_utf8_lossy(&got)
    );
    assert_eq!(
        d.post(&format!("/exec/{id}/resize?h=40&w=132"), b"").status,
        200
    );
    u.send(b"stty size; exit 7\n").unwrap();
    let got = u.read_to_end(Duration::from_secs(20)).unwrap();
    assert!(
        String::from_utf8_lossy(&got).contains("40 132"),
        "{}",
        String::from_utf8_lossy(&got)
    );
    assert_eq!(d.get(&format!("/exec/{id}/json")).json()["ExitCode"], 7);
    let r = d.post("/exec/nope/resize?h=1&w=1", b"");
    assert_eq!(r.status, 404);

    // Detach keys (TTY only): the session ends, the process goes on.
    let id = exec_create(
        &d,
        "web",
        &json!({"Cmd": ["sh"], "Tty": true, "AttachStdin": true, "AttachStdout": true, "DetachKeys": "ctrl-x"}),
    );
    let mut u = exec_attach(&d, &id, true);
    u.send(b"echo before\n").unwrap();
    u.read_until(Duration::from_secs(20), |b| {
        String::from_utf8_lossy(b).contains("before\r\n")
    })
    .unwrap();
    u.send(&[0x18]).unwrap();
    u.read_to_end(Duration::from_secs(20)).unwrap();
    let i = d.get(&format!("/exec/{id}/json")).json();
    assert_eq!(i["Running"], true, "{i}");
    assert_eq!(i["DetachKeys"], "GA==");
}

#[test]
fn exec_detached_errors_and_events() {
    let d = daemon();
    let cid = web(&d, "web");
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        - 1.0;
    let id = exec_create(
        &d,
        "web",
        &json!({"Cmd": ["sh", "-c", "sleep 0.3; echo hi > /tmp/x; exit 4"]}),
    );
    let r = d.post_json(&format!("/exec/{id}/start"), &json!({"Detach": true}));
    assert_eq!(r.status, 200, "{}", r.text());
    let i = d.get(&format!("/exec/{id}/json")).json();
    assert_eq!(i["Running"], true, "{i}");
    assert_eq!(d.inspect("web")["ExecIDs"][0], id.as_str());
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let i = d.get(&format!("/exec/{id}/json")).json();
        if i["Running"] == false {
            assert_eq!(i["ExitCode"], 4);
            break;
        }
        assert!(Instant::now() < deadline, "exec never ended: {i}");
        std::thread::sleep(Duration::from_millis(50));
    }
    let (_, out, _) = exec_run(&d, "web", json!({"Cmd": ["cat", "/tmp/x"]}));
    assert_eq!(out, "hi\n");

    // Events: exec_create, exec_start with the command line, exec_die
    // with the exit code.
    let until = since + 60.0;
    let evs = d
        .get(&format!(
            "/events?since={since}&until={}&filters=%7B%22event%22%3A%5B%22exec_create%22%2C%22exec_start%22%2C%22exec_die%22%5D%7D",
            until.min(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_secs_f64()
            )
        ))
        .json_lines();
    let mine: Vec<&Value> = evs
        .iter()
        .filter(|e| e["Actor"]["Attributes"]["execID"] == id.as_str())
        .collect();
    let actions: Vec<&str> = mine
        .iter()
        .map(|e| e["Action"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        actions,
        [
            "exec_create: sh -c sleep 0.3; echo hi > /tmp/x; exit 4",
            "exec_start: sh -c sleep 0.3; echo hi > /tmp/x; exit 4",
            "exec_die"
        ],
        "{evs:?}"
    );
    assert_eq!(mine[2]["Actor"]["Attributes"]["exitCode"], "4");
    assert_eq!(mine[2]["Actor"]["Attributes"]["name"], "web");
    assert_eq!(mine[2]["id"], cid.as_str());

    // Errors, with Docker's classes and words.
    let r = d.post_json("/containers/web/exec", &json!({"Cmd": []}));
    assert_eq!(
        (r.status, r.message().as_str()),
        (400, "No exec command specified")
    );
    let r = d.post_json("/containers/nope/exec", &json!({"Cmd": ["ls"]}));
    assert_eq!(r.status, 404);
    let r = d.post_json(
        "/containers/web/exec",
        &json!({"Cmd": ["ls"], "User": "nosuchuser"}),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    let r = d.post_json(
        "/containers/web/exec",
        &json!({"Cmd": ["ls"], "WorkingDir": "rel"}),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    let r = d.post_json("/exec/nope/start", &json!({"Detach": true}));
    assert_eq!(
        (r.status, r.message().as_str()),
        (404, "No such exec instance: nope")
    );
    assert_eq!(d.get("/exec/nope/json").status, 404);

    let pending = exec_create(&d, "web", &json!({"Cmd": ["true"]}));
    assert_eq!(d.post("/containers/web/pause", b"").status, 204);
    let r = d.post_json("/containers/web/exec", &json!({"Cmd": ["ls"]}));
    assert_eq!(r.status, 409);
    assert_eq!(
        r.message(),
        "Container web is paused, unpause the container before exec"
    );
    let r = d.post_json(&format!("/exec/{pending}/start"), &json!({"Detach": true}));
    assert_eq!(r.status, 409, "{}", r.text());
    assert_eq!(d.post("/containers/web/unpause", b"").status, 204);
    assert_eq!(d.post("/containers/web/stop?t=5", b"").status, 204);
    let r = d.post_json("/containers/web/exec", &json!({"Cmd": ["ls"]}));
    assert_eq!(r.status, 409);
    assert_eq!(r.message(), format!("container {cid} is not running"));
    // Execs of a removed container go with it.
    assert_eq!(d.get(&format!("/exec/{id}/json")).status, 200);
    assert_eq!(d.delete("/containers/web").status, 204);
    assert_eq!(d.get(&format!("/exec/{id}/json")).status, 404);
}

fn ok(out: &std::process::Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "docker {what} failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn docker_cli_exec() {
    let d = daemon();
    let Some(out) = d.docker(&["run", "-d", "--name", "web", "busybox", "sleep", "1000"]) else {
        return;
    };
    ok(&out, "run -d");
    let ls = ok(&d.docker(&["exec", "web", "ls", "/"]).unwrap(), "exec ls");
    assert!(ls.lines().any(|l| l == "bin") && ls.contains("etc"), "{ls}");
    let out = d.docker(&["exec", "web", "sh", "-c", "exit 5"]).unwrap();
    assert_eq!(out.status.code(), Some(5));
    let out = d.docker(&["exec", "web", "nope"]).unwrap();
    assert_eq!(out.status.code(), Some(127));
    let out = d
        .docker_stdin(
            &["exec", "-i", "web", "sh", "-c", "tr a-z A-Z"],
            Some(b"shout\n"),
        )
        .unwrap();
    assert_eq!(ok(&out, "exec -i"), "SHOUT\n");
    let out = d
        .docker(&[
            "exec",
            "-e",
            "X=1",
            "-u",
            "nobody",
            "-w",
            "/tmp",
            "web",
            "sh",
            "-c",
            "echo $X; id -un; pwd",
        ])
        .unwrap();
    assert_eq!(ok(&out, "exec -e -u -w"), "1\nnobody\n/tmp\n");
    ok(
        &d.docker(&["exec", "-d", "web", "touch", "/tmp/detached"])
            .unwrap(),
        "exec -d",
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while !d
        .docker(&["exec", "web", "test", "-e", "/tmp/detached"])
        .unwrap()
        .status
        .success()
    {
        assert!(Instant::now() < deadline, "exec -d did not run");
        std::thread::sleep(Duration::from_millis(50));
    }
    // The CLI sends `--until 0s` as whole seconds: let this one pass.
    std::thread::sleep(Duration::from_millis(1100));
    let events = ok(
        &d.docker(&[
            "events",
            "--since",
            "1m",
            "--until",
            "0s",
            "--filter",
            "event=exec_die",
            "--format",
            "{{.Action}} {{index .Actor.Attributes \"exitCode\"}}",
        ])
        .unwrap(),
        "events",
    );
    assert!(events.contains("exec_die 5"), "{events}");
    ok(&d.docker(&["stop", "-t", "1", "web"]).unwrap(), "stop");
    let out = d.docker(&["exec", "web", "ls"]).unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is not running"), "{err}");
}
