//! Measures the shim (needs root and runc): start→exit of `true` through
//! the shim against `runc run` of the same bundle, the shim's memory for a
//! sleeping container, attach throughput, and reading a 100,000-line log.
//!
//! `cargo build --release -p berth-shim --bins --examples &&
//!  target/release/examples/shim-bench [iterations]`

#[path = "../tests/common/mod.rs"]
mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use berth_shim::logfile::{ReadOptions, read_log};
use berth_shim::{AttachOptions, ExecConfig, Output, StartMode, spawn};
use common::Env;

fn shim_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("BERTH_SHIM") {
        return p.into();
    }
    let exe = std::env::current_exe().unwrap_or_default();
    exe.parent()
        .and_then(|d| d.parent())
        .map(|d| d.join("berth-shim"))
        .unwrap_or_else(|| "berth-shim".into())
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn start_to_exit(env: &Env, mode: StartMode) -> Duration {
    let mut cfg = env.config();
    cfg.shim_binary = shim_binary();
    cfg.start_mode = mode;
    let t = Instant::now();
    let s = spawn(&cfg).await.expect("spawn");
    let t1 = t.elapsed();
    let exit = s.client.wait().await.expect("wait");
    assert_eq!(exit.exit_code, 0);
    if std::env::var_os("BENCH_SPLIT").is_some() {
        eprintln!(
            "spawn {:.1} ms, wait {:.1} ms",
            ms(t1),
            ms(t.elapsed() - t1)
        );
    }
    t.elapsed()
}

fn runc_run(env: &Env) -> Duration {
    let t = Instant::now();
    let status = std::process::Command::new(common::RUNC)
        .arg("--root")
        .arg(env.runtime_root())
        .args(["run", "--bundle"])
        .arg(env.dir.path())
        .arg(&env.id)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .status()
        .expect("runc");
    assert!(status.success());
    t.elapsed()
}

fn smaps_rollup(pid: i32) -> String {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
    text.lines()
        .filter(|l| {
            [
                "Rss:",
                "Pss:",
                "Private_Dirty:",
                "Private_Clean:",
                "Shared_Clean:",
            ]
            .iter()
            .any(|k| l.starts_with(k))
        })
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join(", ")
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20);
    let only: Vec<String> = std::env::args().skip(2).collect();
    let want = |s: &str| only.is_empty() || only.iter().any(|o| o == s);
    println!("shim binary: {}", shim_binary().display());
    if want("start") {
        start_bench(n).await;
    }
    if want("pss") {
        pss_bench().await;
    }
    if want("exec") {
        exec_bench(n).await;
    }
    if want("attach") {
        attach_bench().await;
    }
    if want("logs") {
        logs_bench().await;
    }
}

async fn start_bench(n: usize) {
    let env = Env::new("bench", &["true"], false);
    let (mut bare, mut run, mut create) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..n {
        bare.push(runc_run(&env));
        run.push(start_to_exit(&env, StartMode::Run).await);
        create.push(start_to_exit(&env, StartMode::CreateStart).await);
    }
    let b = median(&mut bare);
    let r = median(&mut run);
    let c = median(&mut create);
    println!("start→exit of `true`, median of {n}:");
    println!("  runc run (bare)            {:7.2} ms", ms(b));
    println!(
        "  shim, run --detach         {:7.2} ms  ({:.2}x)",
        ms(r),
        r.as_secs_f64() / b.as_secs_f64()
    );
    println!(
        "  shim, create + start       {:7.2} ms  ({:.2}x)",
        ms(c),
        c.as_secs_f64() / b.as_secs_f64()
    );
    drop(env);
}

async fn pss_bench() {
    // Memory of shims holding sleeping containers: one alone, then ten
    // (their code pages are shared, as on a host running many). Flush the
    // page cache first: a freshly linked binary's pages are still dirty
    // there and would count as private.
    // SAFETY: plain sync(2).
    unsafe { libc::sync() };
    let mut envs = Vec::new();
    let mut shims = Vec::new();
    for i in 0..10 {
        let env = Env::new("pss", &["sh", "-c", "echo ready; sleep 1000"], false);
        let mut cfg = env.config();
        cfg.shim_binary = shim_binary();
        let s = spawn(&cfg).await.expect("spawn");
        tokio::time::sleep(Duration::from_millis(200)).await;
        if i == 0 {
            println!("shim memory, 1 running: {}", smaps_rollup(s.shim_pid));
        }
        envs.push(env);
        shims.push(s);
    }
    let pss: Vec<u64> = shims
        .iter()
        .map(|s| rollup_value(s.shim_pid, "Pss:"))
        .collect();
    let dirty: Vec<u64> = shims
        .iter()
        .map(|s| rollup_value(s.shim_pid, "Private_Dirty:"))
        .collect();
    println!(
        "shim memory, 10 running: Pss {} kB average (min {}, max {}), Private_Dirty {} kB average",
        pss.iter().sum::<u64>() / 10,
        pss.iter().min().unwrap_or(&0),
        pss.iter().max().unwrap_or(&0),
        dirty.iter().sum::<u64>() / 10
    );
    let size = std::fs::metadata(shim_binary())
        .map(|m| m.len())
        .unwrap_or(0);
    println!("shim binary size: {} KiB", size / 1024);
    for s in &shims {
        s.client.kill(libc::SIGKILL, false).await.expect("kill");
        s.client.wait().await.expect("wait");
    }
    drop(envs);
}

