//! Shared helpers of the integration tests: a busybox rootfs, a bundle
//! from a generated spec, and a guard that removes the container, its
//! runtime state and its cgroups whatever happens.

#![allow(dead_code)]

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use berth_runtime::cgroup::{self, CgroupPaths};
use berth_runtime::runtimes::{RuntimeCli, RuntimeConfig, find_binary};
use berth_runtime::spec::{self, GeneratedSpec, HostInfo, SpecInput};

static N: AtomicU32 = AtomicU32::new(0);

/// Whether the host can run these tests (root, runc, a static busybox).
pub fn can_run() -> bool {
    let ok = nix::unistd::geteuid().is_root()
        && find_binary("runc").is_some()
        && Path::new("/bin/busybox").is_file();
    if !ok {
        eprintln!("skipping: needs root, runc and /bin/busybox");
    }
    ok
}

pub const APPLETS: &[&str] = &[
    "sh", "cat", "echo", "id", "grep", "dd", "head", "sleep", "touch", "ls", "mkdir", "true",
    "pwd", "tr", "wc",
];

/// A container under test: its files, runtime and cgroups.
pub struct TestContainer {
    pub id: String,
    pub dir: tempfile::TempDir,
    pub rootfs: PathBuf,
    pub rt: RuntimeCli,
    pub host: HostInfo,
    pub parent: String,
    pub paths: CgroupPaths,
}

impl TestContainer {
    /// A busybox rootfs with users `app` (1000) and group `wheel` (10).
    pub fn new(tag: &str) -> Self {
        let host = HostInfo::detect().expect("host detection");
        let n = N.fetch_add(1, Ordering::Relaxed);
        let id = format!("berth-it-{tag}-{}-{n}", std::process::id());
        let parent = format!("/berth-it-{}-{n}", std::process::id());
        let dir = tempfile::tempdir().expect("tempdir");
        let rootfs = dir.path().join("bundle/rootfs");
        fs::create_dir_all(rootfs.join("bin")).unwrap();
        fs::create_dir_all(rootfs.join("etc")).unwrap();
        fs::create_dir_all(rootfs.join("home")).unwrap();
        fs::create_dir_all(rootfs.join("tmp")).unwrap();
        fs::copy("/bin/busybox", rootfs.join("bin/busybox")).unwrap();
        for a in APPLETS {
            symlink("busybox", rootfs.join("bin").join(a)).unwrap();
        }
        fs::write(
            rootfs.join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n",
        )
        .unwrap();
        fs::write(
            rootfs.join("etc/group"),
            "root:x:0:\napp:x:1000:\nwheel:x:10:app\n",
        )
        .unwrap();
        for (f, text) in [
            ("hosts", "127.0.0.1\tlocalhost\n"),
            ("hostname", "testhost\n"),
            ("resolv.conf", "nameserver 192.0.2.1\n"),
        ] {
            fs::write(dir.path().join(f), text).unwrap();
        }
        let runc = find_binary("runc").unwrap();
        let rt = RuntimeCli::new(
            &RuntimeConfig {
                name: "runc".into(),
                path: runc,
                args: vec![],
            },
            dir.path().join("state"),
        )
        .with_timeout(Duration::from_secs(30));
        let paths = host
            .cgroup
            .paths(&format!("{parent}/{id}"))
            .expect("cgroup paths");
        TestContainer {
            id,
            dir,
            rootfs,
            rt,
            host,
            parent,
            paths,
        }
    }

    /// A spec input with the container's files and cgroup parent.
    pub fn input(&self, args: &[&str]) -> SpecInput {
        let mut i = SpecInput::new(
            &self.id,
            &self.rootfs,
            args.iter().map(|s| s.to_string()).collect(),
        );
        i.hostname = "testhost".into();
        i.cgroup_parent = Some(self.parent.clone());
        i.etc_hosts = Some(self.dir.path().join("hosts"));
        i.etc_hostname = Some(self.dir.path().join("hostname"));
        i.etc_resolv_conf = Some(self.dir.path().join("resolv.conf"));
        i
    }

    pub fn write(&self, input: &SpecInput) -> GeneratedSpec {
        let g = spec::generate(input, &self.host).expect("spec generation");
        spec::write_config(&self.dir.path().join("bundle"), &g.spec).expect("config.json");
        g
    }

    fn run_cmd(&self, detach: bool) -> Command {
        let mut c = self.rt.command("run");
        if detach {
            c.arg("--detach");
        }
        c.arg("--bundle")
            .arg(self.dir.path().join("bundle"))
            .arg(&self.id);
        c
    }

    /// `runc run` in the foreground: exit code, stdout, stderr.
    pub fn run(&self, timeout: Duration) -> (i32, String, String) {
        let mut child = self
            .run_cmd(false)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("runc run");
        let mut out = child.stdout.take().unwrap();
        let mut err = child.stderr.take().unwrap();
        let o = thread::spawn(move || {
            let mut s = String::new();
            std::io::Read::read_to_string(&mut out, &mut s).ok();
            s
        });
        let e = thread::spawn(move || {
            let mut s = String::new();
            std::io::Read::read_to_string(&mut err, &mut s).ok();
            s
        });
        let deadline = Instant::now() + timeout;
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            if Instant::now() > deadline {
                let _ = self.rt.kill(&self.id, "KILL", true);
                let _ = child.kill();
                let _ = child.wait();
                panic!("container {} did not finish in {timeout:?}", self.id);
            }
            thread::sleep(Duration::from_millis(10));
        };
        (
            status.code().unwrap_or(-1),
            o.join().unwrap(),
            e.join().unwrap(),
        )
    }

    /// `runc run --detach` with output to a file; returns once started.
    pub fn run_detached(&self) {
        let log = fs::File::create(self.dir.path().join("output")).unwrap();
        let status = self
            .run_cmd(true)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .status()
            .expect("runc run --detach");
        assert!(status.success(), "runc run --detach: {}", self.output());
    }

    pub fn output(&self) -> String {
        fs::read_to_string(self.dir.path().join("output")).unwrap_or_default()
    }

    /// Waits until the runtime reports `status`.
    pub fn wait_status(&self, status: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let st = self.rt.state(&self.id).expect("runc state");
            if st.status == status {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "still {} after {timeout:?}",
                st.status
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Removes everything; safe to call twice.
    pub fn cleanup(&self) {
        let _ = self.rt.kill(&self.id, "KILL", true);
        let _ = self.rt.delete(&self.id, true);
        if let Ok(parent) = self.host.cgroup.paths(&self.parent)
            && let Err(e) = cgroup::remove(&parent, Duration::from_secs(10))
        {
            eprintln!("cleanup of {}: {e}", self.parent);
        }
    }

    /// Asserts nothing of the container is left on the host.
    pub fn assert_gone(&self) {
        let parent = self.host.cgroup.paths(&self.parent).unwrap();
        for d in parent.all_dirs() {
            assert!(!d.exists(), "{} left behind", d.display());
        }
        assert!(matches!(
            self.rt.state(&self.id),
            Err(berth_runtime::RuntimeError::NotFound(_))
        ));
    }
}

impl Drop for TestContainer {
    fn drop(&mut self) {
        self.cleanup();
    }
}
