//! Docker's multiplexed stdout/stderr framing (`stdcopy`): each frame is
//! an 8-byte header (stream type, three zero bytes, big-endian payload
//! length) followed by the payload. Attach, exec and logs use it when the
//! container has no TTY.
//!
//! [`Demuxer`] is a push decoder: feed it whatever the connection gave and
//! it hands back payload pieces as they arrive, without waiting for whole
//! frames (a frame may be large, and interactive output must not lag).

use std::io;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Which stream a payload belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StdStream {
    Stdin,
    Stdout,
    Stderr,
    /// An error the daemon reports inside the stream.
    SystemErr,
}

impl StdStream {
    fn from_byte(b: u8) -> Option<Self> {
        Some(match b {
            0 => StdStream::Stdin,
            1 => StdStream::Stdout,
            2 => StdStream::Stderr,
            3 => StdStream::SystemErr,
            _ => return None,
        })
    }

    /// The header byte for this stream.
    pub fn as_byte(self) -> u8 {
        match self {
            StdStream::Stdin => 0,
            StdStream::Stdout => 1,
            StdStream::Stderr => 2,
            StdStream::SystemErr => 3,
        }
    }
}

/// A framing error, worded as Docker's `StdCopy` words it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("Unrecognized input header: {0}")]
    UnknownStream(u8),
    #[error("error from daemon in stream: {0}")]
    Daemon(String),
}

/// A payload piece and the stream it belongs to.
pub type Piece<'a> = (StdStream, &'a [u8]);

const HEADER_LEN: usize = 8;
/// Read size of the copy loops.
const COPY_BUF: usize = 64 * 1024;

/// The decoder state between two calls of [`Demuxer::feed`].
#[derive(Debug, Default)]
pub struct Demuxer {
    header: [u8; HEADER_LEN],
    header_len: usize,
    /// Payload bytes still due for the current frame.
    remaining: usize,
    current: Option<StdStream>,
    /// The text of a `SystemErr` frame, collected whole.
    system_err: Vec<u8>,
}

impl Demuxer {
    pub fn new() -> Self {
        Self::default()
    }

    /// Decodes `data`, calling `sink` with each payload piece in order.
    /// Stops at the first framing error.
    pub fn feed<F>(&mut self, mut data: &[u8], mut sink: F) -> Result<(), FrameError>
    where
        F: FnMut(StdStream, &[u8]),
    {
        while !data.is_empty() {
            let (used, piece) = self.decode(data)?;
            if let Some((kind, bytes)) = piece {
                sink(kind, bytes);
            }
            data = &data[used..];
        }
        Ok(())
    }

    /// Decodes from the start of `data`: returns how many bytes were used
    /// and the payload piece found, if any. Call again with the rest.
    pub fn decode<'a>(&mut self, data: &'a [u8]) -> Result<(usize, Option<Piece<'a>>), FrameError> {
        if self.current.is_none() {
            let need = HEADER_LEN - self.header_len;
            let take = need.min(data.len());
            self.header[self.header_len..self.header_len + take].copy_from_slice(&data[..take]);
            self.header_len += take;
            if self.header_len < HEADER_LEN {
                return Ok((take, None));
            }
            self.header_len = 0;
            let kind = StdStream::from_byte(self.header[0])
                .ok_or(FrameError::UnknownStream(self.header[0]))?;
            let size = u32::from_be_bytes([
                self.header[4],
                self.header[5],
                self.header[6],
                self.header[7],
            ]) as usize;
            self.current = Some(kind);
            self.remaining = size;
            if size == 0 {
                self.end_frame()?;
            }
            return Ok((take, None));
        }
        let take = self.remaining.min(data.len());
        let piece = &data[..take];
        self.remaining -= take;
        let out = match self.current {
            Some(StdStream::SystemErr) => {
                self.system_err.extend_from_slice(piece);
                None
            }
            Some(kind) if take > 0 => Some((kind, piece)),
            _ => None,
        };
        if self.remaining == 0 {
            self.end_frame()?;
        }
        Ok((take, out))
    }

    fn end_frame(&mut self) -> Result<(), FrameError> {
        let kind = self.current.take();
        if kind == Some(StdStream::SystemErr) {
            let text = String::from_utf8_lossy(&self.system_err).into_owned();
            self.system_err.clear();
            return Err(FrameError::Daemon(text));
        }
        Ok(())
    }
}

/// Copies a multiplexed stream into `out` (stdout, and stdin frames as
/// Docker does) and `err` until end of input; a `None` writer discards
/// its stream. Consecutive pieces of one stream within a read are written
/// together (one write per stream switch, not per frame: a log of short
/// lines is many small frames), and each write is flushed before the
/// other stream's, so that the two outputs keep the container's order.
pub async fn copy_demuxed<R, O, E>(
    reader: &mut R,
    mut out: Option<&mut O>,
    mut err: Option<&mut E>,
) -> io::Result<()>
where
    R: AsyncRead + Unpin + ?Sized,
    O: AsyncWrite + Unpin + ?Sized,
    E: AsyncWrite + Unpin + ?Sized,
{
    let mut demux = Demuxer::new();
    let mut buf = vec![0u8; COPY_BUF];
    // Bytes due to one stream (`to_err` says which), not yet written.
    let mut pending: Vec<u8> = Vec::with_capacity(COPY_BUF);
    let mut to_err = false;
    loop {
        let n = reader.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        let mut data = &buf[..n];
        while !data.is_empty() {
            let (used, piece) = match demux.decode(data) {
                Ok(decoded) => decoded,
                Err(e) => {
                    // What came before the error is shown first.
                    write_flushed(&mut pending, to_err, &mut out, &mut err).await?;
                    return Err(io::Error::other(e));
                }
            };
            data = &data[used..];
            let Some((kind, bytes)) = piece else {
                continue;
            };
            let is_err = kind == StdStream::Stderr;
            if is_err != to_err && !pending.is_empty() {
                write_flushed(&mut pending, to_err, &mut out, &mut err).await?;
            }
            to_err = is_err;
            pending.extend_from_slice(bytes);
        }
        write_flushed(&mut pending, to_err, &mut out, &mut err).await?;
    }
}

