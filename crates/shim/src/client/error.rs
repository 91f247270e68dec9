//! The client's error type and its engine-wide class.

use std::io;
use std::path::PathBuf;

use berth_api::error::{Classify, ErrorKind};

/// Why talking to (or starting) a shim failed.
#[derive(Debug, thiserror::Error)]
pub enum ShimError {
    /// The shim is not there: it exited (read the exit record with
    /// [`read_exit`](crate::read_exit)) or was killed.
    #[error("shim for container {id} is gone")]
    Gone { id: String },
    /// The container (or exec process) is not running.
    #[error("container {id} is not running")]
    NotRunning { id: String },
    /// The OCI runtime refused; `message` is the runtime's own error.
    #[error("OCI runtime {action} failed: {message}")]
    Runtime { action: String, message: String },
    /// The shim refused the request as invalid (no TTY to resize…).
    #[error("{message}")]
    Rejected { message: String },
    /// The shim could not set the container up (socket, log file…).
    #[error("shim for container {id} failed: {message}")]
    Shim { id: String, message: String },
    #[error("cannot run shim {}: {source}", binary.display())]
    Spawn {
        binary: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("shim for container {id}: {context}: {source}")]
    Io {
        id: String,
        context: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("shim for container {id}: protocol error: {message}")]
    Protocol { id: String, message: String },
}

impl ShimError {
    /// The runtime could not find or execute the container's command
    /// (Docker answers these with exit code 127 / 126 and a 400).
    pub fn is_command_not_found(&self) -> bool {
        matches!(self, ShimError::Runtime { message, .. }
            if message.contains("executable file not found")
                || message.contains("no such file or directory"))
    }
}

impl Classify for ShimError {
    fn kind(&self) -> ErrorKind {
        match self {
            ShimError::NotRunning { .. } => ErrorKind::Conflict,
            ShimError::Rejected { .. } => ErrorKind::InvalidParameter,
            ShimError::Runtime { .. } if self.is_command_not_found() => ErrorKind::InvalidParameter,
            ShimError::Runtime { .. }
            | ShimError::Gone { .. }
            | ShimError::Shim { .. }
            | ShimError::Spawn { .. }
            | ShimError::Io { .. }
            | ShimError::Protocol { .. } => ErrorKind::System,
        }
    }
}

pub type Result<T, E = ShimError> = std::result::Result<T, E>;
