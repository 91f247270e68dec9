//! Containers through the real docker CLI (skipped with a message when it
//! is missing) and through `berth`: the flows of issue 3's "done when".

use std::process::Output;

use berth_testkit::TestDaemon;

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn ok(out: Output, what: &str) -> String {
    let (stdout, stderr) = text(&out);
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    stdout
}

/// Runs the same scenario with a CLI (`docker` or `berth`).
fn scenario(d: &TestDaemon, cli: &dyn Fn(&[&str]) -> Output) {
    let out = cli(&["run", "--rm", "busybox", "echo", "hi"]);
    assert_eq!(ok(out, "run --rm"), "hi\n");
    let out = cli(&["run", "busybox", "sh", "-c", "exit 3"]);
    assert_eq!(out.status.code(), Some(3), "{:?}", text(&out));

    let id = ok(
        cli(&[
            "run",
            "-d",
            "--name",
            "web",
            "busybox",
            "sh",
            "-c",
            "trap 'exit 0' TERM; echo started; sleep 1000 & wait",
        ]),
        "run -d",
    );
    assert_eq!(id.trim().len(), 64, "{id}");
    let ps = ok(cli(&["ps"]), "ps");
    assert!(ps.contains("web") && ps.contains("Up"), "{ps}");
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(ok(cli(&["logs", "web"]), "logs"), "started\n");
    let t = std::time::Instant::now();
    ok(cli(&["stop", "web"]), "stop");
    assert!(t.elapsed().as_secs() < 5, "stop took {:?}", t.elapsed());
    ok(cli(&["start", "web"]), "start");
    ok(cli(&["restart", "web"]), "restart");
    let state = ok(
        cli(&["inspect", "-f", "{{.State.Status}} {{.Name}}", "web"]),
        "inspect",
    );
    assert_eq!(state.trim(), "running /web");
    ok(cli(&["rm", "-f", "web"]), "rm -f");
    assert!(!ok(cli(&["ps", "-a"]), "ps -a").contains(" web"));

    let out = cli(&[
        "run",
        "--memory",
        "20m",
        "busybox",
        "sh",
        "-c",
        "x=a; while true; do x=$x$x; done",
    ]);
    assert_eq!(out.status.code(), Some(137));
    let last = ok(cli(&["ps", "-lq"]), "ps -lq");
    let oom = ok(
        cli(&["inspect", "-f", "{{.State.OOMKilled}}", last.trim()]),
        "inspect oom",
    );
    assert_eq!(oom.trim(), "true");

    let out = cli(&[
        "run",
        "-d",
        "--name",
        "flaky",
        "--restart",
        "on-failure:3",
        "busybox",
        "sh",
        "-c",
        "exit 1",
    ]);
    ok(out, "run flaky");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let s = ok(
            cli(&[
                "inspect",
                "-f",
                "{{.State.Status}} {{.RestartCount}}",
                "flaky",
            ]),
            "inspect flaky",
        );
        if s.trim() == "exited 3" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{s}");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }

    // Bad input: clear errors, nothing created.
    let before = ok(cli(&["ps", "-aq"]), "ps -aq");
    for args in [
        vec!["run", "--memory", "20q", "busybox", "true"],
        vec!["run", "nosuchimage"],
        vec!["run", "--name", "flaky", "busybox", "true"],
        vec![
            "run",
            "--mount",
            "type=bind,source=/nonexistent/berth,target=/x",
            "busybox",
            "true",
        ],
        vec!["run", "--restart", "sometimes", "busybox", "true"],
    ] {
        let out = cli(&args);
        assert!(!out.status.success(), "{args:?} succeeded");
        let (_, err) = text(&out);
        assert!(!err.trim().is_empty(), "{args:?}: no message");
    }
    assert_eq!(ok(cli(&["ps", "-aq"]), "ps -aq"), before);
    let _ = d;
}

#[test]
fn docker_cli_container_flows() {
    let d = TestDaemon::start();
    if d.docker(&["version"]).is_none() {
        return;
    }
    d.import_busybox();
    scenario(&d, &|args| d.docker(args).unwrap());
}

#[test]
fn berth_cli_container_flows() {
    let d = TestDaemon::start();
    d.import_busybox();
    scenario(&d, &|args| d.berth(args));
}

#[test]
fn log_rotation_and_live_restore() {
    let mut d = TestDaemon::start_with(&["--live-restore"]);
    d.import_busybox();
    let out = d.berth(&["run", "-d", "--name", "chatty", "--log-opt", "max-size=10k", "--log-opt", "max-file=2", "busybox", "sh", "-c", "trap 'exit 0' TERM; i=0; while [ $i -lt 2000 ]; do echo line $i; i=$((i+1)); done; sleep 1000 & wait"]);
    let id = ok(out, "run chatty").trim().to_string();
    std::thread::sleep(std::time::Duration::from_millis(800));
    let log = d
        .root
        .join("containers")
        .join(&id)
        .join(format!("{id}-json.log"));
    let rotated = log.with_extension("log.1");
    assert!(rotated.exists(), "no rotated log");
    assert!(!log.with_extension("log.2").exists());
    assert!(std::fs::metadata(&log).unwrap().len() <= 12 * 1024);
    let logs = ok(d.berth(&["logs", "--tail", "1", "chatty"]), "logs");
    assert_eq!(logs, "line 1999\n");
    // With --live-restore a clean stop leaves the container running.
    let pid = d.inspect("chatty")["State"]["Pid"].as_i64().unwrap();
    d.stop();
    assert!(
        std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "container stopped with the daemon"
    );
    d.restart();
    assert_eq!(d.inspect("chatty")["State"]["Running"], true);
    ok(d.berth(&["rm", "-f", "chatty"]), "rm");
}

/// `run` without `-d` and `exec` hand over every byte even to a reader that
/// falls far behind (the container waits, as with Docker).
#[test]
fn slow_readers_of_run_and_exec_lose_nothing() {
    let d = TestDaemon::start();
    d.import_busybox();
    let bin = berth_testkit::daemon::berth_bin();
    let bytes = 48 * 1024 * 1024;
    let slow = |args: &str| {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("{} {args} | (sleep 2; wc -c)", bin.display()))
            .env("BERTH_HOST", d.host())
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let run = slow(&format!(
        "run --rm --network none busybox head -c {bytes} /dev/zero"
    ));
    assert_eq!(run, bytes.to_string(), "run");
    ok(
        d.berth(&[
            "run",
            "-d",
            "--name",
            "src",
            "--network",
            "none",
            "busybox",
            "sleep",
            "100",
        ]),
        "run -d",
    );
    let exec = slow(&format!("exec src head -c {bytes} /dev/zero"));
    assert_eq!(exec, bytes.to_string(), "exec");
    ok(d.berth(&["rm", "-f", "src"]), "rm");
}
