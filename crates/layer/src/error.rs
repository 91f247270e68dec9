//! Errors of the layer crate, each classified where it is defined.

use std::io;

use berth_api::{Classify, ErrorKind};

#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    /// A digest string that does not parse.
    #[error("invalid digest {0:?}: expected sha256:<64 hex digits>")]
    InvalidDigest(String),
    /// Input (tar stream, compression) that is malformed or hostile.
    /// Errors while *reading the input* land here, never in `Io`.
    #[error("{0}")]
    InvalidArchive(String),
    /// A parameter given by the caller is malformed (an ID, a name).
    #[error("{0}")]
    InvalidParameter(String),
    /// A layer the store was asked for does not exist.
    #[error("layer does not exist: {0}")]
    NotFound(String),
    /// The operation conflicts with the current state.
    #[error("{0}")]
    Conflict(String),
    /// A storage driver cannot be used on this host.
    #[error("storage driver {driver} is not supported: {reason}")]
    DriverUnsupported { driver: String, reason: String },
    /// Data on disk that is damaged (an internal inconsistency).
    #[error("layer store is damaged: {0}")]
    Corrupt(String),
    /// Failure of the host (disk, mounts, …) while doing `context`.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
}

pub type Result<T, E = LayerError> = std::result::Result<T, E>;

impl LayerError {
    /// An I/O error of the host, with what was being done.
    pub fn io(context: impl Into<String>, source: io::Error) -> Self {
        LayerError::Io {
            context: context.into(),
            source,
        }
    }
}

impl Classify for LayerError {
    fn kind(&self) -> ErrorKind {
        match self {
            LayerError::InvalidDigest(_) => ErrorKind::InvalidParameter,
            LayerError::InvalidArchive(_) => ErrorKind::InvalidParameter,
            LayerError::InvalidParameter(_) => ErrorKind::InvalidParameter,
            LayerError::NotFound(_) => ErrorKind::NotFound,
            LayerError::Conflict(_) => ErrorKind::Conflict,
            LayerError::DriverUnsupported { .. } => ErrorKind::System,
            LayerError::Corrupt(_) => ErrorKind::System,
            LayerError::Io { .. } => ErrorKind::System,
        }
    }
}

impl From<LayerError> for berth_api::Error {
    fn from(err: LayerError) -> Self {
        berth_api::Error::from_classified(err)
    }
}
