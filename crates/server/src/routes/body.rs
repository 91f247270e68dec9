//! Request bodies as raw streams for uploads.

use axum::body::Body;
use futures_util::TryStreamExt;

use crate::backend::BodyReader;

/// The request body as an async reader (for imports and loads).
pub fn reader(body: Body) -> BodyReader {
    let stream = body.into_data_stream().map_err(std::io::Error::other);
    Box::pin(tokio_util::io::StreamReader::new(stream))
}
