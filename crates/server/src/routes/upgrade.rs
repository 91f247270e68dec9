//! Serving a stream session on the request's connection: `101` and the
//! upgraded connection when the client asked for `Upgrade: tcp`, else a
//! plain streamed response (output only).

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hyper_util::rt::TokioIo;

use crate::backend::AttachSession;

pub const RAW_STREAM: &str = "application/vnd.docker.raw-stream";
pub const MULTIPLEXED_STREAM: &str = "application/vnd.docker.multiplexed-stream";

/// Whether the request asks for a connection upgrade.
pub fn wants_upgrade(req: &Request) -> bool {
    req.headers().contains_key(header::UPGRADE)
}

/// Answers `101 UPGRADED` and runs `session` on the upgraded connection.
pub fn upgrade(
    mut req: Request,
    session: Box<dyn AttachSession>,
    content_type: &'static str,
) -> Response {
    let on_upgrade = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        match on_upgrade.await {
            Ok(upgraded) => session.run(Box::new(TokioIo::new(upgraded))).await,
            Err(e) => tracing::debug!(error = %e, "connection upgrade failed"),
        }
    });
    let mut resp = StatusCode::SWITCHING_PROTOCOLS.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    h.insert(header::UPGRADE, HeaderValue::from_static("tcp"));
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

/// Runs `session` with its output as the body of a `200` response.
pub fn plain(session: Box<dyn AttachSession>, content_type: &'static str) -> Response {
    let (ours, theirs) = tokio::io::duplex(64 * 1024);
    tokio::spawn(session.run(Box::new(ours)));
    let stream = tokio_util::io::ReaderStream::new(theirs);
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, content_type)],
        Body::from_stream(stream),
    )
        .into_response()
}
