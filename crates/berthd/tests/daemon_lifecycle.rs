//! berthd start-up, configuration errors, pidfile, signals and listeners,
//! against the real binary.

use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::process::Command;

use berth_testkit::TestDaemon;

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn starts_serves_and_shuts_down_cleanly() {
    let mut d = TestDaemon::start();
    let meta = std::fs::symlink_metadata(&d.socket).unwrap();
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.permissions().mode() & 0o777, 0o660);
    let pid = std::fs::read_to_string(&d.pidfile).unwrap();
    assert_eq!(pid.trim(), d.pid().unwrap().to_string());
    // Data and exec roots exist with Docker's modes.
    assert_eq!(
        std::fs::metadata(&d.root).unwrap().permissions().mode() & 0o777,
        0o711
    );
    assert_eq!(
        std::fs::metadata(&d.exec_root)
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o700
    );

    let status = d.stop().unwrap();
    assert!(
        status.success(),
        "berthd exited with {status}:\n{}",
        d.log_text()
    );
    assert!(!d.socket.exists(), "socket left behind");
    assert!(!d.pidfile.exists(), "pidfile left behind");
    assert!(d.log_text().contains("berthd stopped"), "{}", d.log_text());
}

#[test]
fn second_daemon_on_same_pidfile_is_refused() {
    let d = TestDaemon::start();
    let other_sock = d.dir.path().join("other.sock");
    let out = d.run_berthd_once(&["-H", &format!("unix://{}", other_sock.display())]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("pid file found"), "{}", stderr(&out));
    // The first daemon is unharmed.
    assert_eq!(d.get("/_ping").status, 200);
}

#[test]
fn stale_pidfile_after_a_crash_is_taken_over() {
    let mut d = TestDaemon::start();
    d.kill9();
    assert!(d.pidfile.exists());
    d.restart();
    assert_eq!(d.get("/_ping").status, 200);
}

