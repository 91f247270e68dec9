//! A real `berthd` for one test: its own temporary data root, exec root,
//! pidfile and socket; stopped and cleaned up (mounts included) on drop.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::http::{self, Response};

/// The directory holding the workspace's built binaries.
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("current_exe: {e}"));
    // target/<profile>/deps/<test> -> target/<profile>
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .unwrap_or_else(|| panic!("unexpected test binary location {}", exe.display()))
        .to_path_buf();
    if !dir.join("berthd").exists() {
        panic!(
            "{} has no berthd: build the binaries first (cargo build --workspace --bins)",
            dir.display()
        );
    }
    dir
}

pub fn berthd_bin() -> PathBuf {
    bin_dir().join("berthd")
}

pub fn berth_bin() -> PathBuf {
    bin_dir().join("berth")
}

pub struct TestDaemon {
    pub dir: tempfile::TempDir,
    pub root: PathBuf,
    pub exec_root: PathBuf,
    pub socket: PathBuf,
    pub pidfile: PathBuf,
    pub config_file: PathBuf,
    pub log: PathBuf,
    extra_args: Vec<String>,
    child: Option<Child>,
    /// The daemon's own bridge, subnets and firewall table (netslot.rs),
    /// deleted when the daemon is dropped.
    pub net: crate::netslot::NetSlot,
}

impl TestDaemon {
    /// Starts a daemon with default options.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// Starts a daemon with extra `berthd` arguments.
    pub fn start_with(args: &[&str]) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("berth-test-")
            .tempdir()
            .unwrap_or_else(|e| panic!("tempdir: {e}"));
        let base = dir.path().to_path_buf();
        let mut d = Self {
            root: base.join("root"),
            exec_root: base.join("run"),
            socket: base.join("berth.sock"),
            pidfile: base.join("berthd.pid"),
            config_file: base.join("daemon.json"),
            log: base.join("berthd.log"),
            dir,
            extra_args: args.iter().map(|s| s.to_string()).collect(),
            child: None,
            net: crate::netslot::NetSlot::acquire(),
        };
        if !d.config_file.exists() {
            std::fs::write(&d.config_file, "{}").unwrap_or_else(|e| panic!("daemon.json: {e}"));
        }
        d.spawn();
        d
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(berthd_bin());
        cmd.arg("--config-file")
            .arg(&self.config_file)
            .arg("--data-root")
            .arg(&self.root)
            .arg("--exec-root")
            .arg(&self.exec_root)
            .arg("--pidfile")
            .arg(&self.pidfile)
            .arg("-H")
            .arg(format!("unix://{}", self.socket.display()))
            .arg("--debug");
        // Each test daemon has its own default bridge and subnets, unless
        // the test chose networking options itself.
        let given = |flags: &[&str]| {
            self.extra_args.iter().any(|a| {
                flags
                    .iter()
                    .any(|f| a == f || a.starts_with(&format!("{f}=")))
            })
        };
        if !given(&["--bridge", "-b", "--default-bridge-name"]) {
            cmd.arg("--default-bridge-name").arg(self.net.bridge());
        }
        if !given(&["--bridge", "-b", "--bip"]) {
            cmd.arg("--bip").arg(self.net.bip());
        }
        if !given(&["--default-address-pool"]) {
            cmd.arg("--default-address-pool").arg(self.net.pool());
        }
        cmd.args(&self.extra_args);
        cmd
    }

    /// Runs `berthd` with this daemon's paths plus `args` and returns its
    /// output, for tests of start-up errors (the daemon must exit).
    pub fn run_berthd_once(&self, args: &[&str]) -> Output {
        let mut cmd = self.command();
        cmd.args(args);
        cmd.output()
            .unwrap_or_else(|e| panic!("running berthd: {e}"))
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap_or_else(|e| panic!("log file: {e}"));
        let log2 = log.try_clone().unwrap_or_else(|e| panic!("log file: {e}"));
        let child = self
            .command()
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log2))
            .spawn()
            .unwrap_or_else(|e| panic!("starting berthd: {e}"));
        self.child = Some(child);
        self.wait_ready();
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = http::request(&self.socket, "GET", "/_ping", &[], b"")
                && r.status == 200
            {
                return;
            }
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                panic!(
                    "berthd exited during start-up ({status}):\n{}",
                    self.log_text()
                );
            }
            if Instant::now() > deadline {
                panic!("berthd did not answer within 30 s:\n{}", self.log_text());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Sends a signal to the daemon.
    pub fn signal(&self, sig: i32) {
        if let Some(pid) = self.pid() {
            // SAFETY: plain kill(2) on our own child.
            unsafe {
                libc::kill(pid as i32, sig);
            }
        }
    }

    /// Stops the daemon with SIGTERM and waits for it to exit.
    pub fn stop(&mut self) -> Option<std::process::ExitStatus> {
        let mut child = self.child.take()?;
        self.signal_pid(child.id(), libc::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match child.try_wait() {
                Ok(Some(status)) => return Some(status),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                _ => {
                    let _ = child.kill();
                    return child.wait().ok();
                }
            }
        }
    }

    /// Kills the daemon with SIGKILL (a crash) and reaps it.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the daemon again on the same root (after stop or kill9).
    pub fn restart(&mut self) {
        if self.child.is_some() {
            self.stop();
        }
        self.spawn();
    }

    fn signal_pid(&self, pid: u32, sig: i32) {
        // SAFETY: plain kill(2) on our own child.
        unsafe {
            libc::kill(pid as i32, sig);
        }
    }

    pub fn host(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    /// A raw request to the daemon.
    pub fn request(&self, method: &str, path: &str, body: &[u8]) -> Response {
        http::request(&self.socket, method, path, &[], body)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}\n{}", self.log_text()))
    }

    /// A raw request with headers.
    pub fn request_with(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Response {
        http::request(&self.socket, method, path, headers, body)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}\n{}", self.log_text()))
    }

    pub fn get(&self, path: &str) -> Response {
        self.request("GET", path, b"")
    }

    pub fn post(&self, path: &str, body: &[u8]) -> Response {
        self.request("POST", path, body)
    }

    pub fn post_json(&self, path: &str, body: &serde_json::Value) -> Response {
        let text = body.to_string();
        self.request_with(
            "POST",
            path,
            &[("Content-Type", "application/json")],
            text.as_bytes(),
        )
    }

    pub fn delete(&self, path: &str) -> Response {
        self.request("DELETE", path, b"")
    }

    /// Imports `tar` as `reference` and returns the image ID.
    pub fn import(&self, tar: &[u8], reference: &str) -> String {
        let (repo, tag) = match reference.rsplit_once(':') {
            Some((r, t)) if !t.contains('/') => (r, t),
            _ => (reference, "latest"),
        };
        let path = format!("/images/create?fromSrc=-&repo={repo}&tag={tag}");
        let r = self.request_with("POST", &path, &[("Content-Type", "application/x-tar")], tar);
        assert_eq!(r.status, 200, "import failed: {}", r.text());
        let lines = r.json_lines();
        let last = lines
            .last()
            .unwrap_or_else(|| panic!("import printed nothing"));
        if let Some(err) = last.get("error") {
            panic!("import failed: {err}");
        }
        last["status"].as_str().unwrap_or("").to_string()
    }

    /// Imports the busybox test image as `busybox:latest` with `CMD ["sh"]`.
    pub fn import_busybox(&self) -> String {
        let tar = crate::busybox::rootfs_tar();
        let path = "/images/create?fromSrc=-&repo=busybox&tag=latest&changes=CMD%20%5B%22sh%22%5D";
        let r = self.request_with("POST", path, &[("Content-Type", "application/x-tar")], &tar);
        assert_eq!(r.status, 200, "import failed: {}", r.text());
        let lines = r.json_lines();
        lines
            .last()
            .and_then(|l| l["status"].as_str())
            .unwrap_or_else(|| panic!("import gave no ID: {}", r.text()))
            .to_string()
    }

    /// Runs the `berth` CLI against this daemon.
    pub fn berth(&self, args: &[&str]) -> Output {
        self.berth_stdin(args, None)
    }

    /// Runs the `berth` CLI with `stdin` as its standard input.
    pub fn berth_stdin(&self, args: &[&str], stdin: Option<&[u8]>) -> Output {
        run_cli(&berth_bin(), &[("BERTH_HOST", &self.host())], args, stdin)
    }

    /// Runs the real `docker` CLI against this daemon, or `None` (with a
    /// message) when it is not installed.
    pub fn docker(&self, args: &[&str]) -> Option<Output> {
        self.docker_stdin(args, None)
    }

    pub fn docker_stdin(&self, args: &[&str], stdin: Option<&[u8]>) -> Option<Output> {
        let docker = docker_cli()?;
        let config = self.dir.path().join("docker-config");
        let _ = std::fs::create_dir_all(&config);
        let config = config.display().to_string();
        Some(run_cli(
            &docker,
            &[("DOCKER_HOST", &self.host()), ("DOCKER_CONFIG", &config)],
            args,
            stdin,
        ))
    }
}

