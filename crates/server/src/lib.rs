//! The eardrum server: the metrics protocol over TCP, on one shared store.
//!
//! [`Server::bind`] opens the listening socket over a storage `Backend`
//! from `eardrum-storage` (the embedded `Store`, or the ClickHouse crate's
//! front end over a cluster), and [`Server::run`] serves until its
//! shutdown token fires, then stops accepting, lets every connection answer
//! the requests it has already read, and closes the store (a final sync).
//!
//! # Layout
//!
//! - `listener`: accepts connections under a limit, with backoff on errors.
//! - `slots`: the connection slots every listener shares; clients that
//!   have yet to authenticate cannot take the established ones.
//! - `graphite`: Graphite's plaintext lines on their own port, into the
//!   same store.
//! - [`tls`]: TLS for every listener, from PEM files.
//! - [`auth`]: the optional shared token.
//! - `connection`: reads bytes, writes replies, one task per client.
//! - `committer`: stores the connections' put batches, several in one log
//!   write.
//! - `handler`: the protocol's logic over a buffer of lines, with no I/O:
//!   consecutive puts become one store batch before their `ok`s are sent.
//! - `streaming`: the rest of a long `get` reply read and printed on two
//!   threads while the connection writes it.
//! - `http`: the HTTP API beside the protocol port: statistics, series
//!   and points, Graphite's find and render, Prometheus' `/metrics`, the
//!   dashboard; each read under a budget, each connection under timeouts.
//! - `throttle`: a repeated error logged at most once a second.
//! - [`shutdown`]: SIGINT/SIGTERM to the shutdown token.
//! - [`Counters`]: counters shared by every connection; [`Stats`]: the
//!   snapshot that `/api/v1/stats`, `/metrics` and `eardrum stats` show.
//!
//! # Example
//!
//! ```no_run
//! use eardrum_server::{CancellationToken, Config, Server};
//! use eardrum_storage::{Options, Store};
//!
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! let store = Store::open("eardrum-data", Options::default())?;
//! let server = Server::bind(Config::default(), store).await?;
//! let shutdown = CancellationToken::new();
//! tokio::spawn(eardrum_server::shutdown::cancel_on_signal(shutdown.clone()));
//! server.run(shutdown).await?;
//! # Ok(())
//! # }
//! ```

pub mod auth;
mod committer;
mod connection;
mod error;
mod graphite;
mod handler;
mod http;
mod listener;
mod memory;
pub mod shutdown;
mod slots;
mod stats;
mod streaming;
mod throttle;
pub mod tls;

pub use auth::AuthToken;
pub use error::{Error, Result};
#[doc(hidden)]
pub use http::render_for_fuzzing;
pub use http::HttpLimits;
pub use stats::{CounterValues, Counters, Stats};
pub use tls::TlsConfig;
/// The shutdown token [`Server::run`] watches, re-exported for callers.
pub use tokio_util::sync::CancellationToken;

use committer::Committer;
use connection::{Context, Dialect};
use eardrum_graphite::schema::StorageSchemas;
use eardrum_storage::Backend;
use listener::Listener;
use slots::ConnectionSlots;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpSocket};
use tokio_util::task::TaskTracker;

/// The protocol's well-known port, from the course.
pub const DEFAULT_PORT: u16 = 8888;

/// The HTTP API's port, beside the protocol's.
pub const DEFAULT_HTTP_PORT: u16 = 8889;

/// Graphite's own plaintext port, which agents send to by default.
pub const DEFAULT_GRAPHITE_PORT: u16 = 2003;

/// The default of [`Config::max_key_bytes`]: far above real metric names,
/// far below what would let a client fill the memory with a few puts.
pub const DEFAULT_MAX_KEY_BYTES: usize = 1024;

/// The default of [`Config::max_reply_buffer_bytes`]: thousands of
/// pipelined replies, and a `get` written in pieces big enough to keep
/// the socket busy.
pub const DEFAULT_MAX_REPLY_BUFFER_BYTES: usize = 256 * 1024;

/// The default of [`Config::idle_timeout`]: long enough for any client that
/// is still there (agents report every few seconds), short enough to free
/// what vanished ones hold.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(3600);

/// The default of [`Config::handshake_timeout`].
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The default of [`Config::shutdown_grace`].
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// The default cap on open connections.
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;

/// The default cap on connections that have yet to finish their TLS
/// handshake or authenticate: each is held at most the handshake timeout.
pub const DEFAULT_MAX_PENDING_CONNECTIONS: usize = 1024;