/// Writes and flushes `pending` to `err` or `out` (discarded when that
/// writer is `None`), and empties it.
async fn write_flushed<O, E>(
    pending: &mut Vec<u8>,
    to_err: bool,
    out: &mut Option<&mut O>,
    err: &mut Option<&mut E>,
) -> io::Result<()>
where
    O: AsyncWrite + Unpin + ?Sized,
    E: AsyncWrite + Unpin + ?Sized,
{
    if pending.is_empty() {
        return Ok(());
    }
    if to_err {
        if let Some(w) = err.as_deref_mut() {
            w.write_all(pending).await?;
            w.flush().await?;
        }
    } else if let Some(w) = out.as_deref_mut() {
        w.write_all(pending).await?;
        w.flush().await?;
    }
    pending.clear();
    Ok(())
}

/// Copies a raw (TTY) stream into `out` until end of input.
pub async fn copy_raw<R, O>(reader: &mut R, out: &mut O) -> io::Result<()>
where
    R: AsyncRead + Unpin + ?Sized,
    O: AsyncWrite + Unpin + ?Sized,
{
    let mut buf = vec![0u8; COPY_BUF];
    loop {
        let n = reader.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        out.write_all(&buf[..n]).await?;
        out.flush().await?;
    }
}

/// Frames `payload` for `stream` (what the daemon sends; for tests and
/// fakes).
pub fn frame(stream: StdStream, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
    out.push(stream.as_byte());
    out.extend_from_slice(&[0, 0, 0]);
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_in_pieces(data: &[u8], piece: usize) -> (Vec<u8>, Vec<u8>, Result<(), FrameError>) {
        let mut d = Demuxer::new();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        for chunk in data.chunks(piece) {
            let r = d.feed(chunk, |s, b| match s {
                StdStream::Stderr => err.extend_from_slice(b),
                _ => out.extend_from_slice(b),
            });
            if r.is_err() {
                return (out, err, r);
            }
        }
        (out, err, Ok(()))
    }

    #[test]
    fn frames_split_anywhere() {
        let mut data = frame(StdStream::Stdout, b"hello ");
        data.extend(frame(StdStream::Stderr, b"oops\n"));
        data.extend(frame(StdStream::Stdout, b""));
        data.extend(frame(StdStream::Stdout, b"world\n"));
        data.extend(frame(StdStream::Stdin, b"!"));
        for piece in 1..data.len() + 1 {
            let (out, err, r) = decode_in_pieces(&data, piece);
            assert!(r.is_ok());
            assert_eq!(out, b"hello world\n!", "piece {piece}");
            assert_eq!(err, b"oops\n");
        }
    }

    #[test]
    fn large_frames_stream_without_waiting() {
        let payload = vec![b'x'; 100_000];
        let data = frame(StdStream::Stdout, &payload);
        let mut d = Demuxer::new();
        let mut got = 0;
        d.feed(&data[..5000], |_, b| got += b.len()).unwrap();
        assert_eq!(got, 5000 - 8);
        d.feed(&data[5000..], |_, b| got += b.len()).unwrap();
        assert_eq!(got, 100_000);
    }

    #[tokio::test]
    async fn async_copy_splits_streams() {
        let mut data = frame(StdStream::Stdout, b"out1 ");
        data.extend(frame(StdStream::Stderr, b"err "));
        data.extend(frame(StdStream::Stdout, b"out2"));
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let mut reader = &data[..];
        copy_demuxed(&mut reader, Some(&mut out), Some(&mut err))
            .await
            .unwrap();
        assert_eq!(out, b"out1 out2");
        assert_eq!(err, b"err ");
        let mut reader = &data[..];
        copy_demuxed::<_, Vec<u8>, Vec<u8>>(&mut reader, None, Some(&mut err))
            .await
            .unwrap();
        let mut raw = Vec::new();
        copy_raw(&mut &b"tty bytes"[..], &mut raw).await.unwrap();
        assert_eq!(raw, b"tty bytes");
    }

    #[test]
    fn errors() {
        let mut d = Demuxer::new();
        let err = d
            .feed(&[9, 0, 0, 0, 0, 0, 0, 1, b'x'], |_, _| {})
            .unwrap_err();
        assert_eq!(err.to_string(), "Unrecognized input header: 9");
        let mut data = frame(StdStream::Stdout, b"ok");
        data.extend(frame(StdStream::SystemErr, b"boom"));
        let (out, _, r) = decode_in_pieces(&data, 3);
        assert_eq!(out, b"ok");
        assert_eq!(
            r.unwrap_err().to_string(),
            "error from daemon in stream: boom"
        );
    }
}
