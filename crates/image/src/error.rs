//! Errors of the image crate, each classified where it is defined.

use std::io;

use berth_api::{Classify, ErrorKind};

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// An image that the user named does not exist.
    #[error("No such image: {0}")]
    NoSuchImage(String),
    /// A reference string that does not parse; the message is Docker's
    /// (`invalid reference format`, `invalid reference format: repository
    /// name (library/Busybox) must be lowercase`, …).
    #[error("{0}")]
    InvalidReference(String),
    /// An error of the layer store.
    #[error(transparent)]
    Layer(#[from] berth_layer::LayerError),
    /// An ID prefix that matches more than one image.
    #[error("ambiguous image ID prefix {prefix:?}: it matches {count} images")]
    AmbiguousPrefix { prefix: String, count: usize },
    /// Input (tar stream, archive, compression) that is malformed or
    /// hostile. Reading errors of the *input* land here, never in `Io`.
    #[error("{0}")]
    InvalidArchive(String),
    /// An image configuration or manifest that is malformed.
    #[error("{0}")]
    InvalidConfig(String),
    /// A `changes` instruction (import) or other user parameter that is wrong.
    #[error("{0}")]
    InvalidParameter(String),
    /// The operation conflicts with the current state (image in use, …).
    #[error("{0}")]
    Conflict(String),
    /// Data on disk that is damaged (an internal inconsistency).
    #[error("store is damaged: {0}")]
    Corrupt(String),
    /// Failure of the host (disk, mounts, …) while doing `context`.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
}

pub type Result<T, E = ImageError> = std::result::Result<T, E>;

impl ImageError {
    /// An I/O error of the host, with what was being done.
    pub fn io(context: impl Into<String>, source: io::Error) -> Self {
        ImageError::Io {
            context: context.into(),
            source,
        }
    }
}

impl Classify for ImageError {
    fn kind(&self) -> ErrorKind {
        match self {
            ImageError::NoSuchImage(_) => ErrorKind::NotFound,
            ImageError::InvalidReference(_) => ErrorKind::InvalidParameter,
            ImageError::Layer(e) => e.kind(),
            ImageError::AmbiguousPrefix { .. } => ErrorKind::InvalidParameter,
            ImageError::InvalidArchive(_) => ErrorKind::InvalidParameter,
            ImageError::InvalidConfig(_) => ErrorKind::InvalidParameter,
            ImageError::InvalidParameter(_) => ErrorKind::InvalidParameter,
            ImageError::Conflict(_) => ErrorKind::Conflict,
            ImageError::Corrupt(_) => ErrorKind::System,
            ImageError::Io { .. } => ErrorKind::System,
        }
    }
}

impl From<ImageError> for berth_api::Error {
    fn from(err: ImageError) -> Self {
        berth_api::Error::from_classified(err)
    }
}
