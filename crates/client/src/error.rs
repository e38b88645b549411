//! The one error type of the client.

use std::io;

/// A `Result` whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The course's name for [`Error`], which its Python client raises:
/// `except ClientError` reads the same in Rust.
pub type ClientError = Error;

/// Everything that can go wrong talking to a server. A failed call never
/// yields partial data.
///
/// ```no_run
/// use eardrum_client::{Client, Error};
///
/// let mut client = Client::connect("127.0.0.1:8888")?;
/// match client.put("palm.cpu", 23.7, None) {
///     Ok(()) => {}
///     Err(Error::Server { message }) => eprintln!("refused: {message}"),
///     Err(other) => return Err(other),
/// }
/// # Ok::<(), Error>(())
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
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
    /// split it into several words (or requests) on the wire; or it is `*`
    /// in a read, where the protocol takes it for every key.
    #[error("invalid key {key:?}: {reason}")]
    InvalidKey {
        /// The key as given.
        key: String,
        /// Why it cannot be sent.
        reason: &'static str,
    },
    /// A raw request line is blank (the server would never answer it) or
    /// holds a line break (it would be several requests).
    #[error("invalid request: a request is one non-blank line")]
    InvalidRequest,
    /// TLS could not be set up: the CA file, the server name, or the
    /// server's certificate.
    #[error("TLS: {reason}")]
    Tls {
        /// What went wrong, and what to do about it where that is known.
        reason: String,
        /// The underlying failure (rustls', or reading the CA file), if
        /// there is one.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
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

impl Error {
    /// Maps an I/O error, telling timeouts and TLS failures apart.
    pub(crate) fn from_io(error: io::Error) -> Error {
        if error.get_ref().is_some_and(|inner| inner.is::<rustls::Error>()) {
            let kind = error.kind();
            // `into_inner` gives back the inner error just seen.
            return error.into_inner().map_or_else(|| Error::Io(kind.into()), Error::from_tls);
        }
        match error.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => Error::Timeout,
            _ => Error::Io(error),
        }
    }

    /// A TLS failure of the handshake, with what to do about the common
    /// ones.
    fn from_tls(tls: Box<dyn std::error::Error + Send + Sync>) -> Error {
        let reason = match tls.downcast_ref::<rustls::Error>() {
            Some(error) if error.to_string().contains("CaUsedAsEndEntity") => {
                "the server presents a CA certificate as its own; issue it one with basicConstraints \
                 CA:FALSE"
            }
            // webpki names the last check that failed while looking for a
            // trusted issuer (often the signature algorithm), which hides
            // the usual cause.
            Some(rustls::Error::InvalidCertificate(_)) => {
                "the server's certificate is not issued by an authority trusted here: if it is \
                 self-signed or from a private CA, give that CA's certificate, e.g. eardrum --tls-ca FILE"
            }
            _ => "the handshake failed",
        };
        Error::Tls { reason: reason.to_owned(), source: Some(tls) }
    }
}
