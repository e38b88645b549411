//! Accepting connections under a limit, with backoff on accept errors.

use crate::connection::{Connection, Context, Dialect};
use crate::tls::TlsConfig;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// A TCP listener (the protocol's or Graphite's) and what each accepted
/// connection needs.
pub(crate) struct Listener {
    pub(crate) listener: TcpListener,
    pub(crate) dialect: Dialect,
    pub(crate) context: Arc<Context>,
    pub(crate) connection_limit: Arc<Semaphore>,
    /// When set, every connection starts with a TLS handshake.
    pub(crate) tls: Option<TlsConfig>,
}

impl Listener {
    /// Accepts until `shutdown` fires, spawning each connection on `tracker`.
    pub(crate) async fn run(self, shutdown: CancellationToken, tracker: TaskTracker) {
        let mut backoff = Duration::from_millis(10);
        loop {
            let accepted = tokio::select! {
                () = shutdown.cancelled() => return,
                accepted = self.listener.accept() => accepted,
            };
            let (stream, peer) = match accepted {
                Ok(accepted) => {
                    backoff = Duration::from_millis(10);
                    accepted
                }
                Err(error) => {
                    // Typically out of file descriptors: wait for some to be
                    // released instead of spinning or giving up.
                    tracing::warn!(%error, retry_in_ms = backoff.as_millis() as u64, "accept failed");
                    tokio::select! {
                        () = shutdown.cancelled() => return,
                        () = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                    continue;
                }
            };
            let stats = &self.context.stats;
            let Ok(permit) = Arc::clone(&self.connection_limit).try_acquire_owned() else {
                stats.connections_refused.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(%peer, "refusing a connection: the connection limit is reached");
                drop(stream);
                continue;
            };
            // Replies are written whole per batch; Nagle would only delay them.
            let _ = stream.set_nodelay(true);
            stats.connections_accepted.fetch_add(1, Ordering::Relaxed);
            stats.connections_open.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(%peer, "accepted a connection");
            let (context, tls, shutdown) = (Arc::clone(&self.context), self.tls.clone(), shutdown.clone());
            let dialect = self.dialect;
            tracker.spawn(async move {
                match tls {
                    None => Connection::new(stream, peer, dialect, Arc::clone(&context)).run(shutdown).await,
                    Some(tls) => {
                        // The handshake runs in the connection's task, under
                        // a timeout: a slow client holds up no one else.
                        if let Some(stream) =
                            tls.handshake(stream, peer, context.handshake_timeout, &context.stats).await
                        {
                            Connection::new(stream, peer, dialect, Arc::clone(&context)).run(shutdown).await;
                        }
                    }
                }
                context.stats.connections_open.fetch_sub(1, Ordering::Relaxed);
                drop(permit);
            });
        }
    }
}
