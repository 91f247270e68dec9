//! The engine-wide error classes (DESIGN.md section 3) and the common error
//! value that crosses crate boundaries.

use std::fmt;

/// The class of an error. The server holds the only mapping from class to
/// HTTP status; everything else only says which class an error belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    InvalidParameter,
    NotFound,
    Conflict,
    Unauthorized,
    Forbidden,
    NotModified,
    NotImplemented,
    Unavailable,
    System,
}

/// Implemented by every crate's error type: which class is this error?
pub trait Classify {
    fn kind(&self) -> ErrorKind;
}

/// A classified error with a message meant for the API client.
pub struct Error {
    kind: ErrorKind,
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            source: None,
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidParameter, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, message)
    }

    pub fn not_implemented(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotImplemented, message)
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unavailable, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Forbidden, message)
    }

    pub fn not_modified(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotModified, message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unauthorized, message)
    }

    pub fn system(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::System, message)
    }

    /// Wraps any classified error, keeping it as the cause.
    pub fn from_classified<E>(err: E) -> Self
    where
        E: Classify + std::error::Error + Send + Sync + 'static,
    {
        Self {
            kind: err.kind(),
            message: err.to_string(),
            source: Some(Box::new(err)),
        }
    }

    /// Attaches a cause (logged with 500s, never sent to clients).
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// Prefixes the message with context, keeping the class.
    pub fn context(mut self, context: impl fmt::Display) -> Self {
        self.message = format!("{context}: {}", self.message);
        self
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    /// The message followed by every cause in the chain, for logs.
    pub fn chain(&self) -> String {
        let mut out = self.message.clone();
        let mut cur: Option<&(dyn std::error::Error + 'static)> = match &self.source {
            Some(s) => Some(s.as_ref()),
            None => None,
        };
        while let Some(err) = cur {
            let text = err.to_string();
            if !out.contains(&text) {
                out.push_str(": ");
                out.push_str(&text);
            }
            cur = err.source();
        }
        out
    }
}

impl Classify for Error {
    fn kind(&self) -> ErrorKind {
        self.kind
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.kind, self.chain())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.source {
            Some(s) => Some(s.as_ref()),
            None => None,
        }
    }
}

/// An I/O error with no better classification is a system error; callers
/// that know better (ENOENT on a user-given path, …) classify it themselves.
impl From<std::io::Error> for Error {
    fn from(err: std::io::Error) -> Self {
        Self {
            kind: ErrorKind::System,
            message: err.to_string(),
            source: Some(Box::new(err)),
        }
    }
}

/// The body of every error response: `{"message": "..."}`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ErrorResponse {
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_includes_causes_once() {
        let io = std::io::Error::other("disk on fire");
        let err = Error::system("cannot write state").with_source(io);
        assert_eq!(err.chain(), "cannot write state: disk on fire");
        assert_eq!(err.to_string(), "cannot write state");
        assert_eq!(err.kind(), ErrorKind::System);
    }

    #[test]
    fn context_keeps_class() {
        let err = Error::not_found("no such thing").context("loading");
        assert_eq!(err.kind(), ErrorKind::NotFound);
        assert_eq!(err.message(), "loading: no such thing");
    }
}
