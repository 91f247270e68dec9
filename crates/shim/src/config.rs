//! What one shim is told at start: [`ShimConfig`], and its command line
//! (`berth-shim start …`), produced by the daemon and parsed by the shim
//! from the same code so both sides agree.
//!
//! ```text
//! berth-shim start --id <id> --bundle <dir> --runtime <path>
//!     [--runtime-arg <arg>]...      global runtime options, before the command
//!     --runtime-root <dir>          the runtime's --root
//!     --state-dir <dir>             exit.json, pid files, runtime log, console sockets
//!     --socket <path>               the control socket (mode 0600)
//!     [--log-path <path> [--log-max-size <bytes>] [--log-max-file <n>]]
//!     [--tty] [--stdin] [--stdin-once]
//!     [--cgroup-path <path>]        the spec's linux.cgroupsPath, for OOM detection
//!     [--start-mode run|create-start|create-only]
//! ```
//!
//! The shim answers on its stdout with one line, `ready <container pid>
//! <shim pid>`, or `error <action> <message>` (action: the runtime command
//! that failed, or `shim`), then closes it.

use std::ffi::{OsStr, OsString};
use std::path::PathBuf;

use crate::logfile::LogConfig;

/// How the shim brings the container up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StartMode {
    /// `runtime run -d`: one runtime invocation (the fastest).
    #[default]
    Run,
    /// `runtime run -d`, but the container's output is not read until the
    /// daemon sends `start` (after attaching its clients), so nothing the
    /// container writes first is missed; one runtime invocation, as `Run`.
    RunHeld,
    /// `runtime create` then `runtime start`.
    CreateStart,
    /// `runtime create` only; the daemon sends `start` over the control
    /// socket when it is ready (e.g. after setting up networking).
    CreateOnly,
}

impl StartMode {
    fn as_str(self) -> &'static str {
        match self {
            StartMode::Run => "run",
            StartMode::RunHeld => "run-held",
            StartMode::CreateStart => "create-start",
            StartMode::CreateOnly => "create-only",
        }
    }
}

/// Everything one shim needs to start and own a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShimConfig {
    /// The `berth-shim` executable (not passed to the shim itself).
    pub shim_binary: PathBuf,
    pub id: String,
    pub bundle: PathBuf,
    pub runtime: PathBuf,
    /// Global runtime options placed before the command (`--systemd-cgroup`).
    pub runtime_args: Vec<String>,
    pub runtime_root: PathBuf,
    pub state_dir: PathBuf,
    pub socket: PathBuf,
    /// `None`: no log file (log driver `none`).
    pub log: Option<LogConfig>,
    pub tty: bool,
    /// Keep the container's stdin open (`-i`).
    pub stdin: bool,
    /// Close the container's stdin when the first attached client's stdin ends.
    pub stdin_once: bool,
    /// The container's `linux.cgroupsPath`, used to read OOM-kill counters.
    pub cgroup_path: Option<String>,
    pub start_mode: StartMode,
}

impl ShimConfig {
    /// A configuration with the required fields and everything else off.
    pub fn new(
        shim_binary: impl Into<PathBuf>,
        id: impl Into<String>,
        bundle: impl Into<PathBuf>,
        runtime: impl Into<PathBuf>,
        runtime_root: impl Into<PathBuf>,
        state_dir: impl Into<PathBuf>,
        socket: impl Into<PathBuf>,
    ) -> Self {
        ShimConfig {
            shim_binary: shim_binary.into(),
            id: id.into(),
            bundle: bundle.into(),
            runtime: runtime.into(),
            runtime_args: Vec::new(),
            runtime_root: runtime_root.into(),
            state_dir: state_dir.into(),
            socket: socket.into(),
            log: None,
            tty: false,
            stdin: false,
            stdin_once: false,
            cgroup_path: None,
            start_mode: StartMode::default(),
        }
    }

    /// The arguments after `berth-shim start`.
    pub fn to_args(&self) -> Vec<OsString> {
        let mut a: Vec<OsString> = Vec::with_capacity(24);
        let mut kv = |k: &str, v: &OsStr| {
            a.push(k.into());
            a.push(v.to_owned());
        };
        kv("--id", self.id.as_ref());
        kv("--bundle", self.bundle.as_os_str());
        kv("--runtime", self.runtime.as_os_str());
        for arg in &self.runtime_args {
            kv("--runtime-arg", arg.as_ref());
        }
        kv("--runtime-root", self.runtime_root.as_os_str());
        kv("--state-dir", self.state_dir.as_os_str());
        kv("--socket", self.socket.as_os_str());
        if let Some(log) = &self.log {
            kv("--log-path", log.path.as_os_str());
            if let Some(max) = log.max_size {
                kv("--log-max-size", max.to_string().as_ref());
            }
            kv("--log-max-file", log.max_files.to_string().as_ref());
        }
        if let Some(cg) = &self.cgroup_path {
            kv("--cgroup-path", cg.as_ref());
        }
        kv("--start-mode", self.start_mode.as_str().as_ref());
        for (on, flag) in [
            (self.tty, "--tty"),
            (self.stdin, "--stdin"),
            (self.stdin_once, "--stdin-once"),
        ] {
            if on {
                a.push(flag.into());
            }
        }
        a
    }

