//! Container stats over the raw API (one-shot, two-sample, streaming,
//! stopped containers, one sampler shared by subscribers) and `docker
//! stats --no-stream`.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use berth_testkit::TestDaemon;
use serde_json::{Value, json};

const TRAPPING: &[&str] = &["sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait"];

fn daemon() -> TestDaemon {
    let d = TestDaemon::start();
    d.import_busybox();
    d
}

/// A streaming GET: reads `n` JSON lines of a chunked body, then drops the
/// connection.
fn stream_lines(d: &TestDaemon, path: &str, n: usize, timeout: Duration) -> Vec<Value> {
    let mut s = UnixStream::connect(&d.socket).unwrap();
    s.set_read_timeout(Some(timeout)).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: berth\r\n\r\n").unwrap();
    let mut r = BufReader::new(s);
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    assert!(line.contains(" 200 "), "{line}");
    loop {
        line.clear();
        r.read_line(&mut line).unwrap();
        if line.trim().is_empty() {
            break;
        }
    }
    let mut body = String::new();
    let mut out = Vec::new();
    while out.len() < n {
        line.clear();
        r.read_line(&mut line).unwrap();
        let size = usize::from_str_radix(line.trim(), 16).unwrap();
        assert!(size > 0, "stream ended after {} lines", out.len());
        let mut chunk = vec![0; size + 2];
        std::io::Read::read_exact(&mut r, &mut chunk).unwrap();
        body.push_str(&String::from_utf8_lossy(&chunk[..size]));
        while let Some(i) = body.find('\n') {
            let l: String = body.drain(..=i).collect();
            out.push(serde_json::from_str(l.trim()).unwrap());
        }
    }
    out
}

fn assert_running_sample(v: &Value, name: &str) {
    assert_eq!(v["name"], format!("/{name}"), "{v}");
    assert_ne!(v["read"], "0001-01-01T00:00:00Z", "{v}");
    assert!(v["memory_stats"]["usage"].as_u64().unwrap_or(0) > 0, "{v}");
    assert!(v["memory_stats"]["limit"].as_u64().unwrap_or(0) > 0, "{v}");
    assert!(v["memory_stats"]["stats"].is_object(), "{v}");
    assert!(
        v["cpu_stats"]["cpu_usage"]["total_usage"]
            .as_u64()
            .unwrap_or(0)
            > 0,
        "{v}"
    );
    assert!(
        v["cpu_stats"]["system_cpu_usage"].as_u64().unwrap_or(0) > 0,
        "{v}"
    );
    assert!(
        v["cpu_stats"]["online_cpus"].as_u64().unwrap_or(0) > 0,
        "{v}"
    );
    assert!(v["pids_stats"]["current"].as_u64().unwrap_or(0) >= 1, "{v}");
    assert!(v["blkio_stats"].is_object(), "{v}");
    assert_eq!(v["num_procs"], 0);
    assert!(v["storage_stats"].is_object());
}

#[test]
fn stats_one_shot_two_samples_and_stream() {
    let d = daemon();
    let id = d.create(
        Some("web"),
        &json!({"Image": "busybox", "Cmd": ["sh", "-c", "while :; do :; done"],
                "HostConfig": {"Memory": 67108864, "PidsLimit": 50}}),
    );
    d.start_container(&id);

    let t = Instant::now();
    let r = d.get("/containers/web/stats?stream=false&one-shot=true");
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        t.elapsed() < Duration::from_millis(900),
        "one-shot took {:?}",
        t.elapsed()
    );
    let v = r.json();
    assert_running_sample(&v, "web");
    assert_eq!(v["id"], id.as_str());
    assert_eq!(v["memory_stats"]["limit"], 67108864);
    assert_eq!(v["pids_stats"]["limit"], 50);
    assert_eq!(v["preread"], "0001-01-01T00:00:00Z");
    assert_eq!(v["precpu_stats"]["cpu_usage"]["total_usage"], 0);

    // Without one-shot: a second sample, with the first as `precpu`.
    let v = d.get("/containers/web/stats?stream=false").json();
    assert_running_sample(&v, "web");
    let pre = v["precpu_stats"]["cpu_usage"]["total_usage"]
        .as_u64()
        .unwrap();
    let now = v["cpu_stats"]["cpu_usage"]["total_usage"].as_u64().unwrap();
    assert!(pre > 0 && now > pre, "{v}");
    assert_ne!(v["preread"], "0001-01-01T00:00:00Z");
    // A busy loop: CPU % (Docker's formula) is well above zero.
    let sys = v["cpu_stats"]["system_cpu_usage"].as_u64().unwrap()
        - v["precpu_stats"]["system_cpu_usage"].as_u64().unwrap();
    let pct =
        (now - pre) as f64 / sys as f64 * v["cpu_stats"]["online_cpus"].as_f64().unwrap() * 100.0;
    assert!(pct > 20.0, "cpu {pct}% from {v}");

    // Streaming: one sample a second, each with its predecessor.
    let t = Instant::now();
    let lines = stream_lines(&d, "/containers/web/stats", 3, Duration::from_secs(10));
    assert!(t.elapsed() < Duration::from_secs(4), "{:?}", t.elapsed());
    for l in &lines {
        assert_running_sample(l, "web");
    }
    assert_eq!(lines[1]["preread"], lines[0]["read"]);
    assert_eq!(lines[2]["preread"], lines[1]["read"]);
    assert_eq!(d.get("/containers/nope/stats?stream=false").status, 404);
}

