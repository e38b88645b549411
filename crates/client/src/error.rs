//! The one error type of the client.

use std::io;

/// A `Result` whose error is [`ClientError`].
pub type Result<T, E = ClientError> = std::result::Result<T, E>;

/// Everything that can go wrong talking to a server. A failed call never
/// yields partial data.
///
/// ```no_run
/// use eardrum_client::{Client, ClientError};
///
/// let mut client = Client::connect("127.0.0.1:8888")?;
/// match client.put("palm.cpu", 23.7, None) {
///     Ok(()) => {}
///     Err(ClientError::Server { message }) => eprintln!("refused: {message}"),
///     Err(other) => return Err(other),
/// }
/// # Ok::<(), ClientError>(())
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// No connection could be made to any address the host resolved to.
    #[error("cannot connect to {addr}")]
    Connect {
        /// The address as given.
        addr: String,
        /// The last connection error.
        #[source]
        source: io::Error,
    },
    /// The connect, a read or a write took longer than the client's timeout.
    #[error("timed out waiting for the server")]
    Timeout,
    /// Reading or writing the connection failed.
    #[error("connection failed")]
    Io(#[source] io::Error),
    /// The server closed the connection before the reply was complete.
    #[error("the server closed the connection before the reply was complete")]
    Closed,
    /// The server answered `error`.
    #[error("the server answered error: {message}")]
    Server {
        /// The message line(s) after `error`, normally `wrong command`.
        message: String,
    },
    /// The reply does not follow the protocol.
    #[error("malformed reply from the server")]
    MalformedReply(#[source] eardrum_protocol::Error),
    /// The key cannot be sent: it is empty or holds whitespace, which would
    /// split it into several words (or requests) on the wire.
    #[error("invalid key {key:?}: keys are non-empty and have no whitespace")]
    InvalidKey {
        /// The key as given.
        key: String,
    },
    /// A raw request line is blank (the server would never answer it) or
    /// holds a line break (it would be several requests).
    #[error("invalid request: a request is one non-blank line")]
    InvalidRequest,
    /// TLS could not be set up: the CA file, the server name, or the
    /// server's certificate.
    #[error("TLS: {reason}")]
    Tls {
        /// What went wrong.
        reason: String,
    },
    /// The server refused the auth token (or requires one and none was
    /// given).
    #[error("the server refused the auth token: {message}")]
    Unauthorized {
        /// The server's error message.
        message: String,
    },
    /// An earlier I/O error, timeout or malformed reply left the connection
    /// out of step with the server; make a new client.
    #[error("the connection is unusable after an earlier failure; reconnect")]
    Broken,
}

impl ClientError {
    /// Maps an I/O error, telling timeouts apart.
    pub(crate) fn from_io(error: io::Error) -> ClientError {
        if let Some(tls) = error.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) {
            let mut reason = tls.to_string();
            if reason.contains("CaUsedAsEndEntity") {
                reason.push_str(
                    " (the server presents a CA certificate as its own; issue it one with \
                     basicConstraints CA:FALSE)",
                );
            } else if matches!(tls, rustls::Error::InvalidCertificate(_)) {
                // webpki names the last check that failed while looking
                // for a trusted issuer (often the signature algorithm),
                // which hides the usual cause.
                reason.push_str(
                    " (the server's certificate is not issued by an authority trusted here: if it \
                     is self-signed or from a private CA, give that CA's certificate, e.g. \
                     eardrum --tls-ca FILE)",
                );
            }
            return ClientError::Tls { reason };
        }
        match error.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => ClientError::Timeout,
            _ => ClientError::Io(error),
        }
    }
}
