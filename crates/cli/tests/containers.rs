//! `berth run`, `start -a`, `exec` and friends against a fake daemon:
//! docker's request flow, exit statuses, stdin and output streams, pull
//! on a missing image, usage errors.

mod fake;

use std::io::Write;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use fake::{Fake, ID};

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn run(fake: &Fake, args: &[&str]) -> Output {
    fake.cmd(args).output().unwrap()
}

#[test]
fn run_follows_dockers_flow() {
    let fake = Fake::start();
    let out = run(&fake, &["run", "--rm", "busybox", "echo", "hi"]);
    assert_eq!(text(&out.stdout), "hi\n", "{}", text(&out.stderr));
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stderr), "WARNING: fake warning\n");
    // Attach and wait go out together; both before the start.
    let mut reqs = fake.requests();
    assert_eq!(reqs.len(), 4, "{reqs:?}");
    assert_eq!(reqs[0], "POST /containers/create?");
    assert_eq!(reqs[3], "POST /containers/ID/start?");
    reqs[1..3].sort();
    assert_eq!(
        reqs[1..3],
        [
            "POST /containers/ID/attach?stderr=1&stdout=1&stream=1",
            "POST /containers/ID/wait?condition=removed",
        ]
    );
    let (query, body) = &fake.bodies()[0];
    assert_eq!(query, "");
    assert_eq!(body["HostConfig"]["AutoRemove"], true);
    assert_eq!(body["AttachStdout"], true);
    assert_eq!(body["Cmd"], serde_json::json!(["echo", "hi"]));
    // Ping and create share one connection; attach and wait need theirs.
    assert!(
        fake.connections() <= 4,
        "{} connections",
        fake.connections()
    );
}

