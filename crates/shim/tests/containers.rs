//! Real containers through `berth-shim` and runc (needs root).

mod common;

use std::time::{Duration, Instant};

use berth_shim::logfile::{LogEntry, ReadOptions, Stream, read_log};
use berth_shim::{
    AttachOptions, ExecConfig, Output, ShimClient, ShimError, StartMode, read_exit, spawn,
};
use common::{Env, collect, exec_process};

async fn log_entries(env: &Env, opts: ReadOptions) -> Vec<LogEntry> {
    let mut s = read_log(env.log_path(), opts);
    let mut v = Vec::new();
    while let Some(e) = s.next().await {
        v.push(e.unwrap());
    }
    v
}

async fn wait_timeout(client: &ShimClient) -> berth_shim::ExitInfo {
    tokio::time::timeout(Duration::from_secs(20), client.wait())
        .await
        .expect("wait timed out")
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_goes_to_log_and_exit_code_is_recorded() {
    let env = Env::new(
        "log",
        &["sh", "-c", "echo out; echo err >&2; printf partial; exit 3"],
        false,
    );
    let started = spawn(&env.config()).await.unwrap();
    assert!(started.container_pid > 0 && started.shim_pid > 0);
    let exit = wait_timeout(&started.client).await;
    assert_eq!(exit.exit_code, 3);
    assert!(!exit.oom_killed);
    assert!(exit.finished_at_unix_nanos().is_some());
    assert_eq!(read_exit(&env.state_dir()).unwrap(), Some(exit));
    let entries = log_entries(&env, ReadOptions::default()).await;
    let mut got: Vec<(Stream, String)> = entries
        .iter()
        .map(|e| (e.stream, String::from_utf8_lossy(&e.line).into_owned()))
        .collect();
    got.sort_by_key(|(_, l)| l.clone());
    assert_eq!(
        got,
        vec![
            (Stream::Stderr, "err\n".to_string()),
            (Stream::Stdout, "out\n".to_string()),
            (Stream::Stdout, "partial".to_string()),
        ]
    );
    let raw = std::fs::read_to_string(env.log_path()).unwrap();
    assert!(
        raw.contains(r#"{"log":"out\n","stream":"stdout","time":"20"#),
        "{raw}"
    );
    env.assert_all_gone();
    // After the shim: the exit record answers, if the client knows where.
    assert_eq!(started.client.wait().await.unwrap().exit_code, 3);
    let bare = ShimClient::new(&env.id, env.socket());
    assert!(matches!(bare.wait().await, Err(ShimError::Gone { .. })));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_init_and_kill_all() {
    for all in [false, true] {
        let env = Env::new("kill", &["sleep", "1000"], false);
        let started = spawn(&env.config()).await.unwrap();
        let st = started.client.state().await.unwrap();
        assert_eq!(
            (st.status.as_str(), st.pid),
            ("running", started.container_pid)
        );
        assert_eq!(st.id, env.id);
        started.client.kill(libc::SIGKILL, all).await.unwrap();
        let exit = wait_timeout(&started.client).await;
        assert_eq!(exit.exit_code, 137);
        env.assert_all_gone();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_clients_wait() {
    let env = Env::new("wait2", &["sh", "-c", "sleep 0.5; exit 5"], false);
    let started = spawn(&env.config()).await.unwrap();
    let a = started.client.clone();
    let b = ShimClient::connect(env.socket()).await.unwrap();
    let (ra, rb) = tokio::join!(wait_timeout(&a), wait_timeout(&b));
    assert_eq!((ra.exit_code, rb.exit_code), (5, 5));
    assert_eq!(ra, rb);
    env.assert_all_gone();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attach_with_stdin_cat() {
    let env = Env::new("cat", &["cat"], false);
    let mut cfg = env.config();
    cfg.stdin = true;
    cfg.stdin_once = true;
    let started = spawn(&cfg).await.unwrap();
    let mut att = started
        .client
        .attach(AttachOptions {
            stdin: true,
            stdout: true,
            stderr: true,
            lossless: false,
        })
        .await
        .unwrap();
    let mut input = att.input.take().unwrap();
    input.send(b"hello\n").await.unwrap();
    let big = vec![b'x'; 300_000];
    input.send(&big).await.unwrap();
    input.send(b"\nbye\n").await.unwrap();
    // Half-close the stream the way the daemon forwards an HTTP half-close.
    tokio::io::AsyncWriteExt::shutdown(&mut input)
        .await
        .unwrap();
    let (out, err, exit) = collect(&mut att.output).await;
    assert_eq!(exit.unwrap().exit_code, 0);
    assert!(err.is_empty());
    assert_eq!(out.len(), 6 + 300_000 + 5);
    assert!(out.starts_with(b"hello\n") && out.ends_with(b"\nbye\n"));
    let entries = log_entries(&env, ReadOptions::default()).await;
    assert_eq!(entries.first().unwrap().line, b"hello\n");
    assert_eq!(entries.last().unwrap().line, b"bye\n");
    // 300,000 bytes without a newline: 16 KiB partial pieces, as Docker logs them.
    assert!(
        entries
            .iter()
            .any(|e| e.line.len() == 16 * 1024 && !e.line.ends_with(b"\n"))
    );
    env.assert_all_gone();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tty_resize() {
    let env = Env::new("tty", &["sh", "-c", "read x; stty size; exit 4"], true);
    let mut cfg = env.config();
    cfg.tty = true;
    cfg.stdin = true;
    let started = spawn(&cfg).await.unwrap();
    let mut att = started
        .client
        .attach(AttachOptions {
            stdin: true,
            stdout: true,
            stderr: true,
            lossless: false,
        })
        .await
        .unwrap();
    started.client.resize(40, 132).await.unwrap();
    att.input.as_mut().unwrap().send(b"go\n").await.unwrap();
    let (out, err, exit) = collect(&mut att.output).await;
    assert_eq!(exit.unwrap().exit_code, 4);
    assert!(err.is_empty(), "a TTY has only stdout");
    let text = String::from_utf8_lossy(&out);
    assert!(text.contains("40 132\r\n"), "{text:?}");
    let logged = log_entries(&env, ReadOptions::default()).await;
    assert!(logged.iter().all(|e| e.stream == Stream::Stdout));
    assert!(logged.iter().any(|e| e.line == b"40 132\r\n"));
    env.assert_all_gone();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_streams_and_exit_codes() {
    let env = Env::new("exec", &["sleep", "1000"], false);
    let started = spawn(&env.config()).await.unwrap();
    let client = &started.client;
    let mut s = client
        .exec(&ExecConfig {
            process: exec_process(&["sh", "-c", "echo hi; echo oops >&2; exit 7"], false),
            tty: false,
            stdin: false,
            stdout: true,
            stderr: true,
        })
        .await
        .unwrap();
    assert!(s.pid > 0 && s.exec_id > 0);
    let (out, err, exit) = collect(&mut s.output).await;
    assert_eq!(
        (out.as_slice(), err.as_slice()),
        (&b"hi\n"[..], &b"oops\n"[..])
    );
    assert_eq!(exit.unwrap().exit_code, 7);

    // Stdin, then a TTY exec with its own size.
    let mut s = client
        .exec(&ExecConfig {
            process: exec_process(&["cat"], false),
            tty: false,
            stdin: true,
            stdout: true,
            stderr: true,
        })
        .await
        .unwrap();
    let mut input = s.input.take().unwrap();
    input.send(b"via exec\n").await.unwrap();
    input.close_stdin().await.unwrap();
    let (out, _, exit) = collect(&mut s.output).await;
    assert_eq!(
        (out.as_slice(), exit.unwrap().exit_code),
        (&b"via exec\n"[..], 0)
    );

    let mut s = client
        .exec(&ExecConfig {
            process: exec_process(&["sh", "-c", "read x; stty size"], true),
            tty: true,
            stdin: true,
            stdout: true,
            stderr: false,
        })
        .await
        .unwrap();
    client.resize_exec(s.exec_id, 20, 60).await.unwrap();
    s.input.as_mut().unwrap().send(b"x\n").await.unwrap();
    let (out, _, exit) = collect(&mut s.output).await;
    assert!(
        String::from_utf8_lossy(&out).contains("20 60\r\n"),
        "{out:?}"
    );
    assert_eq!(exit.unwrap().exit_code, 0);

    // A command that does not exist: the runtime's reason.
    let err = client
        .exec(&ExecConfig {
            process: exec_process(&["nonexistent-binary"], false),
            tty: false,
            stdin: false,
            stdout: true,
            stderr: true,
        })
        .await
        .unwrap_err();
    assert!(err.is_command_not_found(), "{err}");
    assert!(err.to_string().contains("OCI runtime exec failed"), "{err}");

    // Exec output never reaches the container's log.
    let logged = log_entries(&env, ReadOptions::default()).await;
    assert!(logged.is_empty(), "{logged:?}");

    client.kill(libc::SIGKILL, false).await.unwrap();
    assert_eq!(wait_timeout(client).await.exit_code, 137);
    let after = client
        .exec(&ExecConfig {
            process: exec_process(&["true"], false),
            tty: false,
            stdin: false,
            stdout: false,
            stderr: false,
        })
        .await;
    assert!(
        matches!(
            after,
            Err(ShimError::Gone { .. } | ShimError::NotRunning { .. })
        ),
        "{after:?}"
    );
    env.assert_all_gone();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daemon_crash_and_reconnect() {
    let env = Env::new("crash", &["sh", "-c", "sleep 1; echo done; exit 2"], false);
    let started = spawn(&env.config()).await.unwrap();
    // A waiter and an attached client vanish with the "daemon".
    let waiter = {
        let c = started.client.clone();
        tokio::spawn(async move { c.wait().await })
    };
    let att = started
        .client
        .attach(AttachOptions::default())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    waiter.abort();
    drop(att);
    drop(started);
    // The "restarted daemon" only knows the socket path.
    let client = ShimClient::connect(env.socket()).await.unwrap();
    assert_eq!(client.id(), env.id);
    assert_eq!(client.state().await.unwrap().status, "running");
    let exit = wait_timeout(&client).await;
    assert_eq!(exit.exit_code, 2);
    let logged = log_entries(&env, ReadOptions::default()).await;
    assert_eq!(logged.len(), 1);
    assert_eq!(logged[0].line, b"done\n");
    env.assert_all_gone();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_start_reports_the_runtime_error_and_leaves_nothing() {
    for mode in [StartMode::Run, StartMode::CreateStart] {
        let env = Env::new("fail", &["nonexistent-binary"], false);
        let mut cfg = env.config();
        cfg.start_mode = mode;
        let err = spawn(&cfg).await.unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, ShimError::Runtime { .. }), "{err:?}");
        assert!(msg.contains("executable file not found"), "{msg}");
        assert!(msg.contains("nonexistent-binary"), "{msg}");
        assert!(err.is_command_not_found());
        env.assert_all_gone();
        assert!(read_exit(&env.state_dir()).unwrap().is_none());
    }
    // A runtime binary that does not exist.
    let env = Env::new("badrt", &["true"], false);
    let mut cfg = env.config();
    cfg.runtime = "/nonexistent/runc".into();
    let err = spawn(&cfg).await.unwrap_err();
    assert!(err.to_string().contains("/nonexistent/runc"), "{err}");
    env.assert_all_gone();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_only_then_start() {
    let env = Env::new("create", &["sh", "-c", "echo started"], false);
    let mut cfg = env.config();
    cfg.start_mode = StartMode::CreateOnly;
    let started = spawn(&cfg).await.unwrap();
    assert_eq!(started.client.state().await.unwrap().status, "created");
    started.client.start().await.unwrap();
    assert_eq!(wait_timeout(&started.client).await.exit_code, 0);
    let logged = log_entries(&env, ReadOptions::default()).await;
    assert_eq!(logged[0].line, b"started\n");
    env.assert_all_gone();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_client_never_blocks_the_container() {
    // 20 MB of output while one attached client reads nothing at all.
    let env = Env::new(
        "slow",
        &[
            "sh",
            "-c",
            "yes 0123456789abcdefghijklmnopqrstuvwxyz | head -c 20000000",
        ],
        false,
    );
    let mut cfg = env.config();
    cfg.start_mode = StartMode::CreateOnly;
    let started = spawn(&cfg).await.unwrap();
    let stuck = started
        .client
        .attach(AttachOptions {
            stdin: false,
            stdout: true,
            stderr: true,
            lossless: false,
        })
        .await
        .unwrap();
    let t = Instant::now();
    started.client.start().await.unwrap();
    let exit = wait_timeout(&started.client).await;
    assert_eq!(exit.exit_code, 0);
    assert!(t.elapsed() < Duration::from_secs(15));
    let n: usize = log_entries(&env, ReadOptions::default())
        .await
        .iter()
        .map(|e| e.line.len())
        .sum();
    assert_eq!(n, 20_000_000);
    drop(stuck);
    env.assert_all_gone();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_rotation_end_to_end() {
    let env = Env::new("rotate", &["sh", "-c", "seq 1 3000"], false);
    let mut cfg = env.config();
    if let Some(l) = &mut cfg.log {
        l.max_size = Some(20_000);
        l.max_files = 3;
    }
    let started = spawn(&cfg).await.unwrap();
    assert_eq!(wait_timeout(&started.client).await.exit_code, 0);
    let rotated = |n: u32| std::path::PathBuf::from(format!("{}.{n}", env.log_path().display()));
    assert!(rotated(1).exists() && rotated(2).exists() && !rotated(3).exists());
    let all = log_entries(&env, ReadOptions::default()).await;
    let nums: Vec<u32> = all
        .iter()
        .map(|e| String::from_utf8_lossy(&e.line).trim().parse().unwrap())
        .collect();
    assert_eq!(*nums.last().unwrap(), 3000);
    assert!(
        nums.windows(2).all(|w| w[1] == w[0] + 1),
        "lines out of order"
    );
    let tail = log_entries(
        &env,
        ReadOptions {
            tail: Some(5),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(tail.len(), 5);
    assert_eq!(tail[0].line, b"2996\n");
    env.assert_all_gone();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oom_kill_is_detected() {
    let env = Env::with_memory(
        "oom",
        &["dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"],
        false,
        Some(16 << 20),
    );
    let started = spawn(&env.config()).await.unwrap();
    let exit = wait_timeout(&started.client).await;
    assert_eq!(exit.exit_code, 137);
    assert!(exit.oom_killed);
    env.assert_all_gone();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attach_to_exited_container_and_protocol_errors() {
    let env = Env::new("misc", &["sleep", "1000"], false);
    let started = spawn(&env.config()).await.unwrap();
    let c = &started.client;
    assert!(matches!(
        c.resize(10, 10).await,
        Err(ShimError::Rejected { .. })
    ));
    assert!(matches!(
        c.kill(0, false).await,
        Err(ShimError::Rejected { .. })
    ));
    assert!(matches!(
        c.kill_exec(99, 9).await,
        Err(ShimError::NotRunning { .. })
    ));
    assert!(matches!(c.start().await, Err(ShimError::Rejected { .. })));
    let mut att = c
        .attach(AttachOptions {
            stdin: false,
            stdout: true,
            stderr: true,
            lossless: false,
        })
        .await
        .unwrap();
    c.kill(libc::SIGKILL, false).await.unwrap();
    match tokio::time::timeout(Duration::from_secs(10), att.output.next()).await {
        Ok(Ok(Some(Output::Exit(e)))) => assert_eq!(e.exit_code, 137),
        other => panic!("{other:?}"),
    }
    env.assert_all_gone();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_at_once_with_the_same_id_and_socket() {
    // What a restart policy does: start again the moment the exit is known.
    let env = Env::new("again", &["sh", "-c", "echo run"], false);
    for _ in 0..5 {
        let started = spawn(&env.config()).await.unwrap();
        assert_eq!(wait_timeout(&started.client).await.exit_code, 0);
    }
    let runs = log_entries(&env, ReadOptions::default()).await;
    assert_eq!(runs.len(), 5);
    env.assert_all_gone();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_stdin_once_stdin_stays_open_until_close_stdin() {
    let env = Env::new("stdin", &["cat"], false);
    let mut cfg = env.config();
    cfg.stdin = true;
    let started = spawn(&cfg).await.unwrap();
    let mut att = started
        .client
        .attach(AttachOptions {
            stdin: true,
            stdout: true,
            stderr: false,
            lossless: false,
        })
        .await
        .unwrap();
    let mut input = att.input.take().unwrap();
    input.send(b"one\n").await.unwrap();
    input.close_stdin().await.unwrap();
    match tokio::time::timeout(Duration::from_secs(10), att.output.next()).await {
        Ok(Ok(Some(Output::Stdout(b)))) => assert_eq!(&b[..], b"one\n"),
        other => panic!("{other:?}"),
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(started.client.state().await.unwrap().status, "running");
    started.client.close_stdin().await.unwrap();
    assert_eq!(wait_timeout(&started.client).await.exit_code, 0);
    env.assert_all_gone();
}
