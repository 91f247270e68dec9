//! Bridges between async handlers and the blocking stores: running a
//! closure on a blocking thread, reading a request body from one, and
//! streaming bytes written on one into a response.

use std::io;

use berth_api::Error;
use berth_server::backend::{BodyReader, ByteStream};
use bytes::Bytes;
use tokio::sync::mpsc;

/// Runs `f` on the blocking pool.
pub async fn run<T, F>(f: F) -> Result<T, Error>
where
    F: FnOnce() -> Result<T, Error> + Send + 'static,
    T: Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(result) => result,
        Err(e) => Err(Error::system(format!("a blocking task failed: {e}"))),
    }
}

/// A request body readable from a blocking thread.
pub fn sync_reader(body: BodyReader) -> impl io::Read + Send {
    tokio_util::io::SyncIoBridge::new(body)
}

/// A `Write` for blocking threads whose bytes become a response stream.
/// Writes fail with `BrokenPipe` once the client is gone.
pub struct StreamWriter {
    tx: mpsc::Sender<io::Result<Bytes>>,
    buf: Vec<u8>,
}

const CHUNK: usize = 256 * 1024;

impl StreamWriter {
    pub fn new() -> (Self, ByteStream) {
        let (tx, rx) = mpsc::channel(8);
        let stream = futures_util::stream::unfold(rx, |mut rx| async move {
            let item = rx.recv().await?;
            Some((item, rx))
        });
        (
            Self {
                tx,
                buf: Vec::with_capacity(CHUNK),
            },
            Box::pin(stream),
        )
    }

    fn send(&mut self, item: io::Result<Bytes>) -> io::Result<()> {
        self.tx
            .blocking_send(item)
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))
    }

    /// Ends the stream with an error (the client sees a broken transfer).
    pub fn fail(mut self, err: &Error) {
        let _ = self.send(Err(io::Error::other(err.message().to_string())));
    }

    /// Sends what is buffered and ends the stream.
    pub fn finish(mut self) -> io::Result<()> {
        io::Write::flush(&mut self)
    }
}

impl io::Write for StreamWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.flush()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.send(Ok(chunk))
    }
}