/// The `docker` CLI on PATH, if any.
pub fn docker_cli() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    let found = std::env::split_paths(&path)
        .map(|d| d.join("docker"))
        .find(|p| p.is_file());
    if found.is_none() {
        eprintln!("docker CLI not found on PATH: skipping the docker compatibility checks");
    }
    found
}

fn run_cli(bin: &Path, env: &[(&str, &str)], args: &[&str], stdin: Option<&[u8]>) -> Output {
    use std::io::Write;
    let mut cmd = Command::new(bin);
    cmd.args(args)
        .env_remove("BERTH_HOST")
        .env_remove("DOCKER_HOST")
        .env_remove("DOCKER_CONTEXT")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("running {}: {e}", bin.display()));
    if let Some(data) = stdin {
        let mut pipe = child
            .stdin
            .take()
            .unwrap_or_else(|| panic!("no stdin pipe"));
        let data = data.to_vec();
        std::thread::spawn(move || {
            let _ = pipe.write_all(&data);
        });
    }
    child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("waiting for {}: {e}", bin.display()))
}

impl Drop for TestDaemon {
    fn drop(&mut self) {
        if self.child.is_some() {
            self.stop();
        }
        unmount_under(self.dir.path());
    }
}

/// Lazily unmounts every mount point below `dir`, deepest first.
pub fn unmount_under(dir: &Path) {
    let Ok(text) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return;
    };
    let prefix = dir.display().to_string();
    let mut points: Vec<String> = text
        .lines()
        .filter_map(|l| l.split_whitespace().nth(4))
        .map(unescape_mount_path)
        .filter(|p| p.starts_with(&prefix))
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for p in points {
        if let Ok(c) = std::ffi::CString::new(p) {
            // SAFETY: umount2 with a valid C string.
            unsafe {
                libc::umount2(c.as_ptr(), libc::MNT_DETACH);
            }
        }
    }
}

fn unescape_mount_path(s: &str) -> String {
    s.replace("\\040", " ")
        .replace("\\011", "\t")
        .replace("\\012", "\n")
        .replace("\\134", "\\")
}