fn rollup_value(pid: i32, key: &str) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
    text.lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

async fn exec_bench(n: usize) {
    // `exec true` through the shim against `runc exec` directly.
    let env = Env::new("exec", &["sleep", "1000"], false);
    let mut cfg = env.config();
    cfg.shim_binary = shim_binary();
    let s = spawn(&cfg).await.expect("spawn");
    let process = common::exec_process(&["true"], false);
    let process_file = env.dir.path().join("process.json");
    std::fs::write(&process_file, &process).expect("write process.json");
    let (mut via_shim, mut bare) = (Vec::new(), Vec::new());
    for _ in 0..n {
        let t = Instant::now();
        let mut e = s
            .client
            .exec(&ExecConfig {
                process: process.clone(),
                tty: false,
                stdin: false,
                stdout: true,
                stderr: true,
            })
            .await
            .expect("exec");
        while let Some(item) = e.output.next().await.expect("exec stream") {
            if let Output::Exit(x) = item {
                assert_eq!(x.exit_code, 0);
            }
        }
        via_shim.push(t.elapsed());
        let t = Instant::now();
        let status = std::process::Command::new(common::RUNC)
            .arg("--root")
            .arg(env.runtime_root())
            .args(["exec", "--process"])
            .arg(&process_file)
            .arg(&env.id)
            .status()
            .expect("runc exec");
        assert!(status.success());
        bare.push(t.elapsed());
    }
    println!(
        "exec true, median of {n}: through the shim {:.2} ms, runc exec alone {:.2} ms",
        ms(median(&mut via_shim)),
        ms(median(&mut bare))
    );
    s.client.kill(libc::SIGKILL, false).await.expect("kill");
    s.client.wait().await.expect("wait");
}

async fn attach_bench() {
    // Attach throughput: 1 GiB through one attached client (also logged).
    // 16 × a 64 MiB file of 80-byte text lines.
    let total: u64 = 1 << 30;
    let env = Env::new(
        "attach",
        &[
            "sh",
            "-c",
            "for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16; do cat /big.txt; done",
        ],
        false,
    );
    let line = b"0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz-----\n";
    let chunk: Vec<u8> = line.iter().copied().cycle().take(64 << 10).collect();
    let mut big = Vec::with_capacity(64 << 20);
    while big.len() < 64 << 20 {
        big.extend_from_slice(&chunk);
    }
    std::fs::write(env.dir.path().join("rootfs/big.txt"), &big).expect("write big.txt");
    let mut cfg = env.config();
    cfg.shim_binary = shim_binary();
    cfg.start_mode = StartMode::CreateOnly;
    if let Some(l) = &mut cfg.log {
        l.max_size = Some(100 << 20);
        l.max_files = 2;
    }
    let s = spawn(&cfg).await.expect("spawn");
    let mut att = s
        .client
        .attach(AttachOptions {
            stdin: false,
            stdout: true,
            stderr: true,
            lossless: false,
        })
        .await
        .expect("attach");
    let t = Instant::now();
    s.client.start().await.expect("start");
    let mut got = 0u64;
    while let Some(item) = att.output.next().await.expect("stream") {
        match item {
            Output::Stdout(b) | Output::Stderr(b) => got += b.len() as u64,
            Output::Exit(_) => {}
        }
    }
    let el = t.elapsed();
    println!(
        "attach: {} MiB in {:.2} s = {:.0} MB/s (received {:.1}%)",
        total >> 20,
        el.as_secs_f64(),
        total as f64 / el.as_secs_f64() / 1e6,
        got as f64 * 100.0 / total as f64
    );
    drop(env);
}

async fn logs_bench() {
    // `logs` of a container that printed 100,000 lines.
    let env = Env::new("logs", &["seq", "1", "100000"], false);
    let mut cfg = env.config();
    cfg.shim_binary = shim_binary();
    let s = spawn(&cfg).await.expect("spawn");
    s.client.wait().await.expect("wait");
    let t = Instant::now();
    let mut stream = read_log(env.log_path(), ReadOptions::default());
    let mut lines = 0;
    let mut frames = Vec::with_capacity(2 << 20);
    while let Some(batch) = stream.next_batch().await {
        for e in batch.expect("read") {
            // What the daemon does next: one 8-byte multiplexed frame per line.
            frames.extend_from_slice(&[1, 0, 0, 0]);
            frames.extend_from_slice(&(e.line.len() as u32).to_be_bytes());
            frames.extend_from_slice(&e.line);
            lines += 1;
        }
    }
    println!(
        "logs: {lines} lines read and framed in {:.2} ms",
        ms(t.elapsed())
    );
    let t = Instant::now();
    let mut tail = read_log(
        env.log_path(),
        ReadOptions {
            tail: Some(10),
            ..Default::default()
        },
    );
    let mut k = 0;
    while let Some(e) = tail.next().await {
        e.expect("read");
        k += 1;
    }
    println!("logs --tail 10: {k} lines in {:.2} ms", ms(t.elapsed()));
}
