//! The raw stream of an upgraded connection (`101 Switching Protocols`),
//! which attach and exec use for the container's stdio.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::HeaderMap;
use http::header::CONTENT_TYPE;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Docker's content type for stdout/stderr framed with 8-byte headers.
pub const MULTIPLEXED_STREAM: &str = "application/vnd.docker.multiplexed-stream";
/// Docker's content type for a raw stream (a TTY).
pub const RAW_STREAM: &str = "application/vnd.docker.raw-stream";

/// A bidirectional byte stream taken over from an HTTP connection.
pub struct Upgraded {
    io: TokioIo<hyper::upgrade::Upgraded>,
    headers: HeaderMap,
}

impl Upgraded {
    pub(crate) fn new(io: TokioIo<hyper::upgrade::Upgraded>, headers: HeaderMap) -> Self {
        Self { io, headers }
    }

    /// The headers of the `101` response.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// True when the daemon frames stdout and stderr (no TTY).
    pub fn is_multiplexed(&self) -> bool {
        self.headers
            .get(CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes() == MULTIPLEXED_STREAM.as_bytes())
    }
}

impl AsyncRead for Upgraded {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl AsyncWrite for Upgraded {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    /// Half-closes the write side (the daemon sees EOF on stdin).
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}
