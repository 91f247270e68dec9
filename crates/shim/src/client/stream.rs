//! The two halves of an attach or exec stream: [`OutputReader`] (stdout,
//! stderr, then the exit) and [`InputWriter`] (stdin frames; also an
//! [`AsyncWrite`], whose shutdown ends stdin).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use tokio::io::{AsyncWrite, BufReader};
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};

use super::error::{Result, ShimError};
use super::framed::{error_from_payload, parse_json, recv_frame, send_frame};
use crate::exit::ExitInfo;
use crate::protocol;

/// One item of an attach or exec stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    Stdout(Bytes),
    Stderr(Bytes),
    /// The last item: how the container (attach) or process (exec) ended.
    Exit(ExitInfo),
}

/// Output of an attach or exec stream.
#[derive(Debug)]
pub struct OutputReader {
    id: String,
    read: BufReader<OwnedReadHalf>,
    done: bool,
}

impl OutputReader {
    pub(crate) fn new(id: String, read: BufReader<OwnedReadHalf>) -> Self {
        OutputReader {
            id,
            read,
            done: false,
        }
    }

    /// The next item; `Ok(None)` after [`Output::Exit`]. `Gone` when the
    /// shim went away without reporting an exit.
    pub async fn next(&mut self) -> Result<Option<Output>> {
        if self.done {
            return Ok(None);
        }
        let f = recv_frame(&mut self.read, &self.id).await?;
        match f.kind {
            protocol::STDOUT => Ok(Some(Output::Stdout(Bytes::from(f.payload)))),
            protocol::STDERR => Ok(Some(Output::Stderr(Bytes::from(f.payload)))),
            protocol::EXIT => {
                self.done = true;
                Ok(Some(Output::Exit(parse_json(&self.id, &f.payload)?)))
            }
            protocol::ERROR => Err(error_from_payload(&self.id, &f.payload)),
            other => Err(ShimError::Protocol {
                id: self.id.clone(),
                message: format!("unexpected frame {:?} in stream", char::from(other)),
            }),
        }
    }
}

/// Stdin of an attach or exec stream.
#[derive(Debug)]
pub struct InputWriter {
    id: String,
    write: OwnedWriteHalf,
    pending: Vec<u8>,
    pos: usize,
    eof_sent: bool,
}

impl InputWriter {
    pub(crate) fn new(id: String, write: OwnedWriteHalf) -> Self {
        InputWriter {
            id,
            write,
            pending: Vec::new(),
            pos: 0,
            eof_sent: false,
        }
    }

    /// Sends bytes to the process's stdin.
    pub async fn send(&mut self, data: &[u8]) -> Result<()> {
        for chunk in data.chunks(protocol::MAX_DATA_FRAME) {
            send_frame(&mut self.write, &self.id, protocol::STDIN, chunk).await?;
        }
        Ok(())
    }

    /// Ends stdin (the container's, with stdin-once; the exec process's).
    pub async fn close_stdin(&mut self) -> Result<()> {
        if !self.eof_sent {
            self.eof_sent = true;
            send_frame(&mut self.write, &self.id, protocol::STDIN_EOF, &[]).await?;
        }
        Ok(())
    }

    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.pos < self.pending.len() {
            let n = ready!(Pin::new(&mut self.write).poll_write(cx, &self.pending[self.pos..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.pos += n;
        }
        self.pending.clear();
        self.pos = 0;
        Poll::Ready(Ok(()))
    }

    fn queue(&mut self, kind: u8, data: &[u8]) {
        protocol::push_frame(&mut self.pending, kind, data);
    }
}

impl AsyncWrite for InputWriter {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        ready!(self.poll_drain(cx))?;
        let n = buf.len().min(protocol::MAX_DATA_FRAME);
        if n == 0 {
            return Poll::Ready(Ok(0));
        }
        self.queue(protocol::STDIN, &buf[..n]);
        // The frame is ours now; push what the socket takes at once.
        if let Poll::Ready(Err(e)) = self.poll_drain(cx) {
            return Poll::Ready(Err(e));
        }
        Poll::Ready(Ok(n))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_drain(cx))?;
        Pin::new(&mut self.write).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_drain(cx))?;
        if !self.eof_sent {
            self.eof_sent = true;
            self.queue(protocol::STDIN_EOF, &[]);
            ready!(self.poll_drain(cx))?;
        }
        Poll::Ready(Ok(()))
    }
}
