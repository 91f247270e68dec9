//! Turning a backend's progress stream into an HTTP response: an error that
//! comes before any message is answered with its own status; later errors
//! travel in the stream as Docker's `errorDetail` messages.

use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use berth_api::progress::ProgressMessage;
use bytes::Bytes;

use crate::backend::{Progress, ProgressStream};
use crate::error::ApiError;

fn line(item: Progress) -> Bytes {
    match item {
        Progress::Message(msg) => Bytes::from(msg.to_line()),
        Progress::Failed(err) => {
            tracing::debug!(error = %err.chain(), "progress stream ended with an error");
            Bytes::from(ProgressMessage::error(err.message()).to_line())
        }
    }
}

/// Waits for the first item, then streams the rest as JSON lines.
pub async fn respond(mut rx: ProgressStream) -> Response {
    let first = match rx.recv().await {
        Some(Progress::Failed(err)) => return ApiError(err).into_response(),
        Some(msg) => Some(line(msg)),
        None => None,
    };
    let stream = futures_util::stream::unfold((first, rx), |(pending, mut rx)| async move {
        if let Some(bytes) = pending {
            return Some((Ok::<_, std::io::Error>(bytes), (None, rx)));
        }
        let item = rx.recv().await?;
        Some((Ok(line(item)), (None, rx)))
    });
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(stream),
    )
        .into_response()
}
