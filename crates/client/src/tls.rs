//! TLS for `tcp://` hosts (rustls with the ring provider): a CA to verify
//! the daemon, an optional client certificate, and Docker's `--tls` mode
//! that encrypts without verifying.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::error::{Error, Result};

/// TLS settings, as `--tlsverify --tlscacert --tlscert --tlskey` give them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// Verify the daemon's certificate against `ca_file`.
    pub verify: bool,
    pub ca_file: Option<PathBuf>,
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
}

impl TlsOptions {
    /// Builds the rustls configuration, reading the files.
    pub fn client_config(&self) -> Result<Arc<ClientConfig>> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Tls(format!("TLS setup failed: {e}")))?;
        let builder = if self.verify {
            let ca = self.ca_file.as_deref().ok_or_else(|| {
                Error::Tls("--tlsverify needs a CA certificate (--tlscacert)".into())
            })?;
            let mut roots = RootCertStore::empty();
            for cert in read_certs(ca, "CA certificate")? {
                roots.add(cert).map_err(|e| {
                    Error::Tls(format!(
                        "could not read CA certificate {}: {e}",
                        ca.display()
                    ))
                })?;
            }
            builder.with_root_certificates(roots)
        } else {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(NoVerifier(provider)))
        };
        let config = match (&self.cert_file, &self.key_file) {
            (Some(cert), Some(key)) => {
                let certs = read_certs(cert, "certificate")?;
                let key = PrivateKeyDer::from_pem_file(key).map_err(|e| {
                    Error::Tls(format!(
                        "could not load X509 key pair: could not read key {}: {e}",
                        key.display()
                    ))
                })?;
                builder
                    .with_client_auth_cert(certs, key)
                    .map_err(|e| Error::Tls(format!("could not load X509 key pair: {e}")))?
            }
            (None, None) => builder.with_no_client_auth(),
            _ => {
                return Err(Error::Tls(
                    "a client certificate needs both --tlscert and --tlskey".into(),
                ));
            }
        };
        Ok(Arc::new(config))
    }
}

/// The SNI / verification name for a host: an IP address or a DNS name.
pub fn server_name(host: &str) -> Result<ServerName<'static>> {
    ServerName::try_from(host.to_string())
        .map_err(|_| Error::Tls(format!("invalid TLS server name {host:?}")))
}

fn read_certs(path: &Path, what: &str) -> Result<Vec<CertificateDer<'static>>> {
    let bad = |e: &dyn std::fmt::Display| {
        Error::Tls(format!("could not read {what} {}: {e}", path.display()))
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| bad(&e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(&e))?;
    if certs.is_empty() {
        return Err(bad(&"no PEM certificate found"));
    }
    Ok(certs)
}

/// `--tls` without `--tlsverify`: encrypt, accept any server certificate
/// (signatures are still checked, so the handshake itself is sound).
#[derive(Debug)]
struct NoVerifier(Arc<CryptoProvider>);

impl ServerCertVerifier for NoVerifier {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insecure_config_builds_without_files() {
        let opts = TlsOptions::default();
        assert!(opts.client_config().is_ok());
    }

    #[test]
    fn missing_files_are_named() {
        let opts = TlsOptions {
            verify: true,
            ca_file: Some("/nonexistent/ca.pem".into()),
            ..Default::default()
        };
        let err = opts.client_config().unwrap_err().to_string();
        assert!(err.contains("/nonexistent/ca.pem"), "{err}");

        let opts = TlsOptions {
            cert_file: Some("/nonexistent/cert.pem".into()),
            ..Default::default()
        };
        assert!(opts.client_config().is_err());
    }

    #[test]
    fn server_names() {
        assert!(server_name("127.0.0.1").is_ok());
        assert!(server_name("daemon.example").is_ok());
        assert!(server_name("bad name").is_err());
    }
}
