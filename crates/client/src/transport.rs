//! Opening a byte stream to the daemon: a unix socket, plain TCP, or TCP
//! with TLS.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpStream, UnixStream};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::error::{Error, Result};
use crate::host::Host;

/// A connection to the daemon.
pub enum Conn {
    Unix(UnixStream),
    Tcp(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

/// How to reach the daemon: the address, plus TLS when configured.
#[derive(Clone)]
pub struct Transport {
    pub host: Host,
    pub tls: Option<Arc<rustls::ClientConfig>>,
}

impl Transport {
    pub async fn connect(&self) -> Result<Conn> {
        match &self.host {
            Host::Unix(path) => UnixStream::connect(path)
                .await
                .map(Conn::Unix)
                .map_err(|e| self.connect_error(e)),
            Host::Tcp { host, port, .. } => {
                let tcp = TcpStream::connect((host.as_str(), *port))
                    .await
                    .map_err(|e| self.connect_error(e))?;
                // Requests are small and latency matters more than packing.
                let _ = tcp.set_nodelay(true);
                let Some(config) = &self.tls else {
                    return Ok(Conn::Tcp(tcp));
                };
                let name = crate::tls::server_name(host)?;
                let stream = TlsConnector::from(config.clone())
                    .connect(name, tcp)
                    .await
                    .map_err(|e| {
                        Error::Tls(format!("error during connect to {}: {e}", self.host))
                    })?;
                Ok(Conn::Tls(Box::new(stream)))
            }
        }
    }

    fn connect_error(&self, err: io::Error) -> Error {
        let host = self.host.to_string();
        if err.kind() == io::ErrorKind::PermissionDenied {
            Error::PermissionDenied { host, source: err }
        } else {
            Error::Connect { host, source: err }
        }
    }
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Unix(s) => Pin::new(s).poll_read(cx, buf),
            Conn::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Conn::Unix(s) => Pin::new(s).poll_write(cx, buf),
            Conn::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Conn::Unix(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Conn::Tcp(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Conn::Unix(s) => s.is_write_vectored(),
            Conn::Tcp(s) => s.is_write_vectored(),
            Conn::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Unix(s) => Pin::new(s).poll_flush(cx),
            Conn::Tcp(s) => Pin::new(s).poll_flush(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Unix(s) => Pin::new(s).poll_shutdown(cx),
            Conn::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}
