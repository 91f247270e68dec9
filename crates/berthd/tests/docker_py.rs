//! docker-py (Debian's `python3-docker`) against berthd; skipped with a
//! message when python3 or the module is missing.

use std::process::Command;

use berth_testkit::TestDaemon;

#[test]
fn docker_py_smoke() {
    let have = Command::new("python3")
        .args(["-c", "import docker"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !have {
        eprintln!(
            "SKIP docker_py_smoke: python3 with the docker module (python3-docker) is not installed"
        );
        return;
    }
    let d = TestDaemon::start();
    d.import_busybox();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/scripts/docker_py_smoke.py"
    );
    let out = Command::new("python3")
        .arg(script)
        .env("BERTH_SOCK", &d.socket)
        .env("BERTH_BRIDGE", d.net.bridge_for(1))
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "docker-py smoke failed:\nstdout: {}\nstderr: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        d.log_text()
    );
}
