//! Request bodies (empty, bytes, JSON, or a stream such as a file being
//! imported) and response bodies (collected, streamed as chunks, as an
//! `AsyncRead`, or decoded as a stream of JSON messages).

use std::io;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::{Stream, TryStreamExt};
use http_body::{Body as _, Frame};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Empty, Full, StreamBody};
use hyper::body::Incoming;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::io::AsyncRead;

use crate::error::{Error, Result};
use crate::pool::{Pool, Sender};

/// The body type the connections are typed with.
pub(crate) type HyperBody = UnsyncBoxBody<Bytes, io::Error>;

type ByteStream = Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send + 'static>>;

/// Read size when streaming a reader (a file or stdin) to the daemon.
const READ_CHUNK: usize = 256 * 1024;

/// A request body.
pub struct Body {
    kind: Kind,
    content_type: Option<&'static str>,
}

enum Kind {
    Empty,
    Bytes(Bytes),
    Stream(ByteStream),
}

impl Body {
    pub fn empty() -> Self {
        Self {
            kind: Kind::Empty,
            content_type: None,
        }
    }

    pub fn bytes(data: impl Into<Bytes>) -> Self {
        Self {
            kind: Kind::Bytes(data.into()),
            content_type: None,
        }
    }

    /// A JSON body with `Content-Type: application/json`.
    pub fn json<T: Serialize + ?Sized>(value: &T) -> Result<Self> {
        let data = serde_json::to_vec(value).map_err(Error::Decode)?;
        Ok(Self::bytes(data).with_content_type("application/json"))
    }

    /// A body streamed from chunks, sent with chunked transfer encoding.
    pub fn stream<S>(stream: S) -> Self
    where
        S: Stream<Item = io::Result<Bytes>> + Send + 'static,
    {
        Self {
            kind: Kind::Stream(Box::pin(stream)),
            content_type: None,
        }
    }

    /// A body read from `reader` as it is sent, never held in memory whole.
    pub fn reader<R: AsyncRead + Send + 'static>(reader: R) -> Self {
        Self::stream(tokio_util::io::ReaderStream::with_capacity(
            reader, READ_CHUNK,
        ))
    }

    pub fn with_content_type(mut self, content_type: &'static str) -> Self {
        self.content_type = Some(content_type);
        self
    }

    pub fn content_type(&self) -> Option<&'static str> {
        self.content_type
    }

    /// A copy for a retry, when the body can be sent again.
    pub(crate) fn try_clone(&self) -> Option<Body> {
        let kind = match &self.kind {
            Kind::Empty => Kind::Empty,
            Kind::Bytes(b) => Kind::Bytes(b.clone()),
            Kind::Stream(_) => return None,
        };
        Some(Body {
            kind,
            content_type: self.content_type,
        })
    }

    pub(crate) fn into_hyper(self) -> HyperBody {
        match self.kind {
            Kind::Empty => Empty::new().map_err(|never| match never {}).boxed_unsync(),
            Kind::Bytes(b) => Full::new(b).map_err(|never| match never {}).boxed_unsync(),
            Kind::Stream(s) => StreamBody::new(s.map_ok(Frame::data)).boxed_unsync(),
        }
    }
}

impl Default for Body {
    fn default() -> Self {
        Self::empty()
    }
}

/// Hands the connection back to the pool once its response is consumed.
pub(crate) struct Recycle {
    pub sender: Sender,
    pub pool: Arc<Pool>,
}

/// A response body, read as it arrives.
pub struct ResponseBody {
    body: Incoming,
    recycle: Option<Recycle>,
}

impl ResponseBody {
    pub(crate) fn new(body: Incoming, recycle: Option<Recycle>) -> Self {
        Self { body, recycle }
    }

    fn finished(&mut self) {
        if let Some(r) = self.recycle.take() {
            r.pool.put(r.sender);
        }
    }

    fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<Option<io::Result<Bytes>>> {
        loop {
            match Pin::new(&mut self.body).poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => {
                    self.finished();
                    return Poll::Ready(None);
                }
                Poll::Ready(Some(Err(e))) => {
                    self.recycle = None;
                    return Poll::Ready(Some(Err(io::Error::other(e))));
                }
                Poll::Ready(Some(Ok(frame))) => {
                    match frame.into_data() {
                        Ok(data) if !data.is_empty() => return Poll::Ready(Some(Ok(data))),
                        _ => {}
                    }
                    if self.body.is_end_stream() {
                        self.finished();
                        return Poll::Ready(None);
                    }
                }
            }
        }
    }

    /// The next chunk of data; `None` at the end.
    pub async fn chunk(&mut self) -> Option<Result<Bytes>> {
        std::future::poll_fn(|cx| self.poll_chunk(cx))
            .await
            .map(|r| r.map_err(Error::Io))
    }

    /// The whole body.
    pub async fn bytes(mut self) -> Result<Bytes> {
        let mut out = Vec::new();
        while let Some(chunk) = self.chunk().await {
            out.extend_from_slice(&chunk?);
        }
        Ok(Bytes::from(out))
    }

    /// The whole body decoded as JSON.
    pub async fn json<T: DeserializeOwned>(self) -> Result<T> {
        let data = self.bytes().await?;
        serde_json::from_slice(&data).map_err(Error::Decode)
    }

    /// The body as a stream of JSON values (progress messages, events).
    pub fn json_stream<T: DeserializeOwned>(self) -> JsonStream<T> {
        JsonStream {
            body: self,
            buf: Vec::new(),
            pos: 0,
            eof: false,
            failed: false,
            _marker: PhantomData,
        }
    }

    /// The body as an `AsyncRead`, for copying into a file or stdout.
    pub fn into_reader(self) -> impl AsyncRead + Send + Unpin {
        tokio_util::io::StreamReader::new(self)
    }
}

impl Stream for ResponseBody {
    type Item = io::Result<Bytes>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_chunk(cx)
    }
}

/// A sequence of JSON values in a response body, in Docker's framing: one
/// value after another, usually newline-separated.
pub struct JsonStream<T> {
    body: ResponseBody,
    buf: Vec<u8>,
    pos: usize,
    eof: bool,
    failed: bool,
    _marker: PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned> JsonStream<T> {
    /// The next value; `None` at the end of the body.
    pub async fn next(&mut self) -> Option<Result<T>> {
        if self.failed {
            return None;
        }
        loop {
            match self.parse_one() {
                Ok(Some(value)) => return Some(Ok(value)),
                Ok(None) => {}
                Err(e) => {
                    self.failed = true;
                    return Some(Err(e));
                }
            }
            if self.eof {
                return None;
            }
            if self.pos > 0 {
                self.buf.drain(..self.pos);
                self.pos = 0;
            }
            match self.body.chunk().await {
                Some(Ok(data)) => self.buf.extend_from_slice(&data),
                Some(Err(e)) => {
                    self.failed = true;
                    return Some(Err(e));
                }
                None => self.eof = true,
            }
        }
    }

    /// Decodes one value from the buffer, or asks for more data.
    fn parse_one(&mut self) -> Result<Option<T>> {
        let rest = &self.buf[self.pos..];
        let Some(start) = rest.iter().position(|b| !b.is_ascii_whitespace()) else {
            self.pos = self.buf.len();
            return Ok(None);
        };
        let mut values = serde_json::Deserializer::from_slice(&rest[start..]).into_iter::<T>();
        match values.next() {
            Some(Ok(value)) => {
                self.pos += start + values.byte_offset();
                Ok(Some(value))
            }
            Some(Err(e)) if e.is_eof() && !self.eof => Ok(None),
            Some(Err(e)) => Err(Error::Decode(e)),
            None => Ok(None),
        }
    }
}