#[test]
fn stats_of_stopped_containers_and_shared_sampler() {
    let d = daemon();
    let id = d.create(Some("idle"), &json!({"Image": "busybox", "Cmd": TRAPPING}));
    let v = d.get("/containers/idle/stats?stream=false").json();
    assert_eq!(v["read"], "0001-01-01T00:00:00Z");
    assert_eq!(v["name"], "/idle");
    assert_eq!(v["id"], id.as_str());
    assert_eq!(v["memory_stats"], json!({}));
    // Streaming a stopped container: zeros, once a second.
    let lines = stream_lines(&d, "/containers/idle/stats", 2, Duration::from_secs(5));
    assert!(lines.iter().all(|l| l["read"] == "0001-01-01T00:00:00Z"));

    // Two subscribers, one sampler; it stops after the last leaves.
    let count = |what: &str| {
        d.log_text()
            .lines()
            .filter(|l| l.contains(what) && l.contains(&id))
            .count()
    };
    let wait_stopped = |n: usize| {
        let deadline = Instant::now() + Duration::from_secs(5);
        while count("stats sampler stopped") < n {
            assert!(Instant::now() < deadline, "the sampler did not stop");
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    wait_stopped(1);
    d.start_container(&id);
    let before = count("stats sampler started");
    let a = std::thread::spawn({
        let path = "/containers/idle/stats".to_string();
        let socket = d.socket.clone();
        move || {
            let mut s = UnixStream::connect(socket).unwrap();
            write!(s, "GET {path} HTTP/1.1\r\nHost: berth\r\n\r\n").unwrap();
            std::thread::sleep(Duration::from_millis(2500));
        }
    });
    std::thread::sleep(Duration::from_millis(300));
    let lines = stream_lines(&d, "/containers/idle/stats", 2, Duration::from_secs(5));
    assert_running_sample(&lines[1], "idle");
    a.join().unwrap();
    assert_eq!(
        count("stats sampler started") - before,
        1,
        "{}",
        d.log_text()
    );
    wait_stopped(2);
}

#[test]
fn docker_cli_stats_no_stream() {
    let d = daemon();
    let Some(out) = d.docker(&[
        "run",
        "-d",
        "--name",
        "web",
        "-m",
        "32m",
        "busybox",
        "sh",
        "-c",
        "while :; do :; done",
    ]) else {
        return;
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = d
        .docker(&[
            "stats",
            "--no-stream",
            "--format",
            "{{.Name}} {{.CPUPerc}} {{.MemUsage}} {{.PIDs}}",
            "web",
        ])
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let f: Vec<&str> = text.split_whitespace().collect();
    assert_eq!(f[0], "web", "{text}");
    let cpu: f64 = f[1].trim_end_matches('%').parse().unwrap();
    assert!(cpu > 20.0, "{text}");
    assert!(f[2].ends_with("B") || f[2].ends_with("iB"), "{text}");
    assert_eq!(f[4], "32MiB", "{text}");
    assert!(f[5].parse::<u32>().unwrap() >= 1, "{text}");
}
