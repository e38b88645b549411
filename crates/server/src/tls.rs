//! TLS on every listener: rustls (with the ring provider), a certificate
//! chain and a private key from PEM files.

use crate::error::{Error, Result};
use crate::stats::Stats;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

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
        stats: &Stats,
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

/// The HTTP listener with TLS: connections are accepted and their
/// handshakes run in tasks of their own (a slow client cannot hold up the
/// others), and finished ones are handed to axum.
pub(crate) struct TlsListener {
    streams: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local_addr: SocketAddr,
}

impl TlsListener {
    /// Starts accepting on `listener` until `shutdown` fires.
    pub(crate) fn spawn(
        listener: TcpListener,
        (tls, timeout): (TlsConfig, Duration),
        stats: Arc<Stats>,
        shutdown: CancellationToken,
    ) -> std::io::Result<TlsListener> {
        let local_addr = listener.local_addr()?;
        let (ready, streams) = mpsc::channel(64);
        tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    () = shutdown.cancelled() => return,
                    accepted = listener.accept() => accepted,
                };
                let (stream, peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        tracing::warn!(%error, "HTTP accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let (tls, stats, ready) = (tls.clone(), Arc::clone(&stats), ready.clone());
                tokio::spawn(async move {
                    if let Some(stream) = tls.handshake(stream, peer, timeout, &stats).await {
                        let _ = ready.send((stream, peer)).await;
                    }
                });
            }
        });
        Ok(TlsListener { streams, local_addr })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.streams.recv().await {
            Some(accepted) => accepted,
            // Accepting stopped (shutdown): axum's graceful shutdown ends
            // the serve loop meanwhile.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local_addr)
    }
}