/// The default length of each listener's queue of connections not yet
/// accepted: a burst of agents reconnecting at once waits in it rather
/// than for a SYN retry a second later.
pub const DEFAULT_LISTEN_BACKLOG: u32 = 1024;

/// How the server listens and what it tolerates.
#[derive(Debug, Clone)]
pub struct Config {
    /// The address to listen on; loopback unless told otherwise, so nothing
    /// is exposed by accident.
    pub addr: SocketAddr,
    /// The address of the HTTP API; `None` turns it off.
    pub http_addr: Option<SocketAddr>,
    /// The address of the Graphite plaintext listener; `None` turns it off.
    pub graphite_addr: Option<SocketAddr>,
    /// The longest request line accepted; a longer one gets the error reply
    /// and its connection is closed.
    pub max_line_bytes: usize,
    /// The longest key a put may create; a longer one gets the error reply
    /// (and the connection stays open).
    pub max_key_bytes: usize,
    /// About the most reply bytes one connection holds before writing them:
    /// a client that pipelines requests without reading the replies is
    /// slowed by its socket's backpressure (the server stops reading from
    /// it), not allowed to grow the server's memory.
    pub max_reply_buffer_bytes: usize,
    /// Established connections beyond this many, over every listener, are
    /// closed as soon as they are accepted (or, for one that had to
    /// authenticate first, as soon as it has).
    pub max_connections: usize,
    /// Connections still in their TLS handshake or yet to authenticate
    /// beyond this many are closed as soon as they are accepted.
    pub max_pending_connections: usize,
    /// Each listener's queue of connections not yet accepted.
    pub listen_backlog: u32,
    /// The HTTP API's budgets and timeouts.
    pub http_limits: HttpLimits,
    /// A connection that sends nothing for this long is closed (a client
    /// that vanished without a FIN, or one that holds a slot and does
    /// nothing); `None` never closes one.
    pub idle_timeout: Option<Duration>,
    /// How long shutdown waits for connections to finish the requests they
    /// have read. A client that stops reading its replies would otherwise
    /// hold the shutdown forever; past this the log is synced and `run`
    /// returns.
    pub shutdown_grace: Duration,
    /// When set, protocol connections must start with `auth <token>` and
    /// HTTP requests must carry it as a bearer token.
    pub auth_token: Option<AuthToken>,
    /// When set, every listener speaks TLS only.
    pub tls: Option<TlsConfig>,
    /// How long a new connection has to finish its TLS handshake, and then
    /// to authenticate, before it is closed. Short, so that clients without
    /// the certificate or token cannot hold connection slots for the idle
    /// timeout.
    pub handshake_timeout: Duration,
    /// The steps and retentions `/render` reads series at (carbon's
    /// storage schemas); none infers each series' step from its points.
    pub storage_schemas: Arc<StorageSchemas>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            addr: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), DEFAULT_PORT),
            http_addr: Some(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), DEFAULT_HTTP_PORT)),
            graphite_addr: Some(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), DEFAULT_GRAPHITE_PORT)),
            max_line_bytes: eardrum_protocol::DEFAULT_MAX_LINE_BYTES,
            max_key_bytes: DEFAULT_MAX_KEY_BYTES,
            max_reply_buffer_bytes: DEFAULT_MAX_REPLY_BUFFER_BYTES,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_pending_connections: DEFAULT_MAX_PENDING_CONNECTIONS,
            listen_backlog: DEFAULT_LISTEN_BACKLOG,
            http_limits: HttpLimits::default(),
            idle_timeout: Some(DEFAULT_IDLE_TIMEOUT),
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
            auth_token: None,
            tls: None,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            storage_schemas: Arc::default(),
        }
    }
}

/// A bound server, ready to [`run`](Server::run).
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    http_listener: Option<TcpListener>,
    graphite_listener: Option<TcpListener>,
    store: Arc<dyn Backend>,
    counters: Arc<Counters>,
    config: Config,
}

impl Server {
    /// Binds the listening sockets.
    ///
    /// # Errors
    ///
    /// [`Error::Bind`] when an address cannot be listened on.
    pub async fn bind(config: Config, store: impl Backend) -> Result<Server> {
        Server::bind_shared(config, Arc::new(store)).await
    }

    /// [`Server::bind`] over a backend chosen at run time.
    ///
    /// # Errors
    ///
    /// As [`Server::bind`].
    pub async fn bind_shared(config: Config, store: Arc<dyn Backend>) -> Result<Server> {
        let backlog = config.listen_backlog;
        let bind = |addr| listen(addr, backlog).map_err(|source| Error::Bind { addr, source });
        let listener = bind(config.addr)?;
        let http_listener = config.http_addr.map(bind).transpose()?;
        let graphite_listener = config.graphite_addr.map(bind).transpose()?;
        Ok(Server { listener, http_listener, graphite_listener, store, counters: Arc::default(), config })
    }

