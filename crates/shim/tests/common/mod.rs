//! Test containers: a busybox bundle in a temporary directory, a unique
//! id and cgroup, and cleanup of everything (processes, runtime state,
//! cgroups) when the test ends, however it ends.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use berth_shim::{LogConfig, ShimConfig, StartMode};
use serde_json::json;

pub const RUNC: &str = "/usr/sbin/runc";
const TOOLS: &[&str] = &[
    "sh", "cat", "echo", "sleep", "true", "stty", "env", "ls", "head", "yes", "dd", "tr", "wc",
    "seq",
];
const CGROUP_PARENT: &str = "berth-shim-test";

static COUNTER: AtomicU32 = AtomicU32::new(0);

pub struct Env {
    pub dir: tempfile::TempDir,
    pub id: String,
    pub cgroup: String,
}

/// Busybox rootfs under `dir/rootfs`.
pub fn make_rootfs(dir: &Path) {
    let bin = dir.join("rootfs/bin");
    std::fs::create_dir_all(&bin).unwrap();
    for d in ["proc", "dev", "sys", "tmp", "etc"] {
        std::fs::create_dir_all(dir.join("rootfs").join(d)).unwrap();
    }
    if std::fs::hard_link("/bin/busybox", bin.join("busybox")).is_err() {
        std::fs::copy("/bin/busybox", bin.join("busybox")).unwrap();
    }
    for t in TOOLS {
        std::os::unix::fs::symlink("busybox", bin.join(t)).unwrap();
    }
}

/// A minimal OCI config running `args`.
pub fn config_json(
    args: &[&str],
    tty: bool,
    cgroup: &str,
    memory_limit: Option<i64>,
) -> serde_json::Value {
    let caps = json!(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]);
    let mut resources = json!({"devices": [{"allow": false, "access": "rwm"}]});
    if let Some(m) = memory_limit {
        resources["memory"] = json!({"limit": m, "swap": m});
    }
    json!({
        "ociVersion": "1.0.2",
        "process": {
            "terminal": tty,
            "user": {"uid": 0, "gid": 0},
            "args": args,
            "env": ["PATH=/bin", "TERM=xterm"],
            "cwd": "/",
            "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": true
        },
        "root": {"path": "rootfs", "readonly": false},
        "hostname": "shimtest",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]}
        ],
        "linux": {
            "resources": resources,
            "cgroupsPath": cgroup,
            "namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"},
                           {"type": "uts"}, {"type": "mount"}],
            "maskedPaths": ["/proc/kcore", "/proc/keys", "/proc/timer_list", "/sys/firmware"],
            "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
        }
    })
}

impl Env {
    pub fn new(name: &str, args: &[&str], tty: bool) -> Env {
        Env::with_memory(name, args, tty, None)
    }

    pub fn with_memory(name: &str, args: &[&str], tty: bool, memory_limit: Option<i64>) -> Env {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let id = format!("bst-{name}-{}-{n}", std::process::id());
        let cgroup = format!("/{CGROUP_PARENT}/{id}");
        let dir = tempfile::Builder::new().prefix("bst").tempdir().unwrap();
        make_rootfs(dir.path());
        std::fs::write(
            dir.path().join("config.json"),
            serde_json::to_vec_pretty(&config_json(args, tty, &cgroup, memory_limit)).unwrap(),
        )
        .unwrap();
        for d in ["state", "root", "logs"] {
            std::fs::create_dir_all(dir.path().join(d)).unwrap();
        }
        Env { dir, id, cgroup }
    }

    pub fn state_dir(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("state/ctl.sock")
    }