#[test]
fn exit_status_and_stderr_propagate() {
    let fake = Fake::start();
    let out = run(&fake, &["run", "busybox", "sh", "-c", "exit 3"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(
        fake.requests()
            .contains(&"POST /containers/ID/wait?condition=next-exit".to_string())
    );
    let out = run(&fake, &["run", "busybox", "warn", "to", "stderr"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout), "");
    assert!(
        text(&out.stderr).ends_with("to stderr\n"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn stdin_is_copied_and_half_closed() {
    let fake = Fake::start();
    let mut child = fake
        .cmd(&["run", "-i", "--rm", "busybox", "cat"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"hi\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(text(&out.stdout), "hi\n", "{}", text(&out.stderr));
    assert_eq!(out.status.code(), Some(0));
    assert!(
        fake.requests()
            .contains(&"POST /containers/ID/attach?stderr=1&stdin=1&stdout=1&stream=1".to_string())
    );
    let body = &fake.bodies()[0].1;
    assert_eq!(
        (&body["OpenStdin"], &body["StdinOnce"], &body["AttachStdin"]),
        (
            &serde_json::json!(true),
            &serde_json::json!(true),
            &serde_json::json!(true)
        )
    );
}

#[test]
fn detached_run_prints_the_id() {
    let fake = Fake::start();
    let out = run(
        &fake,
        &[
            "run", "-d", "--name", "web", "busybox", "sh", "-c", "exit 0",
        ],
    );
    assert_eq!(
        text(&out.stdout),
        format!("{ID}\n"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        fake.requests(),
        [
            "POST /containers/create?name=web",
            "POST /containers/ID/start?"
        ]
    );
    let body = &fake.bodies()[0].1;
    assert_eq!(body["AttachStdout"], false);
}

#[test]
fn missing_image_is_pulled() {
    let fake = Fake::start();
    let out = run(&fake, &["run", "--rm", "missing", "echo", "pulled"]);
    assert_eq!(text(&out.stdout), "pulled\n", "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.starts_with("Unable to find image 'missing:latest' locally\n"),
        "{err}"
    );
    let reqs = fake.requests();
    assert_eq!(reqs[0], "POST /containers/create?");
    assert_eq!(
        reqs[1],
        "POST /images/create?fromImage=docker.io%2Flibrary%2Fmissing&tag=latest"
    );
    assert_eq!(reqs[2], "POST /containers/create?");

    let out = run(&fake, &["run", "nopull"]);
    assert_eq!(
        out.status.code(),
        Some(125),
        "{} {:?}",
        text(&out.stderr),
        fake.requests()
    );
    let err = text(&out.stderr);
    assert!(
        err.contains("berth: Error response from daemon: pull access denied for nopull\n\nRun 'berth run --help' for more information"),
        "{err}"
    );

    fake.clear();
    let out = run(&fake, &["run", "--pull", "never", "missing-never"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(text(&out.stderr).contains("No such image: missing-never:latest"));
    assert_eq!(fake.requests().len(), 1);
}

#[test]
fn start_errors_map_to_docker_statuses() {
    let fake = Fake::start();
    let out = run(&fake, &["run", "--rm", "busybox", "nonexistent"]);
    assert_eq!(out.status.code(), Some(127), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("executable file not found"));
}

#[test]
fn usage_errors_exit_125_before_any_request() {
    let fake = Fake::start();
    for (args, want) in [
        (
            &["run", "-m", "20q", "busybox"][..],
            "invalid argument \"20q\" for \"-m, --memory\" flag: invalid size: '20q'",
        ),
        (
            &["run", "--rm", "--restart", "always", "busybox"][..],
            "berth: conflicting options: cannot specify both --restart and --rm",
        ),
        (&["run", "--bogus", "busybox"][..], "unknown flag: --bogus"),
        (
            &["run", "--pull", "sometimes", "busybox"][..],
            "berth: invalid pull option: 'sometimes'",
        ),
    ] {
        let out = run(&fake, args);
        assert_eq!(out.status.code(), Some(125), "{args:?}");
        assert!(
            text(&out.stderr).starts_with(want),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    assert!(fake.requests().is_empty(), "{:?}", fake.requests());
    let out = run(&fake, &["run", "-d", "-a", "stdout", "busybox"]);
    assert_eq!(out.status.code(), Some(1));
    let out = run(&fake, &["run", "-t", "-i", "busybox"]);
    assert_eq!(text(&out.stderr), "the input device is not a TTY\n");
}

#[test]
fn start_attach_and_exec_statuses() {
    let fake = Fake::start();
    run(
        &fake,
        &["create", "--name", "web", "busybox", "sh", "-c", "exit 4"],
    );
    fake.clear();
    let out = run(&fake, &["start", "-a", "web"]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    assert_eq!(
        fake.requests(),
        [
            "GET /containers/web/json?",
            "POST /containers/ID/attach?stderr=1&stdout=1&stream=1",
            "POST /containers/ID/wait?condition=next-exit",
            "POST /containers/ID/start?",
        ]
    );

    fake.clear();
    let out = run(
        &fake,
        &[
            "exec", "-e", "A=1", "-u", "root", "-w", "/tmp", "web", "sh", "-c", "exit 5",
        ],
    );
    assert_eq!(out.status.code(), Some(5), "{}", text(&out.stderr));
    let body = &fake.bodies()[0].1;
    // What docker 28 sends for the same flags.
    assert_eq!(
        body.to_string(),
        r#"{"AttachStderr":true,"AttachStdin":false,"AttachStdout":true,"Cmd":["sh","-c","exit 5"],"Detach":false,"DetachKeys":"","Env":["A=1"],"Privileged":false,"Tty":false,"User":"root","WorkingDir":"/tmp"}"#
    );
    let out = run(&fake, &["exec", "web", "echo", "-n", "from", "exec"]);
    assert_eq!(text(&out.stdout), "-n from exec\n");
    let out = run(&fake, &["exec", "-d", "web", "true"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout), "");
}

#[test]
fn sig_proxy_forwards_to_the_container() {
    let fake = Fake::start();
    let child = fake
        .cmd(&["run", "busybox", "sleep"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !fake.requests().iter().any(|r| r.contains("/start")) {
        assert!(Instant::now() < deadline, "no start: {:?}", fake.requests());
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(50));
    // SAFETY: signalling the child we spawned.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        fake.requests()
            .contains(&"POST /containers/ID/kill?signal=TERM".to_string()),
        "{:?}",
        fake.requests()
    );
    assert_eq!(out.status.code(), Some(143), "{}", text(&out.stderr));
}

#[test]
fn logs_ps_and_port() {
    let fake = Fake::start();
    run(&fake, &["create", "--name", "web", "busybox"]);
    let out = run(&fake, &["logs", "--tail", "5", "-t", "web"]);
    assert_eq!(text(&out.stdout), "out line\n");
    assert_eq!(text(&out.stderr), "err line\n");
    assert!(
        fake.requests()
            .contains(&"GET /containers/ID/logs?stderr=1&stdout=1&tail=5&timestamps=1".to_string()),
        "{:?}",
        fake.requests()
    );
    let out = run(
        &fake,
        &["ps", "--format", "{{.Names}} {{.Status}} {{.Command}}"],
    );
    assert_eq!(text(&out.stdout), "web Up 2 minutes \"sleep 1000\"\n");
    let out = run(&fake, &["ps", "-q", "--no-trunc"]);
    assert_eq!(text(&out.stdout), format!("{ID}\n"));
    let out = run(&fake, &["port", "web"]);
    assert_eq!(text(&out.stdout), "80/tcp -> 0.0.0.0:8080\n");
    let out = run(&fake, &["port", "web", "81"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "Error: No public port '81' published for web\n"
    );
    let out = run(&fake, &["rm", "-f", "nosuch", "web"]);
    assert_eq!(text(&out.stdout), "");
}

/// Not a test: the CLI's own time for `run --rm busybox true` against a
/// daemon that answers at once. `cargo test --release -p berth-cli --test
/// containers overhead -- --ignored --nocapture`.
#[test]
#[ignore]
fn overhead_of_run() {
    let fake = Fake::start();
    let time = |args: &[&str], n: usize| {
        let mut samples: Vec<Duration> = (0..n)
            .map(|_| {
                let t = Instant::now();
                let out = fake.cmd(args).output().unwrap();
                assert!(out.status.success(), "{}", text(&out.stderr));
                t.elapsed()
            })
            .collect();
        samples.sort();
        (samples[n / 2], samples[n * 9 / 10])
    };
    let n = 300;
    let base = {
        let mut v: Vec<Duration> = (0..n)
            .map(|_| {
                let t = Instant::now();
                std::process::Command::new("/bin/true").status().unwrap();
                t.elapsed()
            })
            .collect();
        v.sort();
        v[n / 2]
    };
    let version = time(&["ps", "-q"], n);
    let run = time(&["run", "--rm", "busybox", "true"], n);
    let detached = time(&["run", "-d", "busybox", "true"], n);
    println!("spawn /bin/true                   median {base:?}");
    println!(
        "berth ps -q (ping + 1 request)    median {:?} p90 {:?}",
        version.0, version.1
    );
    println!(
        "berth run --rm busybox true       median {:?} p90 {:?}",
        run.0, run.1
    );
    println!(
        "berth run -d busybox true         median {:?} p90 {:?}",
        detached.0, detached.1
    );
}