#[test]
fn config_errors_name_the_problem() {
    let d = TestDaemon::start();
    let cases: Vec<(String, Vec<&str>, &str)> = vec![
        (
            r#"{"debug": true}"#.into(),
            vec!["--debug"],
            "both as a flag and in the configuration file: debug",
        ),
        (
            r#"{"colour": "blue"}"#.into(),
            vec![],
            "don't match any configuration option: colour",
        ),
        (
            "{}".into(),
            vec!["--bridge", "br0", "--bip", "10.9.0.1/24"],
            "mutually exclusive",
        ),
        (
            "{}".into(),
            vec!["--iptables=false", "--icc=false"],
            "--icc=false",
        ),
        ("{not json".into(), vec![], "invalid JSON"),
        (
            "{}".into(),
            vec!["--log-level", "loud"],
            "invalid log level",
        ),
        ("{}".into(), vec!["-H", "tcp://127.0.0.1:1"], "without TLS"),
    ];
    for (file, args, want) in cases {
        let path = d.dir.path().join("bad.json");
        std::fs::write(&path, &file).unwrap();
        let sock = d.dir.path().join("bad.sock");
        let mut cmd = Command::new(berth_testkit::daemon::berthd_bin());
        cmd.arg("--config-file")
            .arg(&path)
            .arg("--data-root")
            .arg(d.dir.path().join("bad-root"))
            .arg("--exec-root")
            .arg(d.dir.path().join("bad-run"))
            .arg("--pidfile")
            .arg(d.dir.path().join("bad.pid"))
            .args(&args);
        if !args.contains(&"-H") {
            cmd.arg("-H").arg(format!("unix://{}", sock.display()));
        }
        let out = cmd.output().unwrap();
        assert!(!out.status.success(), "{file} {args:?} should fail");
        assert!(
            stderr(&out).contains(want),
            "{file} {args:?}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn explicit_missing_config_file_is_an_error() {
    let d = TestDaemon::start();
    let out = Command::new(berth_testkit::daemon::berthd_bin())
        .arg("--config-file")
        .arg(d.dir.path().join("nope.json"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("nope.json"), "{}", stderr(&out));
}

#[test]
fn sighup_reloads_debug_and_log_level() {
    let d = TestDaemon::start_with(&[]);
    std::fs::write(&d.config_file, r#"{"log-level":"warn"}"#).unwrap();
    d.signal(libc::SIGHUP);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !d.log_text().contains("configuration reloaded") {
        assert!(
            std::time::Instant::now() < deadline,
            "no reload:\n{}",
            d.log_text()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // A bad file on reload is refused and the daemon keeps running.
    std::fs::write(&d.config_file, r#"{"log-level":"#).unwrap();
    d.signal(libc::SIGHUP);
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(d.get("/_ping").status, 200);
}

#[test]
fn plain_tcp_needs_explicit_flag_and_warns() {
    let port = free_port();
    let d = TestDaemon::start_with(&["-H", &format!("tcp://127.0.0.1:{port}"), "--tls=false"]);
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    use std::io::{Read, Write};
    s.write_all(b"GET /_ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    assert!(
        d.log_text().contains("without encryption"),
        "{}",
        d.log_text()
    );
    let info = d.get("/info").json();
    let warnings = info["Warnings"].as_array().unwrap();
    assert!(
        warnings
            .iter()
            .any(|w| w.as_str().unwrap().contains("without encryption"))
    );
}

#[test]
fn tls_listener_requires_client_certificates() {
    if Command::new("openssl").arg("version").output().is_err() {
        eprintln!("openssl not installed: skipping the TLS listener test");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n).display().to_string();
    let run = |args: &[&str]| {
        let out = Command::new("openssl").args(args).output().unwrap();
        assert!(out.status.success(), "openssl {args:?}: {}", stderr(&out));
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=test-ca",
        "-keyout",
        &p("ca-key.pem"),
        "-out",
        &p("ca.pem"),
    ]);
    std::fs::write(
        p("san.cnf"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-keyout",
        &p("key.pem"),
        "-out",
        &p("server.csr"),
    ]);
    run(&[
        "x509",
        "-req",
        "-in",
        &p("server.csr"),
        "-CA",
        &p("ca.pem"),
        "-CAkey",
        &p("ca-key.pem"),
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        &p("san.cnf"),
        "-out",
        &p("cert.pem"),
    ]);
    std::fs::write(p("client.cnf"), "extendedKeyUsage=clientAuth\n").unwrap();
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=client",
        "-keyout",
        &p("client-key.pem"),
        "-out",
        &p("client.csr"),
    ]);
    run(&[
        "x509",
        "-req",
        "-in",
        &p("client.csr"),
        "-CA",
        &p("ca.pem"),
        "-CAkey",
        &p("ca-key.pem"),
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        &p("client.cnf"),
        "-out",
        &p("client-cert.pem"),
    ]);

    let port = free_port();
    let d = TestDaemon::start_with(&[
        "-H",
        &format!("tcp://127.0.0.1:{port}"),
        "--tlsverify",
        "--tlscacert",
        &p("ca.pem"),
        "--tlscert",
        &p("cert.pem"),
        "--tlskey",
        &p("key.pem"),
    ]);
    let s_client = |with_cert: bool| {
        let mut args = vec![
            "s_client".to_string(),
            "-connect".into(),
            format!("127.0.0.1:{port}"),
            "-CAfile".into(),
            p("ca.pem"),
            "-quiet".into(),
        ];
        if with_cert {
            args.extend([
                "-cert".into(),
                p("client-cert.pem"),
                "-key".into(),
                p("client-key.pem"),
            ]);
        }
        let mut child = Command::new("openssl")
            .args(&args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(b"GET /_ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let out = child.wait_with_output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let ok = s_client(true);
    assert!(
        ok.contains("HTTP/1.1 200"),
        "with a client certificate: {ok}"
    );
    let refused = s_client(false);
    assert!(
        !refused.contains("HTTP/1.1 200"),
        "without a client certificate: {refused}"
    );
    assert_eq!(d.get("/_ping").status, 200);
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
