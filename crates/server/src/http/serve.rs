//! Serving the HTTP API on its listener, each connection governed as the
//! protocol's are: it holds a connection slot (pending until it has
//! finished its TLS handshake and, with a token, sent an authenticated
//! request), it must send each request head within the header timeout of
//! its first byte (and a new connection its first head), it is closed after
//! the keep-alive timeout between requests, and a request body must arrive
//! within the body timeout and the size limit.

use super::limits::HttpLimits;
use crate::auth::{bearer_token, AuthToken};
use crate::listener;
use crate::slots::{ConnectionSlots, Slot};
use crate::stats::Counters;
use crate::tls::TlsConfig;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, StatusCode};
use axum::response::Response;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

/// How often a connection checks its header deadline.
const WATCH_INTERVAL: Duration = Duration::from_millis(250);

/// The HTTP listener and what its connections share.
pub(crate) struct HttpListener {
    pub(crate) listener: TcpListener,
    pub(crate) app: Router,
    pub(crate) tls: Option<TlsConfig>,
    pub(crate) auth: Option<AuthToken>,
    pub(crate) slots: ConnectionSlots,
    pub(crate) limits: HttpLimits,
    pub(crate) handshake_timeout: Duration,
    pub(crate) shutdown_grace: Duration,
    pub(crate) counters: Arc<Counters>,
}

impl HttpListener {
    /// Accepts until `shutdown` fires, each connection a task on `tracker`.
    pub(crate) async fn run(self, shutdown: CancellationToken, tracker: TaskTracker) {
        let this = Arc::new(self);
        let mut backoff = listener::FIRST_BACKOFF;
        while let Some((stream, peer)) = listener::accept(&this.listener, &mut backoff, &shutdown).await {
            let needs_proof = this.tls.is_some() || this.auth.is_some();
            let Some(slot) = this.slots.admit(needs_proof) else {
                listener::refuse(&this.counters, peer);
                continue;
            };
            let _ = stream.set_nodelay(true);
            this.counters.connections_accepted.fetch_add(1, Ordering::Relaxed);
            this.counters.connections_open.fetch_add(1, Ordering::Relaxed);
            let (this, shutdown) = (Arc::clone(&this), shutdown.clone());
            tracker.spawn(async move {
                this.connection(stream, peer, slot, shutdown).await;
                this.counters.connections_open.fetch_sub(1, Ordering::Relaxed);
            });
        }
    }

    async fn connection(
        &self,
        stream: TcpStream,
        peer: SocketAddr,
        mut slot: Slot,
        shutdown: CancellationToken,
    ) {
        let deadline = Instant::now() + self.handshake_timeout;
        match &self.tls {
            // Pending only if it must send the token, which `serve` sees.
            None => self.serve(stream, peer, slot, deadline, shutdown).await,
            Some(tls) => {
                let Some(stream) = tls.handshake(stream, peer, self.handshake_timeout, &self.counters).await
                else {
                    return;
                };
                // Without a token, the handshake was the proof.
                if self.auth.is_none() && !slot.establish() {
                    self.counters.connections_refused.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                self.serve(stream, peer, slot, deadline, shutdown).await;
            }
        }
    }

    /// Serves requests on one connection until it closes, breaks a
    /// deadline, or `shutdown` fires (requests in flight are finished,
    /// within the shutdown grace).
    async fn serve<S>(
        &self,
        stream: S,
        peer: SocketAddr,
        slot: Slot,
        deadline: Instant,
        shutdown: CancellationToken,
    ) where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let watch = Arc::new(Mutex::new(Watch { head_started: Some(Instant::now()), in_request: false }));
        let io = TokioIo::new(Watched { inner: stream, watch: Arc::clone(&watch) });
        let slot = Arc::new(Mutex::new(slot));
        let service = {
            let (app, auth, watch, slot) =
                (self.app.clone(), self.auth.clone(), Arc::clone(&watch), Arc::clone(&slot));
            let counters = Arc::clone(&self.counters);
            hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                let (app, watch) = (app.clone(), Arc::clone(&watch));
                lock(&watch).begin_request();
                let refused = establish_on_token(&auth, &slot, &request, &counters);
                async move {
                    let response = match refused {
                        Some(response) => response,
                        None => {
                            app.oneshot(request.map(Body::new)).await.unwrap_or_else(|never| match never {})
                        }
                    };
                    lock(&watch).end_request();
                    Ok::<_, std::convert::Infallible>(response)
                }
            })
        };
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder.timer(TokioTimer::new()).header_read_timeout(self.limits.keep_alive_timeout);
        let connection = builder.serve_connection(io, service);
        tokio::pin!(connection);
        let mut tick = tokio::time::interval(WATCH_INTERVAL);
        let header_timeout = self.limits.header_timeout;
        let outcome = loop {
            tokio::select! {
                outcome = connection.as_mut() => break outcome,
                () = shutdown.cancelled() => {
                    connection.as_mut().graceful_shutdown();
                    let _ = tokio::time::timeout(self.shutdown_grace, connection.as_mut()).await;
                    return;
                }
                _ = tick.tick() => {
                    let now = Instant::now();
                    if lock(&watch).head_overdue(now, header_timeout) {
                        tracing::debug!(%peer, "closing an HTTP connection: its request head took too long");
                        self.counters.connections_closed_idle.fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                    if now >= deadline && !lock(&slot).is_established() {
                        tracing::debug!(%peer, "closing an HTTP connection that did not authenticate in time");
                        self.counters.auth_failures.fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                }
            }
        };
        if let Err(error) = outcome {
            // Timeouts and clients that vanish mid-request are routine.
            tracing::debug!(%peer, %error, "HTTP connection ended with an error");
        }
    }
}

