//! The one error type of the server crate.

use std::net::SocketAddr;

/// A `Result` whose error is the server's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can stop the server from starting or from shutting down cleanly.
/// Errors of single connections are logged, never returned: one client's
/// trouble does not stop the server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The listening socket could not be opened.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The auth token file could not be read.
    #[error("cannot read the auth token file {path}")]
    TokenFile {
        /// The file.
        path: std::path::PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The auth token is not usable.
    #[error("invalid auth token: {reason}")]
    InvalidToken {
        /// What is wrong with it.
        reason: String,
    },
    /// The TLS certificate or key could not be loaded.
    #[error("TLS: {path}: {reason}")]
    Tls {
        /// The file at fault.
        path: std::path::PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The store failed to close (its final sync).
    #[error("closing the store")]
    Storage(#[from] eardrum_storage::Error),
    /// The task that closes the store panicked or was cancelled.
    #[error("the store's closing task failed")]
    CloseTask(#[source] tokio::task::JoinError),
}
