//! One framed connection to a shim, and the mapping of its error frames and
//! disconnections to [`ShimError`].

use std::io;
use std::path::Path;

use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};

use super::error::{Result, ShimError};
use crate::protocol::{self, ErrorCode};

/// A frame as received.
pub(crate) struct Frame {
    pub kind: u8,
    pub payload: Vec<u8>,
}

pub(crate) struct FramedConn {
    pub id: String,
    pub read: BufReader<OwnedReadHalf>,
    pub write: OwnedWriteHalf,
}

fn gone_or_io(id: &str, context: &'static str, e: io::Error) -> ShimError {
    use io::ErrorKind::*;
    match e.kind() {
        NotFound | ConnectionRefused | ConnectionReset | BrokenPipe | UnexpectedEof => {
            ShimError::Gone { id: id.to_string() }
        }
        _ => ShimError::Io {
            id: id.to_string(),
            context,
            source: e,
        },
    }
}

impl FramedConn {
    pub async fn connect(id: &str, socket: &Path) -> Result<FramedConn> {
        let stream = UnixStream::connect(socket)
            .await
            .map_err(|e| gone_or_io(id, "connect", e))?;
        let (r, w) = stream.into_split();
        Ok(FramedConn {
            id: id.to_string(),
            read: BufReader::with_capacity(64 << 10, r),
            write: w,
        })
    }

    pub async fn send(&mut self, kind: u8, payload: &[u8]) -> Result<()> {
        send_frame(&mut self.write, &self.id, kind, payload).await
    }

    /// The next frame; `Gone` when the shim closed the connection.
    pub async fn recv(&mut self) -> Result<Frame> {
        recv_frame(&mut self.read, &self.id).await
    }

    /// Sends a request and reads the answer: `Ok(payload)` for `O`, the
    /// mapped error for `E`.
    pub async fn request(&mut self, kind: u8, payload: &[u8]) -> Result<Vec<u8>> {
        self.send(kind, payload).await?;
        let f = self.recv().await?;
        expect_ok(&self.id, f)
    }
}

pub(crate) async fn send_frame(
    w: &mut OwnedWriteHalf,
    id: &str,
    kind: u8,
    payload: &[u8],
) -> Result<()> {
    let mut buf = Vec::with_capacity(protocol::HEADER_LEN + payload.len());
    protocol::push_frame(&mut buf, kind, payload);
    w.write_all(&buf)
        .await
        .map_err(|e| gone_or_io(id, "send", e))
}

pub(crate) async fn recv_frame(r: &mut BufReader<OwnedReadHalf>, id: &str) -> Result<Frame> {
    let mut h = [0u8; protocol::HEADER_LEN];
    r.read_exact(&mut h)
        .await
        .map_err(|e| gone_or_io(id, "receive", e))?;
    let len = u32::from_be_bytes([h[1], h[2], h[3], h[4]]) as usize;
    if len > protocol::MAX_PAYLOAD {
        return Err(ShimError::Protocol {
            id: id.to_string(),
            message: format!("frame of {len} bytes"),
        });
    }
    // Not zero-filled first: large output frames are the hot path.
    let mut payload = Vec::with_capacity(len);
    let n = (&mut *r)
        .take(len as u64)
        .read_to_end(&mut payload)
        .await
        .map_err(|e| gone_or_io(id, "receive", e))?;
    if n < len {
        return Err(ShimError::Gone { id: id.to_string() });
    }
    Ok(Frame {
        kind: h[0],
        payload,
    })
}

/// Maps an `E` frame to its error.
pub(crate) fn error_from_payload(id: &str, p: &[u8]) -> ShimError {
    let code = ErrorCode::from_u8(p.first().copied().unwrap_or(0));
    let msg = String::from_utf8_lossy(p.get(1..).unwrap_or_default()).into_owned();
    match code {
        ErrorCode::NotRunning => ShimError::NotRunning { id: id.to_string() },
        ErrorCode::Invalid => ShimError::Rejected { message: msg },
        ErrorCode::Runtime => {
            let (action, message) = msg.split_once('\n').unwrap_or(("", &msg));
            ShimError::Runtime {
                action: action.to_string(),
                message: message.to_string(),
            }
        }
        ErrorCode::Internal => ShimError::Shim {
            id: id.to_string(),
            message: msg,
        },
    }
}

pub(crate) fn expect_ok(id: &str, f: Frame) -> Result<Vec<u8>> {
    match f.kind {
        protocol::OK => Ok(f.payload),
        protocol::ERROR => Err(error_from_payload(id, &f.payload)),
        other => Err(ShimError::Protocol {
            id: id.to_string(),
            message: format!("unexpected frame {:?}", char::from(other)),
        }),
    }
}

pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(id: &str, p: &[u8]) -> Result<T> {
    serde_json::from_slice(p).map_err(|e| ShimError::Protocol {
        id: id.to_string(),
        message: format!("bad reply: {e}"),
    })
}