    pub fn runtime_root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("logs/c-json.log")
    }

    pub fn config(&self) -> ShimConfig {
        let mut c = ShimConfig::new(
            option_env!("CARGO_BIN_EXE_berth-shim").unwrap_or("berth-shim"),
            &self.id,
            self.dir.path(),
            RUNC,
            self.runtime_root(),
            self.state_dir(),
            self.socket(),
        );
        c.log = Some(LogConfig {
            path: self.log_path(),
            max_size: None,
            max_files: 1,
        });
        c.cgroup_path = Some(self.cgroup.clone());
        c.start_mode = StartMode::Run;
        c
    }

    /// Containers the runtime still knows.
    pub fn runtime_list(&self) -> String {
        let out = std::process::Command::new(RUNC)
            .arg("--root")
            .arg(self.runtime_root())
            .arg("list")
            .arg("-q")
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Live processes whose command line mentions this test's id (the shim).
    pub fn live_processes(&self) -> Vec<i32> {
        processes_mentioning(&self.id)
    }

    /// Cgroup directories left for this container.
    pub fn cgroup_dirs(&self) -> Vec<PathBuf> {
        let mut found = Vec::new();
        if let Ok(rd) = std::fs::read_dir("/sys/fs/cgroup") {
            for e in rd.flatten() {
                let p = e.path().join(self.cgroup.trim_start_matches('/'));
                if p.exists() {
                    found.push(p);
                }
            }
        }
        let unified = Path::new("/sys/fs/cgroup").join(self.cgroup.trim_start_matches('/'));
        if unified.exists() {
            found.push(unified);
        }
        found
    }

    /// Waits until the shim has left and nothing of the container remains.
    pub fn assert_all_gone(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let procs = self.live_processes();
            let list = self.runtime_list();
            let cgroups = self.cgroup_dirs();
            if procs.is_empty() && !list.contains(&self.id) && cgroups.is_empty() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "left behind: processes {procs:?}, runtime state {list:?}, cgroups {cgroups:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(!self.socket().exists(), "control socket left behind");
    }
}

pub fn processes_mentioning(needle: &str) -> Vec<i32> {
    let mut out = Vec::new();
    let me = std::process::id() as i32;
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in rd.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        if pid == me {
            continue;
        }
        let cmdline = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmdline).contains(needle) {
            out.push(pid);
        }
    }
    out
}

impl Drop for Env {
    fn drop(&mut self) {
        for pid in self.live_processes() {
            // SAFETY: plain kill of a leftover test process.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        let _ = std::process::Command::new(RUNC)
            .arg("--root")
            .arg(self.runtime_root())
            .args(["delete", "--force", &self.id])
            .stderr(std::process::Stdio::null())
            .status();
        for dir in self.cgroup_dirs() {
            for _ in 0..50 {
                if std::fs::remove_dir(&dir).is_ok() || !dir.exists() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        // The shared parent goes once no test uses it (busy otherwise).
        if let Ok(rd) = std::fs::read_dir("/sys/fs/cgroup") {
            for e in rd.flatten() {
                let _ = std::fs::remove_dir(e.path().join(CGROUP_PARENT));
            }
        }
        let _ = std::fs::remove_dir(Path::new("/sys/fs/cgroup").join(CGROUP_PARENT));
    }
}

/// Collects an attach or exec stream until its exit.
pub async fn collect(
    out: &mut berth_shim::OutputReader,
) -> (Vec<u8>, Vec<u8>, Option<berth_shim::ExitInfo>) {
    let (mut o, mut e, mut exit) = (Vec::new(), Vec::new(), None);
    while let Some(item) = tokio::time::timeout(Duration::from_secs(20), out.next())
        .await
        .expect("stream stalled")
        .unwrap()
    {
        match item {
            berth_shim::Output::Stdout(b) => o.extend_from_slice(&b),
            berth_shim::Output::Stderr(b) => e.extend_from_slice(&b),
            berth_shim::Output::Exit(x) => exit = Some(x),
        }
    }
    (o, e, exit)
}

/// An OCI `process` for exec.
pub fn exec_process(args: &[&str], tty: bool) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "terminal": tty,
        "user": {"uid": 0, "gid": 0},
        "args": args,
        "env": ["PATH=/bin", "TERM=xterm"],
        "cwd": "/",
        "capabilities": {"bounding": ["CAP_KILL"], "effective": ["CAP_KILL"], "permitted": ["CAP_KILL"]},
        "noNewPrivileges": true
    }))
    .unwrap()
}
