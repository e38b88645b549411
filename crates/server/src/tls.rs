//! TLS on every listener: rustls (with the ring provider), a certificate
//! chain and a private key from PEM files.

use crate::error::{Error, Result};
use crate::stats::Counters;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

/// The server side of TLS, shared by the protocol and HTTP listeners.
#[derive(Clone)]
pub struct TlsConfig {
    acceptor: TlsAcceptor,
}

impl std::fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TlsConfig")
    }
}

impl TlsConfig {
    /// Reads a certificate chain (leaf first) and its private key (PKCS#8,
    /// PKCS#1 or SEC1) from PEM files.
    ///
    /// # Errors
    ///
    /// [`Error::Tls`] naming the file when one cannot be read or parsed, or
    /// when the key does not fit the certificate.
    pub fn from_pem_files(cert_path: &Path, key_path: &Path) -> Result<TlsConfig> {
        let failed = |path: &Path, reason: String| Error::Tls { path: path.to_owned(), reason };
        let certs = CertificateDer::pem_file_iter(cert_path)
            .and_then(|certs| certs.collect::<std::result::Result<Vec<_>, _>>())
            .map_err(|error| failed(cert_path, error.to_string()))?;
        if certs.is_empty() {
            return Err(failed(cert_path, "no certificate in the file".to_owned()));
        }
        let key =
            PrivateKeyDer::from_pem_file(key_path).map_err(|error| failed(key_path, error.to_string()))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .and_then(|builder| builder.with_no_client_auth().with_single_cert(certs, key))
            .map_err(|error| failed(key_path, format!("the key does not fit the certificate: {error}")))?;
        Ok(TlsConfig { acceptor: TlsAcceptor::from(Arc::new(config)) })
    }

    /// Runs the server side of a handshake, within the handshake timeout;
    /// failures are counted and logged, and give `None`.
    pub(crate) async fn handshake(
        &self,
        stream: TcpStream,
        peer: SocketAddr,
        timeout: Duration,
        stats: &Counters,
    ) -> Option<TlsStream<TcpStream>> {
        let error = match tokio::time::timeout(timeout, self.acceptor.accept(stream)).await {
            Ok(Ok(stream)) => return Some(stream),
            Ok(Err(error)) => error.to_string(),
            Err(_) => "timed out".to_owned(),
        };
        stats.tls_handshake_failures.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(%peer, error, "TLS handshake failed");
        None
    }
}
