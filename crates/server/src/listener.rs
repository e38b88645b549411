//! Accepting connections under a limit, with backoff on accept errors.

use crate::connection::{Connection, Context, Dialect};
use crate::slots::ConnectionSlots;
use crate::stats::Counters;
use crate::throttle::Throttle;
use crate::tls::TlsConfig;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, LazyLock};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// A TCP listener (the protocol's or Graphite's) and what each accepted
/// connection needs.
pub(crate) struct Listener {
    pub(crate) listener: TcpListener,
    pub(crate) dialect: Dialect,
    pub(crate) context: Arc<Context>,
    pub(crate) slots: ConnectionSlots,
    /// When set, every connection starts with a TLS handshake.
    pub(crate) tls: Option<TlsConfig>,
}

impl Listener {
    /// Accepts until `shutdown` fires, spawning each connection on `tracker`.
    pub(crate) async fn run(self, shutdown: CancellationToken, tracker: TaskTracker) {
        let mut backoff = FIRST_BACKOFF;
        while let Some((stream, peer)) = accept(&self.listener, &mut backoff, &shutdown).await {
            let counters = &self.context.counters;
            let needs_proof = self.tls.is_some() || self.context.auth.is_some();
            let Some(mut slot) = self.slots.admit(needs_proof) else {
                refuse(counters, peer);
                continue;
            };
            // Replies are written whole per batch; Nagle would only delay them.
            let _ = stream.set_nodelay(true);
            counters.connections_accepted.fetch_add(1, Ordering::Relaxed);
            counters.connections_open.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(%peer, "accepted a connection");
            let (context, tls, shutdown) = (Arc::clone(&self.context), self.tls.clone(), shutdown.clone());
            let dialect = self.dialect;
            tracker.spawn(async move {
                match tls {
                    None => {
                        Connection::new(stream, peer, dialect, Arc::clone(&context), slot).run(shutdown).await
                    }
                    Some(tls) => {
                        // The handshake runs in the connection's task, under
                        // a timeout: a slow client holds up no one else.
                        let stream =
                            tls.handshake(stream, peer, context.handshake_timeout, &context.counters).await;
                        // Without a token, the handshake was the proof.
                        let established = context.auth.is_some() || slot.establish();
                        match stream {
                            Some(stream) if established => {
                                Connection::new(stream, peer, dialect, Arc::clone(&context), slot)
                                    .run(shutdown)
                                    .await
                            }
                            Some(_) => {
                                context.counters.connections_refused.fetch_add(1, Ordering::Relaxed);
                            }
                            None => {}
                        }
                    }
                }
                context.counters.connections_open.fetch_sub(1, Ordering::Relaxed);
            });
        }
    }
}

/// How often accept failures and refusals are logged.
static ACCEPT_FAILURES: LazyLock<Throttle> = LazyLock::new(Throttle::default);
static REFUSALS: LazyLock<Throttle> = LazyLock::new(Throttle::default);

/// The first wait after a failed accept; it doubles up to a second.
pub(crate) const FIRST_BACKOFF: Duration = Duration::from_millis(10);

/// The next connection on `listener`, or `None` once `shutdown` fires. A
/// failed accept (typically out of file descriptors) is logged and waited
/// out with a `backoff` that doubles up to a second, instead of spinning or
/// giving up.
pub(crate) async fn accept(
    listener: &TcpListener,
    backoff: &mut Duration,
    shutdown: &CancellationToken,
) -> Option<(TcpStream, SocketAddr)> {
    loop {
        let accepted = tokio::select! {
            () = shutdown.cancelled() => return None,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok(accepted) => {
                *backoff = FIRST_BACKOFF;
                return Some(accepted);
            }
            Err(error) => {
                log_accept_failure(&error, *backoff);
                tokio::select! {
                    () = shutdown.cancelled() => return None,
                    () = tokio::time::sleep(*backoff) => {}
                }
                *backoff = (*backoff * 2).min(Duration::from_secs(1));
            }
        }
    }
}

/// Counts a connection refused for want of a slot (it is then dropped),
/// logging at most once a second.
pub(crate) fn refuse(counters: &Counters, peer: SocketAddr) {
    counters.connections_refused.fetch_add(1, Ordering::Relaxed);
    if let Some(left_out) = REFUSALS.allow() {
        tracing::warn!(%peer, left_out, "refusing a connection: the connection limit is reached");
    }
}

/// Logs a failed accept, at most once a second.
fn log_accept_failure(error: &std::io::Error, backoff: Duration) {
    if let Some(left_out) = ACCEPT_FAILURES.allow() {
        let retry_in_ms = backoff.as_millis() as u64;
        // EMFILE and ENFILE: the process's or the system's descriptors.
        let hint = match error.raw_os_error() {
            Some(23 | 24) => {
                "out of file descriptors: raise the limit (ulimit -n) or lower --max-connections"
            }
            _ => "",
        };
        tracing::warn!(%error, retry_in_ms, left_out, hint, "accept failed");
    }
}