/// With a token configured, a connection's first request that carries it
/// trades the connection's pending slot for an established one; when all
/// are taken, that request is answered 503 and the connection closes.
fn establish_on_token(
    auth: &Option<AuthToken>,
    slot: &Mutex<Slot>,
    request: &hyper::Request<hyper::body::Incoming>,
    counters: &Counters,
) -> Option<Response> {
    let token = auth.as_ref()?;
    let mut slot = lock(slot);
    if slot.is_established() {
        return None;
    }
    let presented = request.headers().get(header::AUTHORIZATION).and_then(|v| bearer_token(v.as_bytes()));
    if !presented.is_some_and(|presented| token.matches(presented)) || slot.establish() {
        return None;
    }
    counters.connections_refused.fetch_add(1, Ordering::Relaxed);
    let mut response = super::failure::error(
        StatusCode::SERVICE_UNAVAILABLE,
        "the connection limit is reached (--max-connections): retry shortly",
    );
    response.headers_mut().insert(header::CONNECTION, header::HeaderValue::from_static("close"));
    response.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
    Some(response)
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Where a connection is in reading its next request head.
#[derive(Debug)]
struct Watch {
    /// When the first byte of a head not yet complete arrived (or, for a
    /// new connection, when it was accepted).
    head_started: Option<Instant>,
    /// A request is being answered: bytes read now are its body.
    in_request: bool,
}

impl Watch {
    fn begin_request(&mut self) {
        self.head_started = None;
        self.in_request = true;
    }

    fn end_request(&mut self) {
        self.in_request = false;
    }

    fn bytes_read(&mut self) {
        if !self.in_request && self.head_started.is_none() {
            self.head_started = Some(Instant::now());
        }
    }

    fn head_overdue(&self, now: Instant, timeout: Duration) -> bool {
        self.head_started.is_some_and(|started| now.duration_since(started) >= timeout)
    }
}

/// A connection's stream, noting when a request head starts to arrive.
struct Watched<S> {
    inner: S,
    watch: Arc<Mutex<Watch>>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            lock(&this.watch).bytes_read();
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// Reads a request's whole body before the routes see it: within the body
/// timeout (408 past it) and the size limit (413 past it), so that a client
/// that declares a large body and sends part of it cannot hold a task.
pub(crate) async fn read_body_in_time(
    axum::extract::State(limits): axum::extract::State<HttpLimits>,
    request: Request,
    next: axum::middleware::Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let declared =
        parts.headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limits.max_body_bytes as u64) {
        return too_large(&limits);
    }
    let bytes =
        match tokio::time::timeout(limits.body_timeout, axum::body::to_bytes(body, limits.max_body_bytes))
            .await
        {
            Ok(Ok(bytes)) => bytes,
            Ok(Err(_)) => return too_large(&limits),
            Err(_) => {
                let mut response = super::failure::error(
                    StatusCode::REQUEST_TIMEOUT,
                    &format!("the request body did not arrive within {} s", limits.body_timeout.as_secs()),
                );
                response.headers_mut().insert(header::CONNECTION, header::HeaderValue::from_static("close"));
                return response;
            }
        };
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

fn too_large(limits: &HttpLimits) -> Response {
    let mut response = super::failure::error(
        StatusCode::PAYLOAD_TOO_LARGE,
        &format!("the request body is larger than {} bytes (--max-body-bytes)", limits.max_body_bytes),
    );
    response.headers_mut().insert(header::CONNECTION, header::HeaderValue::from_static("close"));
    response
}