    /// Parses the arguments after `berth-shim start`.
    pub fn from_args(args: impl IntoIterator<Item = OsString>) -> Result<Self, String> {
        let mut c = ShimConfig::new("", "", "", "", "", "", "");
        let (mut max_size, mut max_files, mut log_path) = (None, 1u32, None::<PathBuf>);
        let mut args = args.into_iter();
        while let Some(flag) = args.next() {
            let flag = flag
                .into_string()
                .map_err(|f| format!("bad flag {}", f.to_string_lossy()))?;
            match flag.as_str() {
                "--tty" => c.tty = true,
                "--stdin" => c.stdin = true,
                "--stdin-once" => c.stdin_once = true,
                _ => {
                    let v = args
                        .next()
                        .ok_or_else(|| format!("flag {flag} needs a value"))?;
                    let s = || {
                        v.clone()
                            .into_string()
                            .map_err(|_| format!("flag {flag}: value is not UTF-8"))
                    };
                    match flag.as_str() {
                        "--id" => c.id = s()?,
                        "--bundle" => c.bundle = v.into(),
                        "--runtime" => c.runtime = v.into(),
                        "--runtime-arg" => c.runtime_args.push(s()?),
                        "--runtime-root" => c.runtime_root = v.into(),
                        "--state-dir" => c.state_dir = v.into(),
                        "--socket" => c.socket = v.into(),
                        "--log-path" => log_path = Some(v.into()),
                        "--log-max-size" => {
                            max_size = Some(
                                s()?.parse::<u64>()
                                    .map_err(|e| format!("--log-max-size: {e}"))?,
                            )
                        }
                        "--log-max-file" => {
                            max_files = s()?
                                .parse::<u32>()
                                .map_err(|e| format!("--log-max-file: {e}"))?
                        }
                        "--cgroup-path" => c.cgroup_path = Some(s()?),
                        "--start-mode" => {
                            c.start_mode = match s()?.as_str() {
                                "run" => StartMode::Run,
                                "run-held" => StartMode::RunHeld,
                                "create-start" => StartMode::CreateStart,
                                "create-only" => StartMode::CreateOnly,
                                other => return Err(format!("unknown start mode {other:?}")),
                            }
                        }
                        _ => return Err(format!("unknown flag {flag}")),
                    }
                }
            }
        }
        for (name, missing) in [
            ("--id", c.id.is_empty()),
            ("--bundle", c.bundle.as_os_str().is_empty()),
            ("--runtime", c.runtime.as_os_str().is_empty()),
            ("--runtime-root", c.runtime_root.as_os_str().is_empty()),
            ("--state-dir", c.state_dir.as_os_str().is_empty()),
            ("--socket", c.socket.as_os_str().is_empty()),
        ] {
            if missing {
                return Err(format!("missing {name}"));
            }
        }
        c.log = log_path.map(|path| LogConfig {
            path,
            max_size,
            max_files: max_files.max(1),
        });
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn args_round_trip() {
        let mut c = ShimConfig::new(
            "/bin/shim",
            "abc",
            "/b",
            "/usr/sbin/runc",
            "/run/r",
            "/s",
            "/s/sock",
        );
        assert_eq!(ShimConfig::from_args(c.to_args()).unwrap().id, "abc");
        c.runtime_args = vec!["--systemd-cgroup".into()];
        c.log = Some(LogConfig {
            path: "/l/x-json.log".into(),
            max_size: Some(1024),
            max_files: 3,
        });
        c.tty = true;
        c.stdin = true;
        c.stdin_once = true;
        c.cgroup_path = Some("/berth/abc".into());
        c.start_mode = StartMode::CreateOnly;
        let mut back = ShimConfig::from_args(c.to_args()).unwrap();
        back.shim_binary = c.shim_binary.clone();
        assert_eq!(back, c);
    }

    #[test]
    fn rejects_bad_input() {
        assert!(ShimConfig::from_args(["--id".into()]).is_err());
        assert!(
            ShimConfig::from_args(["--id".into(), "x".into()])
                .unwrap_err()
                .contains("--bundle")
        );
        assert!(ShimConfig::from_args(["--what".into(), "x".into()]).is_err());
    }
}
