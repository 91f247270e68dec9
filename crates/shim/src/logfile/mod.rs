//! Container logs in Docker's `json-file` format: one JSON object per line,
//! `{"log":"hi\n","stream":"stdout","time":"2024-01-01T00:00:00.123456789Z"}`,
//! in `<log>`, rotated to `<log>.1` … `<log>.<max-file - 1>` when `max-size`
//! is reached (with `max-file` 1 the file is truncated instead), as Docker's
//! driver does.
//!
//! Writing ([`LogSink`]) happens in the shim; reading ([`read_log`] as an
//! async stream, [`LogReader`] blocking) in the daemon: oldest file first,
//! `since`/`until` in nanoseconds, `tail` found by reading backwards from
//! the end (never the whole file), and `follow` across rotations.

mod fastparse;
mod reader;
mod splitter;
mod stream;
mod tail;
mod writer;

use std::path::PathBuf;

pub use reader::{LogReader, ReadOptions, ReadStatus};
pub use splitter::{LineSplitter, MAX_LINE};
pub use stream::{FollowStop, LogStream, read_log};
pub use writer::{JsonFileWriter, LogSink, encode_entry};

/// Where and how big a container's log may grow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    pub path: PathBuf,
    /// Rotate when the file reaches this size; `None`: never.
    pub max_size: Option<u64>,
    /// Files kept, the current one included (at least 1).
    pub max_files: u32,
}

/// Which output stream a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    pub fn as_str(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// One log line as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    pub stream: Stream,
    /// Nanoseconds since the Unix epoch.
    pub time: i64,
    /// The bytes, with their trailing newline unless the line was partial.
    pub line: Vec<u8>,
}

/// `<log>.<n>` (n ≥ 1), or `<log>` for 0.
pub(crate) fn rotated_path(base: &std::path::Path, n: u32) -> PathBuf {
    if n == 0 {
        return base.to_path_buf();
    }
    let mut s = base.as_os_str().to_owned();
    s.push(format!(".{n}"));
    PathBuf::from(s)
}
