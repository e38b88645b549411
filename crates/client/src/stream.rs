//! The connection under a [`Client`](crate::Client): plain TCP, or TLS
//! over it, and the options that choose between them.

use crate::error::{Error, Result};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// How to reach a server, beyond its address: for
/// [`Client::connect_with`](crate::Client::connect_with).
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// Applies to connecting and to each later read and write; `None`
    /// waits forever.
    pub timeout: Option<Duration>,
    /// Speak TLS, verifying the server's certificate.
    pub tls: Option<TlsOptions>,
    /// Sent as `auth <token>` before any request, for servers started with
    /// `--auth-token-file`.
    pub auth_token: Option<String>,
}

/// How the server's TLS certificate is verified.
#[derive(Debug, Clone, Default)]
pub struct TlsOptions {
    /// Trust the certificates in this PEM file (a private CA, or the
    /// server's own self-signed certificate) instead of the system's.
    pub ca_file: Option<PathBuf>,
    /// The name the certificate must carry; by default the host connected
    /// to.
    pub server_name: Option<String>,
}

/// A plain or TLS connection, read and written alike.
#[derive(Debug)]
pub(crate) enum Stream {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

impl Stream {
    /// Starts TLS over `tcp` for `host`; the handshake completes with the
    /// first write or read.
    pub(crate) fn tls(tcp: TcpStream, host: &str, options: &TlsOptions) -> Result<Stream> {
        let failed = |reason: String, source: Option<Box<dyn std::error::Error + Send + Sync>>| Error::Tls {
            reason,
            source,
        };
        let mut roots = rustls::RootCertStore::empty();
        match &options.ca_file {
            Some(path) => {
                let certs = CertificateDer::pem_file_iter(path)
                    .and_then(|certs| certs.collect::<std::result::Result<Vec<_>, _>>())
                    .map_err(|error| failed(format!("reading {}", path.display()), Some(Box::new(error))))?;
                let (added, _) = roots.add_parsable_certificates(certs);
                if added == 0 {
                    return Err(failed(format!("{}: no usable certificate", path.display()), None));
                }
            }
            None => {
                let found = rustls_native_certs::load_native_certs();
                roots.add_parsable_certificates(found.certs);
                if roots.is_empty() {
                    return Err(failed(
                        "no trusted certificates found on this system; give a CA file".into(),
                        None,
                    ));
                }
            }
        }
        let name = options.server_name.as_deref().unwrap_or(host);
        let server_name = ServerName::try_from(name.to_owned())
            .map_err(|error| failed(format!("{name:?} is not a valid server name"), Some(Box::new(error))))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let setting_up = |error: rustls::Error| failed("setting up TLS".into(), Some(Box::new(error)));
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(setting_up)?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let connection = rustls::ClientConnection::new(Arc::new(config), server_name).map_err(setting_up)?;
        Ok(Stream::Tls(Box::new(rustls::StreamOwned::new(connection, tcp))))
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(tcp) => tcp.read(buf),
            Stream::Tls(tls) => tls.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(tcp) => tcp.write(buf),
            Stream::Tls(tls) => tls.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(tcp) => tcp.flush(),
            Stream::Tls(tls) => tls.flush(),
        }
    }
}
