//! Health checks over the raw API (healthy, unhealthy, start period,
//! timeout, output truncation, NONE, validation, events, a daemon crash)
//! and with the docker CLI (`ps` shows the status).

use std::time::{Duration, Instant};

use berth_testkit::TestDaemon;
use serde_json::{Value, json};

const TRAPPING: &[&str] = &["sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait"];
const MS: i64 = 1_000_000;

fn daemon() -> TestDaemon {
    let d = TestDaemon::start();
    d.import_busybox();
    d
}

fn run_with_health(d: &TestDaemon, name: &str, health: Value) -> String {
    let id = d.create(
        Some(name),
        &json!({"Image": "busybox", "Cmd": TRAPPING, "Healthcheck": health}),
    );
    d.start_container(&id);
    id
}

/// Waits until `State.Health` satisfies `pred`; returns it.
fn wait_health(d: &TestDaemon, name: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let h = d.inspect(name)["State"]["Health"].clone();
        if pred(&h) {
            return h;
        }
        assert!(Instant::now() < deadline, "health never matched: {h}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn healthy_unhealthy_and_events() {
    let d = daemon();
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        - 1.0;
    run_with_health(
        &d,
        "good",
        json!({"Test": ["CMD-SHELL", "echo fine; exit 0"], "Interval": 200 * MS}),
    );
    run_with_health(
        &d,
        "bad",
        json!({"Test": ["CMD", "sh", "-c", "echo broken >&2; exit 2"], "Interval": 200 * MS, "Retries": 2}),
    );
    // Before the first result: starting.
    run_with_health(
        &d,
        "later",
        json!({"Test": ["CMD", "true"], "Interval": 60_000 * MS}),
    );
    let starting = d.inspect("later")["State"]["Health"].clone();
    assert_eq!(starting["Status"], "starting", "{starting}");
    assert_eq!(starting["Log"], json!([]), "{starting}");
    let h = wait_health(&d, "good", |h| h["Status"] == "healthy");
    assert_eq!(h["FailingStreak"], 0);
    let log = &h["Log"][0];
    assert_eq!(log["ExitCode"], 0);
    assert_eq!(log["Output"], "fine\n");
    assert!(log["Start"].as_str().unwrap() <= log["End"].as_str().unwrap());

    let h = wait_health(&d, "bad", |h| h["Status"] == "unhealthy");
    assert!(h["FailingStreak"].as_i64().unwrap() >= 2, "{h}");
    assert_eq!(h["Log"][0]["ExitCode"], 2);
    assert_eq!(h["Log"][0]["Output"], "broken\n");
    // At most five results are kept.
    let h = wait_health(&d, "bad", |h| h["FailingStreak"].as_i64().unwrap_or(0) >= 7);
    assert_eq!(h["Log"].as_array().unwrap().len(), 5);

    // ps shows the status; the filter finds it.
    let ps = d.get("/containers/json?all=1").json();
    let status_of = |n: &str| {
        ps.as_array()
            .unwrap()
            .iter()
            .find(|c| c["Names"][0] == format!("/{n}"))
            .map(|c| c["Status"].as_str().unwrap_or("").to_string())
            .unwrap_or_default()
    };
    assert!(status_of("good").ends_with("(healthy)"), "{ps}");
    assert!(status_of("bad").ends_with("(unhealthy)"), "{ps}");
    let ps = d
        .get("/containers/json?filters=%7B%22health%22%3A%5B%22healthy%22%5D%7D")
        .json();
    assert_eq!(ps.as_array().unwrap().len(), 1, "{ps}");

    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let evs = d
        .get(&format!("/events?since={since}&until={now}"))
        .json_lines();
    let actions: Vec<String> = evs
        .iter()
        .map(|e| {
            format!(
                "{} {}",
                e["Actor"]["Attributes"]["name"].as_str().unwrap_or(""),
                e["Action"].as_str().unwrap_or("")
            )
        })
        .collect();
    assert!(
        actions.contains(&"good health_status: healthy".to_string()),
        "{actions:?}"
    );
    assert!(
        actions.contains(&"bad health_status: unhealthy".to_string()),
        "{actions:?}"
    );
    assert!(
        actions
            .iter()
            .any(|a| a.starts_with("good exec_start: /bin/sh -c echo fine; exit 0")),
        "{actions:?}"
    );
    assert!(actions.iter().any(|a| a == "good exec_die"), "{actions:?}");

    // Stopping ends the checks: the container shows unhealthy, and no
    // more results arrive.
    assert_eq!(d.post("/containers/good/stop?t=5", b"").status, 204);
    let h = d.inspect("good")["State"]["Health"].clone();
    std::thread::sleep(Duration::from_millis(700));
    let h2 = d.inspect("good")["State"]["Health"].clone();
    assert_eq!(h["Log"], h2["Log"]);
    // Starting again: starting, then healthy.
    d.start_container("good");
    wait_health(&d, "good", |h| h["Status"] == "healthy");
}

#[test]
fn start_period_timeout_output_none_and_validation() {
    let d = daemon();
    run_with_health(
        &d,
        "slow",
        json!({"Test": ["CMD", "false"], "Interval": 100 * MS, "StartPeriod": 60_000 * MS, "StartInterval": 100 * MS, "Retries": 1}),
    );
    run_with_health(
        &d,
        "stuck",
        json!({"Test": ["CMD", "sleep", "10"], "Interval": 100 * MS, "Timeout": 300 * MS, "Retries": 1}),
    );
    run_with_health(
        &d,
        "chatty",
        json!({"Test": ["CMD-SHELL", "head -c 5000 /dev/zero | tr '\\0' a"], "Interval": 100 * MS}),
    );
    run_with_health(&d, "none", json!({"Test": ["NONE"]}));

    // Failures inside the start period do not count.
    let h = wait_health(&d, "slow", |h| {
        h["Log"].as_array().is_some_and(|l| l.len() >= 3)
    });
    assert_eq!(h["Status"], "starting");
    assert_eq!(h["FailingStreak"], 0);

    let h = wait_health(&d, "stuck", |h| h["Status"] == "unhealthy");
    assert_eq!(h["Log"][0]["ExitCode"], -1);
    assert_eq!(
        h["Log"][0]["Output"],
        "Health check exceeded timeout (300ms)"
    );
    // The timed-out probe was killed.
    let top = d.get("/containers/stuck/top").json();
    let sleeps = top["Processes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p[7] == "sleep 10")
        .count();
    assert!(sleeps <= 1, "{top}");

    let h = wait_health(&d, "chatty", |h| h["Status"] == "healthy");
    let out = h["Log"][0]["Output"].as_str().unwrap();
    assert_eq!(out.len(), 4096 + 3);
    assert!(out.ends_with("aaa..."));

    std::thread::sleep(Duration::from_millis(300));
    assert!(
        d.inspect("none")["State"]
            .get("Health")
            .is_none_or(Value::is_null)
    );

    let r = d.post_json(
        "/containers/create",
        &json!({"Image": "busybox", "Healthcheck": {"Test": ["CMD", "true"], "Interval": 1000}}),
    );
    assert_eq!(r.status, 400);
    assert_eq!(
        r.message(),
        "Interval in Healthcheck cannot be less than 1ms"
    );
}

#[test]
fn health_checks_survive_a_daemon_crash() {
    let mut d = daemon();
    run_with_health(
        &d,
        "web",
        json!({"Test": ["CMD", "true"], "Interval": 300 * MS}),
    );
    wait_health(&d, "web", |h| h["Status"] == "healthy");
    d.kill9();
    d.restart();
    let h = d.inspect("web")["State"]["Health"].clone();
    assert_eq!(h["Status"], "healthy", "status kept: {h}");
    let last = h["Log"][h["Log"].as_array().unwrap().len() - 1]["End"].clone();
    // Checks go on after the restart.
    wait_health(&d, "web", |h| {
        let log = h["Log"].as_array().unwrap();
        log[log.len() - 1]["End"] != last
    });
}

#[test]
fn docker_cli_health() {
    let d = daemon();
    let Some(out) = d.docker(&[
        "run",
        "-d",
        "--name",
        "web",
        "--health-cmd",
        "exit 0",
        "--health-interval",
        "300ms",
        "busybox",
        "sleep",
        "1000",
    ]) else {
        return;
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    wait_health(&d, "web", |h| h["Status"] == "healthy");
    let out = d
        .docker(&["ps", "--format", "{{.Names}} {{.Status}}"])
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("web Up") && text.contains("(healthy)"),
        "{text}"
    );
    let out = d
        .docker(&["inspect", "-f", "{{.State.Health.Status}}", "web"])
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "healthy");
    // The CLI sends `--until 0s` as whole seconds: let this one pass.
    std::thread::sleep(Duration::from_millis(1100));
    let out = d
        .docker(&[
            "events",
            "--since",
            "1m",
            "--until",
            "0s",
            "--filter",
            "event=health_status",
        ])
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("health_status: healthy"), "{text}");
}
