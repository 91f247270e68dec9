//! Request bodies: raw streams for uploads, JSON with Docker's checks.

use axum::body::Body;
use futures_util::TryStreamExt;

use crate::backend::BodyReader;

/// The request body as an async reader (for imports and loads).
pub fn reader(body: Body) -> BodyReader {
    let stream = body.into_data_stream().map_err(std::io::Error::other);
    Box::pin(tokio_util::io::StreamReader::new(stream))
}

/// Parses an optional JSON body; an empty body gives `None`. A body whose
/// Content-Type is set and not JSON is refused as Docker does.
pub fn json<T: serde::de::DeserializeOwned>(
    headers: &axum::http::HeaderMap,
    bytes: &[u8],
) -> Result<Option<T>, berth_api::Error> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    if let Some(ct) = headers.get(axum::http::header::CONTENT_TYPE) {
        let ct = ct.to_str().unwrap_or("");
        let mime = ct.split(';').next().unwrap_or("").trim();
        if !mime.is_empty() && mime != "application/json" {
            return Err(berth_api::Error::invalid(format!(
                "unsupported Content-Type header ({ct}): must be 'application/json'"
            )));
        }
    }
    serde_json::from_slice(bytes)
        .map(Some)
        .map_err(|e| berth_api::Error::invalid(format!("invalid JSON body: {e}")))
}
