//! Running the OCI runtime's command line. Every invocation logs to
//! `<state dir>/runtime.log` in JSON (`--log … --log-format json`, which
//! runc and crun both support), so a failure is reported with the runtime's
//! own message even when its stderr is the container's.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};

use berth_shim::config::ShimConfig;
use berth_shim::jsonstr::string_field;

pub const LOG_FILE: &str = "runtime.log";

pub struct Runtime {
    binary: PathBuf,
    root: PathBuf,
    extra: Vec<String>,
    log: PathBuf,
    pub id: String,
}

impl Runtime {
    pub fn new(cfg: &ShimConfig) -> Runtime {
        Runtime {
            binary: cfg.runtime.clone(),
            root: cfg.runtime_root.clone(),
            extra: cfg.runtime_args.clone(),
            log: cfg.state_dir.join(LOG_FILE),
            id: cfg.id.clone(),
        }
    }

    /// `<runtime> --root R --log L --log-format json <extra…> <sub>`, with
    /// stdin and stdout from /dev/null and stderr piped.
    pub fn command(&self, sub: &str) -> Command {
        let mut c = Command::new(&self.binary);
        c.arg("--root")
            .arg(&self.root)
            .arg("--log")
            .arg(&self.log)
            .arg("--log-format")
            .arg("json")
            .args(&self.extra)
            .arg(sub)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        c
    }

    /// Where the log ends now; errors after this point belong to the next
    /// invocation.
    pub fn log_mark(&self) -> u64 {
        std::fs::metadata(&self.log).map(|m| m.len()).unwrap_or(0)
    }

    /// Runs `cmd` to completion; the runtime's error message on failure.
    pub fn run(&self, cmd: &mut Command) -> Result<(), String> {
        let mark = self.log_mark();
        match cmd.output() {
            Ok(out) if out.status.success() => Ok(()),
            Ok(out) => Err(self.failure(mark, &out.stderr, out.status)),
            Err(e) => Err(spawn_error(&self.binary, &e)),
        }
    }

    /// The message for a failed invocation: the last error the runtime
    /// logged after `mark`, else its stderr, else its exit status.
    pub fn failure(&self, mark: u64, stderr: &[u8], status: ExitStatus) -> String {
        if let Some(msg) = last_logged_error(&self.log, mark) {
            return msg;
        }
        let text = String::from_utf8_lossy(stderr);
        let text = text.trim();
        if !text.is_empty() {
            return text.to_string();
        }
        format!("{} {status}", self.binary.display())
    }

    /// `delete --force`, ignoring failure (used to clean up).
    /// `delete --force`, logging nowhere: it runs after the exit was
    /// reported, when the daemon may be deleting the state directory, which
    /// a log file created in it would keep from going.
    pub fn force_delete(&self) {
        let mut c = Command::new(&self.binary);
        c.arg("--root")
            .arg(&self.root)
            .arg("--log")
            .arg("/dev/null")
            .args(&self.extra)
            .arg("delete")
            .arg("--force")
            .arg(&self.id)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let _ = c.status();
    }
}

pub fn spawn_error(binary: &Path, e: &io::Error) -> String {
    format!("cannot run {}: {e}", binary.display())
}

fn last_logged_error(log: &Path, mark: u64) -> Option<String> {
    let mut f = File::open(log).ok()?;
    f.seek(SeekFrom::Start(mark)).ok()?;
    let mut text = String::new();
    f.take(1 << 20).read_to_string(&mut text).ok()?;
    text.lines()
        .rev()
        .filter(|l| {
            matches!(
                string_field(l, "level").as_deref(),
                Some("error" | "fatal" | "panic")
            )
        })
        .find_map(|l| string_field(l, "msg"))
}

/// Parses a pid file the runtime wrote.
pub fn read_pid_file(path: &Path) -> Result<i32, String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("read {}: {e}", path.display()))?;
    text.trim()
        .parse::<i32>()
        .ok()
        .filter(|&p| p > 0)
        .ok_or_else(|| format!("bad pid file {}: {text:?}", path.display()))
}
