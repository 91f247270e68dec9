//! Errors of the runtime crate, each classified where it is defined.

use std::io;

use berth_api::{Classify, ErrorKind};

use crate::parse::ParseError;

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// A value given by the user (or the daemon on the user's behalf) is
    /// invalid; the message names the field and the value.
    #[error("{0}")]
    InvalidParameter(String),
    /// Something the caller named does not exist (a container in the OCI
    /// runtime's state, a cgroup).
    #[error("{0}")]
    NotFound(String),
    /// The operation conflicts with the current state (e.g. a container
    /// that is not running).
    #[error("{0}")]
    Conflict(String),
    /// The host cannot do what was asked (a missing cgroup controller, an
    /// unusable runtime).
    #[error("{what} is not supported on this host: {reason}")]
    Unsupported { what: String, reason: String },
    /// An OCI runtime command failed.
    #[error("{runtime} {command} failed: {message}")]
    RuntimeFailed {
        runtime: String,
        command: String,
        message: String,
    },
    /// Waiting for something took longer than allowed.
    #[error("timed out {0}")]
    Timeout(String),
    /// A host failure while doing `context`.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
}

pub type Result<T, E = RuntimeError> = std::result::Result<T, E>;

impl RuntimeError {
    /// A host I/O error, with what was being done.
    pub fn io(context: impl Into<String>, source: io::Error) -> Self {
        RuntimeError::Io {
            context: context.into(),
            source,
        }
    }

    /// An invalid input value.
    pub fn invalid(message: impl Into<String>) -> Self {
        RuntimeError::InvalidParameter(message.into())
    }

    /// An oci-spec builder failure (an internal error: every field given).
    pub(crate) fn oci(what: &str, err: impl std::fmt::Display) -> Self {
        RuntimeError::io(
            format!("building {what}"),
            io::Error::other(err.to_string()),
        )
    }

    /// A host-side error from a nix call.
    pub(crate) fn errno(context: impl Into<String>, errno: nix::errno::Errno) -> Self {
        RuntimeError::io(context, io::Error::from(errno))
    }
}

impl Classify for RuntimeError {
    fn kind(&self) -> ErrorKind {
        match self {
            RuntimeError::InvalidParameter(_) => ErrorKind::InvalidParameter,
            RuntimeError::NotFound(_) => ErrorKind::NotFound,
            RuntimeError::Conflict(_) => ErrorKind::Conflict,
            RuntimeError::Unsupported { .. } => ErrorKind::System,
            RuntimeError::RuntimeFailed { .. } => ErrorKind::System,
            RuntimeError::Timeout(_) => ErrorKind::System,
            RuntimeError::Io { .. } => ErrorKind::System,
        }
    }
}

impl From<ParseError> for RuntimeError {
    fn from(err: ParseError) -> Self {
        RuntimeError::InvalidParameter(err.to_string())
    }
}

impl From<RuntimeError> for berth_api::Error {
    fn from(err: RuntimeError) -> Self {
        berth_api::Error::from_classified(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        assert_eq!(
            RuntimeError::invalid("x").kind(),
            ErrorKind::InvalidParameter
        );
        assert_eq!(
            RuntimeError::NotFound("x".into()).kind(),
            ErrorKind::NotFound
        );
        assert_eq!(
            RuntimeError::io("reading", io::Error::other("boom")).kind(),
            ErrorKind::System
        );
        let parse: RuntimeError = ParseError::new("invalid size: '20q'").into();
        assert_eq!(parse.kind(), ErrorKind::InvalidParameter);
        assert_eq!(parse.to_string(), "invalid size: '20q'");
    }
}
