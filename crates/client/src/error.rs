//! The client's error type: daemon error responses, connection failures and
//! transport problems, each with the wording a Docker user expects.

use std::io;

use berth_api::ErrorKind;
use http::StatusCode;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The daemon answered with an error status and `{"message": …}`.
    #[error("Error response from daemon: {message}")]
    Api { status: StatusCode, message: String },

    /// An error reported inside a streamed response (progress `errorDetail`).
    #[error("Error response from daemon: {message}")]
    Stream { code: Option<i64>, message: String },

    /// Nobody listens at the address (no socket, connection refused).
    #[error("Cannot connect to the Berth daemon at {host}. Is berthd running?")]
    Connect {
        host: String,
        #[source]
        source: io::Error,
    },

    #[error(
        "permission denied while trying to connect to the Berth daemon socket at {host}: {source}"
    )]
    PermissionDenied {
        host: String,
        #[source]
        source: io::Error,
    },

    /// A bad `-H` value.
    #[error("{0}")]
    InvalidHost(String),

    /// Certificates or keys could not be loaded, or the handshake failed.
    #[error("{0}")]
    Tls(String),

    /// An invalid argument detected before anything was sent (a bad
    /// reference, an unusable API version).
    #[error("{0}")]
    InvalidArgument(String),

    /// The HTTP exchange failed after the connection was made.
    #[error("error during connect to {host}: {source}")]
    Http {
        host: String,
        #[source]
        source: hyper::Error,
    },

    #[error("{0}")]
    Io(#[from] io::Error),

    /// The daemon's answer was not the JSON we expected.
    #[error("error decoding response from daemon: {0}")]
    Decode(#[source] serde_json::Error),

    /// The daemon broke the protocol (no upgrade, bad header, …).
    #[error("{0}")]
    Protocol(String),
}

impl Error {
    /// The HTTP status of a daemon error response.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The engine error class of a daemon error response, from its status.
    pub fn kind(&self) -> Option<ErrorKind> {
        self.status().map(kind_of_status)
    }

    pub fn is_not_found(&self) -> bool {
        self.status() == Some(StatusCode::NOT_FOUND)
    }

    /// True when the daemon could not be reached at all.
    pub fn is_connection_failure(&self) -> bool {
        matches!(self, Error::Connect { .. } | Error::PermissionDenied { .. })
    }

    /// True for errors that came from the daemon (status or stream error).
    pub fn is_daemon_error(&self) -> bool {
        matches!(self, Error::Api { .. } | Error::Stream { .. })
    }

    /// The message without the "Error response from daemon: " prefix.
    pub fn message(&self) -> String {
        match self {
            Error::Api { message, .. } | Error::Stream { message, .. } => message.clone(),
            other => other.to_string(),
        }
    }
}

/// Maps a status back to the engine's error class (DESIGN.md section 3).
pub fn kind_of_status(status: StatusCode) -> ErrorKind {
    match status.as_u16() {
        400 => ErrorKind::InvalidParameter,
        401 => ErrorKind::Unauthorized,
        403 => ErrorKind::Forbidden,
        404 => ErrorKind::NotFound,
        409 => ErrorKind::Conflict,
        304 => ErrorKind::NotModified,
        501 => ErrorKind::NotImplemented,
        503 => ErrorKind::Unavailable,
        _ => ErrorKind::System,
    }
}

/// The message of an error response body: `{"message": …}` when it is
/// JSON, the trimmed text otherwise, the status text when empty.
pub fn decode_error_body(status: StatusCode, body: &[u8]) -> String {
    if let Ok(resp) = serde_json::from_slice::<berth_api::ErrorResponse>(body) {
        return resp.message;
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        format!(
            "{} {}",
            status.as_u16(),
            status.canonical_reason().unwrap_or("unknown status")
        )
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_error_body() {
        let msg = decode_error_body(
            StatusCode::NOT_FOUND,
            br#"{"message":"No such image: busybox:latest"}"#,
        );
        assert_eq!(msg, "No such image: busybox:latest");
    }

    #[test]
    fn text_and_empty_bodies() {
        assert_eq!(
            decode_error_body(StatusCode::BAD_REQUEST, b"  page not found\n"),
            "page not found"
        );
        assert_eq!(
            decode_error_body(StatusCode::INTERNAL_SERVER_ERROR, b""),
            "500 Internal Server Error"
        );
    }

    #[test]
    fn display_and_classes() {
        let err = Error::Api {
            status: StatusCode::CONFLICT,
            message: "conflict: unable to delete".into(),
        };
        assert_eq!(
            err.to_string(),
            "Error response from daemon: conflict: unable to delete"
        );
        assert_eq!(err.kind(), Some(ErrorKind::Conflict));
        assert_eq!(err.message(), "conflict: unable to delete");
        assert!(err.is_daemon_error());
        assert_eq!(kind_of_status(StatusCode::NOT_FOUND), ErrorKind::NotFound);
        assert_eq!(
            kind_of_status(StatusCode::BAD_REQUEST),
            ErrorKind::InvalidParameter
        );
        assert_eq!(
            kind_of_status(StatusCode::SERVICE_UNAVAILABLE),
            ErrorKind::Unavailable
        );
        assert_eq!(kind_of_status(StatusCode::IM_A_TEAPOT), ErrorKind::System);

        let err = Error::Connect {
            host: "unix:///run/berth.sock".into(),
            source: io::Error::from(io::ErrorKind::NotFound),
        };
        assert_eq!(
            err.to_string(),
            "Cannot connect to the Berth daemon at unix:///run/berth.sock. Is berthd running?"
        );
        assert!(err.is_connection_failure());
    }
}
