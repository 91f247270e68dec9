//! Networking with the real docker CLI, as a new user would try it
//! (skipped with a message when `docker` is not installed): a published
//! port fetched from 127.0.0.1, two containers on a user network reaching
//! each other by name, `--network none`, `host` and `container:web`,
//! `docker port`, `docker network ls|inspect|rm`.

use std::io::{Read, Write};
use std::process::Output;
use std::time::Duration;

use berth_testkit::TestDaemon;

fn ok(out: &Output, what: &str) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "docker {what} failed ({}):\nstdout: {stdout}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn port_for_test() -> u16 {
    // The port when free, else any free one.
    if std::net::TcpListener::bind("0.0.0.0:18080").is_ok() {
        return 18080;
    }
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(18081)
}

fn http_get(port: u16, path: &str) -> String {
    let mut last = String::new();
    for _ in 0..50 {
        match std::net::TcpStream::connect(("127.0.0.1", port)) {
            Ok(mut s) => {
                s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                let _ = write!(s, "GET {path} HTTP/1.0\r\n\r\n");
                let mut out = String::new();
                let _ = s.read_to_string(&mut out);
                if out.contains("200 OK") {
                    return out;
                }
                last = out;
            }
            Err(e) => last = e.to_string(),
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    last
}

#[test]
fn docker_cli_networking() {
    let d = TestDaemon::start();
    if d.docker(&["version"]).is_none() {
        return;
    }
    d.import_busybox();
    let port = port_for_test();
    let publish = format!("{port}:80");
    let id = ok(
        &d.docker(&[
            "run", "-d", "--name", "pub", "-p", &publish, "busybox", "httpd", "-f", "-p", "80",
            "-h", "/etc",
        ])
        .unwrap(),
        "run -p",
    );
    assert_eq!(id.trim().len(), 64);
    let page = http_get(port, "/passwd");
    assert!(page.contains("root:x:0:0"), "{page}");
    let text = ok(&d.docker(&["port", "pub"]).unwrap(), "port");
    assert!(
        text.contains(&format!("80/tcp -> 0.0.0.0:{port}")),
        "{text}"
    );
    let text = ok(&d.docker(&["ps"]).unwrap(), "ps");
    assert!(text.contains(&format!("0.0.0.0:{port}->80/tcp")), "{text}");

    // A user network: two containers reach each other by name.
    let subnet = d.net.subnet(6);
    ok(
        &d.docker(&[
            "network",
            "create",
            "--subnet",
            &subnet,
            "-o",
            &format!("com.docker.network.bridge.name={}", d.net.bridge_for(6)),
            "app",
        ])
        .unwrap(),
        "network create",
    );
    ok(
        &d.docker(&[
            "run",
            "-d",
            "--name",
            "web",
            "--network",
            "app",
            "busybox",
            "sh",
            "-c",
            "echo hello-by-name > /var/www/index.html; httpd -f -p 80 -h /var/www",
        ])
        .unwrap(),
        "run web",
    );
    let text = ok(
        &d.docker(&[
            "run",
            "--rm",
            "--network",
            "app",
            "busybox",
            "wget",
            "-qO-",
            "http://web",
        ])
        .unwrap(),
        "wget web",
    );
    assert_eq!(text, "hello-by-name\n");
    let text = ok(&d.docker(&["network", "ls"]).unwrap(), "network ls");
    for n in ["app", "bridge", "host", "none"] {
        assert!(text.contains(n), "{text}");
    }
    let text = ok(
        &d.docker(&[
            "network",
            "inspect",
            "app",
            "--format",
            "{{range .Containers}}{{.Name}}{{end}}",
        ])
        .unwrap(),
        "network inspect",
    );
    assert_eq!(text.trim(), "web");

    // none: only lo; host: the host's interfaces; container:web: web's address.
    let text = ok(
        &d.docker(&[
            "run",
            "--rm",
            "--network",
            "none",
            "busybox",
            "ip",
            "-o",
            "link",
        ])
        .unwrap(),
        "run --network none",
    );
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.contains("lo:"), "{text}");
    let text = ok(
        &d.docker(&[
            "run",
            "--rm",
            "--network",
            "host",
            "busybox",
            "ip",
            "-o",
            "link",
        ])
        .unwrap(),
        "run --network host",
    );
    assert!(
        text.contains(&d.net.bridge()),
        "the host's interfaces: {text}"
    );
    let web_ip = ok(
        &d.docker(&[
            "inspect",
            "--format",
            "{{.NetworkSettings.Networks.app.IPAddress}}",
            "web",
        ])
        .unwrap(),
        "inspect web",
    );
    let text = ok(
        &d.docker(&[
            "run",
            "--rm",
            "--network",
            "container:web",
            "busybox",
            "ip",
            "-4",
            "-o",
            "addr",
        ])
        .unwrap(),
        "run --network container:web",
    );
    assert!(text.contains(&format!("{}/24", web_ip.trim())), "{text}");

    // In use: refused; after the containers go: removed.
    let out = d.docker(&["network", "rm", "app"]).unwrap();
    assert!(!out.status.success());
    ok(&d.docker(&["rm", "-f", "web", "pub"]).unwrap(), "rm -f");
    ok(&d.docker(&["network", "rm", "app"]).unwrap(), "network rm");
}
