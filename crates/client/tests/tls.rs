//! TCP with mutual TLS against a fake daemon, with certificates made by
//! the `openssl` command (the test is skipped, saying so, without it).

use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use berth_client::{Client, TlsOptions};
use bytes::Bytes;
use http_body_util::Full;
use hyper::Response;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

struct Certs {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl Certs {
    fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }
}

fn openssl(dir: &Path, args: &[&str]) -> bool {
    Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate;
/// a second, unrelated CA as `other-ca.pem`.
fn make_certs() -> Option<Certs> {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    for (ca, key) in [
        ("ca.pem", "ca-key.pem"),
        ("other-ca.pem", "other-ca-key.pem"),
    ] {
        let mut args = vec!["req", "-x509"];
        args.extend(ec);
        args.extend([
            "-keyout",
            key,
            "-out",
            ca,
            "-days",
            "2",
            "-subj",
            "/CN=test-ca",
        ]);
        if !openssl(d, &args) {
            return None;
        }
    }
    std::fs::write(
        d.join("server.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    std::fs::write(d.join("client.ext"), "extendedKeyUsage=clientAuth\n").unwrap();
    for who in ["server", "client"] {
        let key = format!("{who}-key.pem");
        let csr = format!("{who}.csr");
        let pem = format!("{who}.pem");
        let ext = format!("{who}.ext");
        let subj = format!("/CN={who}");
        let mut args = vec!["req"];
        args.extend(ec);
        args.extend(["-keyout", &key, "-out", &csr, "-subj", &subj]);
        if !openssl(d, &args) {
            return None;
        }
        let args = [
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca-key.pem",
            "-CAcreateserial",
            "-out",
            &pem,
            "-days",
            "2",
            "-extfile",
            &ext,
        ];
        if !openssl(d, &args) {
            return None;
        }
    }
    Some(Certs {
        path: d.to_path_buf(),
        _dir: dir,
    })
}

/// A TLS daemon requiring client certificates; returns its address.
async fn serve(certs: &Certs) -> String {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(certs.file("ca.pem")).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .unwrap();
    let chain: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(certs.file("server.pem"))
            .unwrap()
            .map(Result::unwrap)
            .collect();
    let key = PrivateKeyDer::from_pem_file(certs.file("server-key.pem")).unwrap();
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let svc = service_fn(|req: hyper::Request<hyper::body::Incoming>| async move {
                    let body = if req.uri().path() == "/_ping" {
                        "OK".to_string()
                    } else {
                        format!(r#"{{"Path":"{}"}}"#, req.uri().path())
                    };
                    Ok::<_, Infallible>(
                        Response::builder()
                            .header("API-Version", "1.45")
                            .body(Full::new(Bytes::from(body)))
                            .unwrap(),
                    )
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), svc)
                    .await;
            });
        }
    });
    format!("tcp://{addr}")
}

fn client(host: &str, tls: TlsOptions) -> Client {
    Client::builder().host(host).tls(tls).build().unwrap()
}

#[tokio::test]
async fn mutual_tls() {
    let Some(certs) = make_certs() else {
        eprintln!("skipped: the openssl command is not available");
        return;
    };
    let host = serve(&certs).await;
    let full = TlsOptions {
        verify: true,
        ca_file: Some(certs.file("ca.pem")),
        cert_file: Some(certs.file("client.pem")),
        key_file: Some(certs.file("client-key.pem")),
    };

    // Verified both ways.
    let c = client(&host, full.clone());
    let v: serde_json::Value = c.version_as().await.unwrap();
    assert_eq!(v["Path"], "/v1.45/version");

    // --tls without --tlsverify: encrypted, daemon not verified.
    let insecure = TlsOptions {
        verify: false,
        ca_file: None,
        ..full.clone()
    };
    let v: serde_json::Value = client(&host, insecure).version_as().await.unwrap();
    assert_eq!(v["Path"], "/v1.45/version");

    // The daemon's certificate is not signed by the given CA.
    let wrong_ca = TlsOptions {
        ca_file: Some(certs.file("other-ca.pem")),
        ..full.clone()
    };
    let err = client(&host, wrong_ca).ping().await.unwrap_err();
    assert!(err.to_string().contains("certificate"), "{err}");

    // The daemon requires a client certificate.
    let anonymous = TlsOptions {
        cert_file: None,
        key_file: None,
        ..full
    };
    assert!(client(&host, anonymous).ping().await.is_err());
}
