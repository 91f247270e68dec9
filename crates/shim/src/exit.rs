//! A container's exit record: what the shim writes durably to
//! `<state dir>/exit.json` the moment the container's init is reaped, and
//! what the daemon reads back after the shim is gone.

use std::io;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::jsonstr::push_json_string;
use crate::timefmt;

/// The file name of the exit record inside the state directory.
pub const EXIT_FILE: &str = "exit.json";

/// How the container's init process ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExitInfo {
    /// Docker's exit code: the exit status, or 128 + signal number.
    pub exit_code: i32,
    /// The container's memory cgroup recorded an OOM kill.
    pub oom_killed: bool,
    /// RFC 3339 with nanoseconds, UTC.
    pub finished_at: String,
}

impl ExitInfo {
    /// `finished_at` in nanoseconds since the Unix epoch.
    pub fn finished_at_unix_nanos(&self) -> Option<i64> {
        timefmt::parse_rfc3339(&self.finished_at)
    }

    /// The record as JSON, written without a JSON library (the shim binary
    /// does not link one).
    pub fn to_json(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(96);
        v.extend_from_slice(b"{\"exit_code\":");
        v.extend_from_slice(self.exit_code.to_string().as_bytes());
        v.extend_from_slice(b",\"oom_killed\":");
        v.extend_from_slice(if self.oom_killed { b"true" } else { b"false" });
        v.extend_from_slice(b",\"finished_at\":");
        push_json_string(&mut v, self.finished_at.as_bytes());
        v.push(b'}');
        v
    }
}

/// Docker's exit code for a raw `waitpid` status: the exit status, or
/// 128 + the signal that killed the process.
pub fn exit_code_from_wait_status(status: i32) -> i32 {
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        255
    }
}

/// Writes the exit record atomically (temporary file, fsync, rename, fsync
/// of the directory).
pub fn write_exit(state_dir: &Path, info: &ExitInfo) -> io::Result<()> {
    berth_fsutil::atomic_write(&state_dir.join(EXIT_FILE), &info.to_json())
}

/// Reads the exit record the shim left in `state_dir`; `None` when the
/// container has not exited (or its shim died before recording it).
pub fn read_exit(state_dir: &Path) -> io::Result<Option<ExitInfo>> {
    berth_fsutil::read_json(&state_dir.join(EXIT_FILE))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        assert_eq!(exit_code_from_wait_status(3 << 8), 3);
        assert_eq!(exit_code_from_wait_status(libc::SIGKILL), 137);
        assert_eq!(exit_code_from_wait_status(libc::SIGTERM), 143);
    }

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read_exit(dir.path()).unwrap(), None);
        let info = ExitInfo {
            exit_code: 137,
            oom_killed: true,
            finished_at: "2024-01-01T00:00:00.5Z".into(),
        };
        write_exit(dir.path(), &info).unwrap();
        let back = read_exit(dir.path()).unwrap().unwrap();
        assert_eq!(back, info);
        assert_eq!(
            back.finished_at_unix_nanos(),
            Some(1_704_067_200_500_000_000)
        );
    }
}