    /// The address the HTTP API listens on, if it is on.
    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.http_listener.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// The address the Graphite listener listens on, if it is on.
    pub fn graphite_addr(&self) -> Option<SocketAddr> {
        self.graphite_listener.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// The address actually listened on (useful with port 0).
    ///
    /// # Panics
    ///
    /// Never in practice: a bound socket always has a local address.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().unwrap_or(self.config.addr)
    }

    /// The server's counters, shared with its connections.
    pub fn counters(&self) -> Arc<Counters> {
        Arc::clone(&self.counters)
    }

    /// Serves until `shutdown` is cancelled, then drains connections and
    /// closes the store.
    ///
    /// # Errors
    ///
    /// When the store's final sync fails.
    pub async fn run(self, shutdown: CancellationToken) -> Result<()> {
        let addr = self.local_addr();
        let http_addr = self.http_addr().map_or_else(|| "off".to_owned(), |a| a.to_string());
        let graphite_addr = self.graphite_addr().map_or_else(|| "off".to_owned(), |a| a.to_string());
        tracing::info!(
            %addr,
            http = %http_addr,
            graphite = %graphite_addr,
            tls = self.config.tls.is_some(),
            auth = self.config.auth_token.is_some(),
            storage = %self.store.describe(),
            "listening"
        );
        let tracker = TaskTracker::new();
        // One pool of slots for every listener's connections.
        let slots = ConnectionSlots::new(self.config.max_connections, self.config.max_pending_connections);
        if let Some(http_listener) = self.http_listener {
            let limits = self.config.http_limits.clone();
            let state = http::AppState::new(
                Arc::clone(&self.store),
                Arc::clone(&self.counters),
                self.config.auth_token.clone(),
                limits.clone(),
            )
            .with_storage_schemas(Arc::clone(&self.config.storage_schemas));
            let listener = http::HttpListener {
                listener: http_listener,
                app: http::router(state),
                tls: self.config.tls.clone(),
                auth: self.config.auth_token.clone(),
                slots: slots.clone(),
                limits,
                handshake_timeout: self.config.handshake_timeout,
                shutdown_grace: self.config.shutdown_grace,
                counters: Arc::clone(&self.counters),
            };
            tracker.spawn(listener.run(shutdown.clone(), tracker.clone()));
        }
        let context = Arc::new(Context {
            store: Arc::clone(&self.store),
            committer: Committer::new(Arc::clone(&self.store)),
            counters: Arc::clone(&self.counters),
            limits: handler::Limits {
                max_line_bytes: self.config.max_line_bytes,
                max_key_bytes: self.config.max_key_bytes,
                max_reply_bytes: self.config.max_reply_buffer_bytes,
            },
            idle_timeout: self.config.idle_timeout,
            auth: self.config.auth_token.clone(),
            handshake_timeout: self.config.handshake_timeout,
            pipelines: Arc::new(tokio::sync::Semaphore::new(streaming::PIPELINED_REPLIES)),
        });
        let listener = |listener, dialect| Listener {
            listener,
            dialect,
            context: Arc::clone(&context),
            slots: slots.clone(),
            tls: self.config.tls.clone(),
        };
        if let Some(graphite_listener) = self.graphite_listener {
            let graphite = listener(graphite_listener, Dialect::Graphite);
            tracker.spawn(graphite.run(shutdown.clone(), tracker.clone()));
        }
        listener(self.listener, Dialect::Protocol).run(shutdown, tracker.clone()).await;
        tracker.close();
        if tokio::time::timeout(self.config.shutdown_grace, tracker.wait()).await.is_err() {
            tracing::warn!(
                connections = tracker.len(),
                "connections still busy after the grace period (clients not reading?); closing anyway"
            );
        }
        let store = self.store;
        let closed = tokio::task::spawn_blocking(move || store.close()).await.map_err(Error::CloseTask)?;
        closed?;
        tracing::info!("stopped; the log is synced");
        Ok(())
    }
}

/// A listening socket on `addr` with a queue of `backlog` connections
/// (the kernel caps it at `net.core.somaxconn`).
fn listen(addr: SocketAddr, backlog: u32) -> std::io::Result<TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    // As the standard library does: a restarted server can bind at once
    // while the old one's connections linger in TIME_WAIT.
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(backlog)
}
