//! Listeners (unix socket, TCP, TCP with TLS, inherited file descriptors)
//! and the accept loops that serve the API on them until shutdown.

use std::fs;
use std::future::Future;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, UnixListener};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;

/// A bound socket ready to serve.
pub enum Listener {
    /// A unix socket; the path is removed at shutdown when set.
    Unix {
        listener: UnixListener,
        path: Option<PathBuf>,
    },
    /// TCP, with TLS when an acceptor is given.
    Tcp {
        listener: TcpListener,
        tls: Option<TlsAcceptor>,
    },
}

impl Listener {
    pub fn describe(&self) -> String {
        match self {
            Listener::Unix { path, listener } => match path {
                Some(p) => format!("unix://{}", p.display()),
                None => match listener.local_addr() {
                    Ok(addr) => format!("unix://{:?}", addr.as_pathname()),
                    Err(_) => "unix://(inherited)".to_string(),
                },
            },
            Listener::Tcp { listener, tls } => {
                let addr = listener
                    .local_addr()
                    .map(|a| a.to_string())
                    .unwrap_or_else(|_| "?".to_string());
                format!("tcp://{addr}{}", if tls.is_some() { " (TLS)" } else { "" })
            }
        }
    }
}

/// Binds a unix socket at `path` (a stale socket file is replaced), with
/// mode 0660 and, when `gid` is given, that group.
pub fn bind_unix(path: &Path, gid: Option<u32>) -> io::Result<Listener> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    match fs::symlink_metadata(path) {
        Ok(meta) => {
            use std::os::unix::fs::FileTypeExt;
            if meta.file_type().is_socket() {
                fs::remove_file(path)?;
            } else {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!("{} exists and is not a socket", path.display()),
                ));
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let listener = UnixListener::bind(path)?;
    fs::set_permissions(path, fs::Permissions::from_mode(0o660))?;
    if let Some(gid) = gid {
        std::os::unix::fs::chown(path, None, Some(gid))?;
    }
    Ok(Listener::Unix {
        listener,
        path: Some(path.to_path_buf()),
    })
}

/// TLS material for a TCP listener.
pub struct TlsFiles<'a> {
    pub cert: &'a Path,
    pub key: &'a Path,
    /// With a CA, clients must present a certificate it signed (mutual TLS).
    pub client_ca: Option<&'a Path>,
}

fn read_pem(path: &Path, what: &str) -> io::Result<Vec<u8>> {
    fs::read(path)
        .map_err(|e| io::Error::new(e.kind(), format!("reading {what} {}: {e}", path.display())))
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

/// Builds a TLS acceptor (rustls with the ring provider).
pub fn tls_acceptor(files: &TlsFiles<'_>) -> io::Result<TlsAcceptor> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cert_pem = read_pem(files.cert, "TLS certificate")?;
    let certs: Vec<_> = rustls_pemfile_certs(&cert_pem)
        .map_err(|e| invalid(format!("TLS certificate {}: {e}", files.cert.display())))?;
    if certs.is_empty() {
        return Err(invalid(format!(
            "TLS certificate {} holds no certificate",
            files.cert.display()
        )));
    }
    let key_pem = read_pem(files.key, "TLS key")?;
    let key = rustls::pki_types::PrivateKeyDer::from_pem_slice(&key_pem)
        .map_err(|e| invalid(format!("TLS key {}: {e}", files.key.display())))?;
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid(e.to_string()))?;
    let builder = match files.client_ca {
        Some(ca) => {
            let ca_pem = read_pem(ca, "TLS CA certificate")?;
            let mut roots = rustls::RootCertStore::empty();
            for cert in rustls_pemfile_certs(&ca_pem)
                .map_err(|e| invalid(format!("TLS CA {}: {e}", ca.display())))?
            {
                roots
                    .add(cert)
                    .map_err(|e| invalid(format!("TLS CA {}: {e}", ca.display())))?;
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .build()
            .map_err(|e| invalid(format!("TLS CA {}: {e}", ca.display())))?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let config = builder
        .with_single_cert(certs, key)
        .map_err(|e| invalid(format!("TLS certificate and key do not match: {e}")))?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

fn rustls_pemfile_certs(
    pem: &[u8],
) -> Result<Vec<rustls::pki_types::CertificateDer<'static>>, rustls::pki_types::pem::Error> {
    rustls::pki_types::CertificateDer::pem_slice_iter(pem).collect()
}

/// How long open connections get to finish after shutdown begins.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `app` on every listener until `shutdown` resolves, then stops
/// accepting, drains open connections (bounded) and removes socket files.
pub async fn serve(listeners: Vec<Listener>, app: Router, shutdown: impl Future<Output = ()>) {
    let graceful = Arc::new(GracefulShutdown::new());
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut loops = Vec::new();
    let mut socket_paths = Vec::new();
    for listener in listeners {
        if let Listener::Unix { path: Some(p), .. } = &listener {
            socket_paths.push(p.clone());
        }
        tracing::info!(listener = %listener.describe(), "API listening");
        let app = app.clone();
        let graceful = graceful.clone();
        let mut stop = stop_rx.clone();
        loops.push(tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = stop.changed() => break,
                    conn = accept(&listener) => match conn {
                        Ok(Some(io)) => serve_conn(io, app.clone(), &graceful),
                        Ok(None) => {}
                        Err(e) => {
                            tracing::warn!(error = %e, "accept failed");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                    },
                }
            }
        }));
    }
    shutdown.await;
    let _ = stop_tx.send(true);
    for l in loops {
        let _ = l.await;
    }
    for p in socket_paths {
        let _ = fs::remove_file(&p);
    }
    let graceful = match Arc::try_unwrap(graceful) {
        Ok(g) => g,
        Err(_) => return,
    };
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("some API connections did not finish in time; closing them");
    }
}

/// A boxed bidirectional stream, whatever the transport.
trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin> Io for T {}

async fn accept(listener: &Listener) -> io::Result<Option<Box<dyn Io>>> {
    match listener {
        Listener::Unix { listener, .. } => {
            let (stream, _) = listener.accept().await?;
            Ok(Some(Box::new(stream)))
        }
        Listener::Tcp { listener, tls } => {
            let (stream, peer) = listener.accept().await?;
            let _ = stream.set_nodelay(true);
            match tls {
                None => Ok(Some(Box::new(stream))),
                Some(acceptor) => {
                    // The handshake runs inline but bounded, so a silent
                    // client cannot stall the accept loop for long.
                    match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream))
                        .await
                    {
                        Ok(Ok(tls)) => Ok(Some(Box::new(tls))),
                        Ok(Err(e)) => {
                            tracing::info!(peer = %peer, error = %e, "TLS handshake refused");
                            Ok(None)
                        }
                        Err(_) => {
                            tracing::info!(peer = %peer, "TLS handshake timed out");
                            Ok(None)
                        }
                    }
                }
            }
        }
    }
}

fn serve_conn(io: Box<dyn Io>, app: Router, graceful: &GracefulShutdown) {
    let svc = TowerToHyperService::new(app);
    let builder = auto::Builder::new(TokioExecutor::new()).http1_only();
    let conn = builder.serve_connection_with_upgrades(TokioIo::new(io), svc);
    let conn = graceful.watch(conn.into_owned());
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!(error = %e, "connection ended with an error");
        }
    });
}
