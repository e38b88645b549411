//! One client connection: read bytes, hand complete lines to the handler,
//! write the replies; or, on the Graphite port, store the lines' points
//! and answer nothing.

use crate::auth::AuthToken;
use crate::committer::Committer;
use crate::graphite;
use crate::handler::{begin_get, continue_get, parse, Limits, Parsed, Query};
use crate::slots::Slot;
use crate::stats::Counters;
use crate::streaming::make_pieces;
use bytes::{Buf, BytesMut};
use eardrum_protocol::auth::parse_auth_line;
use eardrum_protocol::{next_line, reply};
use eardrum_storage::{Backend, ScanCursor};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

/// What the first line did for a connection that must authenticate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Authentication {
    /// No complete line yet.
    Incomplete,
    /// `auth` with the right token.
    Accepted,
    /// Anything else: the connection closes.
    Refused,
}

/// The most asked of the socket per read; also the most one batch of
/// pipelined requests can span beyond a partial line.
const READ_CHUNK_BYTES: usize = 64 * 1024;

/// What a new connection asks for per read: reads that fill it double it,
/// up to [`READ_CHUNK_BYTES`]. Most connections of a large fleet are idle
/// agents sending a few lines now and then; they should not each hold
/// 64 KiB. Six full reads reach the most.
const FIRST_READ_BYTES: usize = 1024;

/// How long, and how many bytes, a connection closed for a protocol
/// violation keeps reading (and discarding) what the client still sends.
const LINGER: Duration = Duration::from_secs(1);
const LINGER_MAX_BYTES: usize = 1024 * 1024;

/// What every connection of a listener shares.
#[derive(Debug)]
pub(crate) struct Context {
    pub(crate) store: Arc<dyn Backend>,
    /// Stores put batches, several connections' in one log write.
    pub(crate) committer: Committer,
    pub(crate) counters: Arc<Counters>,
    pub(crate) limits: Limits,
    pub(crate) idle_timeout: Option<Duration>,
    /// When set, a connection's first line must be `auth <token>`.
    pub(crate) auth: Option<AuthToken>,
    /// How long a TLS handshake, then the `auth` line, may take.
    pub(crate) handshake_timeout: Duration,
    /// Long `get` replies read and printed on blocking threads at once
    /// (see [`PIPELINED_REPLIES`](crate::streaming::PIPELINED_REPLIES)).
    pub(crate) pipelines: Arc<Semaphore>,
}

/// What a listener's connections speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// The metrics protocol: requests and replies.
    Protocol,
    /// Graphite's plaintext lines: points in, nothing out.
    Graphite,
}

/// A client connection (plain TCP or TLS) and the buffers it reuses for
/// its whole life.
pub(crate) struct Connection<S> {
    stream: S,
    peer: SocketAddr,
    dialect: Dialect,
    /// Graphite: the rest of an overlong line is being discarded.
    skipping: bool,
    input: BytesMut,
    /// How much the next read asks for (see [`FIRST_READ_BYTES`]).
    read_size: usize,
    /// Replies waiting to be written; grows to what the client's
    /// pipelining needs, and keeps that capacity.
    output: Vec<u8>,
    context: Arc<Context>,
    /// The connection's slot: pending until it authenticates.
    slot: Slot,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Connection<S> {
    pub(crate) fn new(
        stream: S,
        peer: SocketAddr,
        dialect: Dialect,
        context: Arc<Context>,
        slot: Slot,
    ) -> Self {
        Connection {
            stream,
            peer,
            dialect,
            skipping: false,
            input: BytesMut::new(),
            read_size: FIRST_READ_BYTES,
            output: Vec::new(),
            context,
            slot,
        }
    }

    /// Serves requests until the client closes, a line is too long, an I/O
    /// error occurs, or `shutdown` fires. Requests already read when it
    /// fires are still answered.
    pub(crate) async fn run(mut self, shutdown: CancellationToken) {
        match self.serve(&shutdown).await {
            Ok(()) => tracing::debug!(peer = %self.peer, "connection closed"),
            Err(error) => {
                let error: &dyn std::error::Error = &error;
                tracing::debug!(peer = %self.peer, error, "connection dropped")
            }
        }
    }

    async fn serve(&mut self, shutdown: &CancellationToken) -> std::io::Result<()> {
        let mut authenticated = self.context.auth.is_none();
        let idle_timeout = self.context.idle_timeout;
        // One timer for the connection's life: first the deadline to
        // authenticate, then pushed back after each read.
        let deadline = if authenticated { idle_timeout } else { Some(self.context.handshake_timeout) };
        let mut timer_on = deadline.is_some();
        let idle = tokio::time::sleep(deadline.unwrap_or(Duration::MAX));
        tokio::pin!(idle);
        loop {
            self.input.reserve(self.read_size);
            let asked = self.input.capacity() - self.input.len();
            let read = tokio::select! {
                biased;
                () = shutdown.cancelled() => return Ok(()),
                read = self.stream.read_buf(&mut self.input) => read?,
                () = &mut idle, if timer_on => {
                    let counter = match authenticated {
                        true => &self.context.counters.connections_closed_idle,
                        false => &self.context.counters.auth_failures,
                    };
                    counter.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(peer = %self.peer, authenticated, "closing an idle connection");
                    return Ok(());
                }
            };
            if read == asked {
                self.read_size = (self.read_size * 2).min(READ_CHUNK_BYTES);
            }
            if read == 0 {
                // End of stream: a trailing line without `\n` gets no reply;
                // every complete line was answered after its read.
                return Ok(());
            }
            if !authenticated {
                match self.authenticate() {
                    Authentication::Incomplete => continue,
                    Authentication::Accepted => {
                        authenticated = true;
                        // Without an idle timeout, the handshake deadline
                        // was the only one.
                        timer_on = idle_timeout.is_some();
                    }
                    Authentication::Refused => {
                        self.flush().await?;
                        self.linger().await;
                        return Ok(());
                    }
                }
            }
            if let Some(timeout) = idle_timeout.filter(|_| authenticated) {
                idle.as_mut().reset(tokio::time::Instant::now() + timeout);
            }
            let close = match self.dialect {
                Dialect::Protocol => self.answer_buffered().await?,
                Dialect::Graphite => self.store_graphite_lines().await,
            };
            if close {
                self.linger().await;
                return Ok(());
            }
        }
    }

    /// Checks the first non-blank line against the token: accepted when it
    /// is `auth` with the right token (its `ok` reply is buffered), refused
    /// when it is anything else (the error reply is buffered, and the
    /// connection must close).
    fn authenticate(&mut self) -> Authentication {
        let Some(token) = self.context.auth.as_ref() else { return Authentication::Accepted };
        loop {
            let accepted = match next_line(&self.input, self.context.limits.max_line_bytes) {
                Ok(None) => return Authentication::Incomplete,
                Ok(Some((line, used))) => {
                    let accepted = parse_auth_line(line).is_some_and(|presented| token.matches(presented));
                    let blank = line.trim_ascii().is_empty();
                    self.input.advance(used);
                    if blank {
                        continue;
                    }
                    // Proved: trade the pending slot for an established
                    // one, unless every one is taken.
                    if accepted && !self.slot.establish() {
                        self.context.counters.connections_refused.fetch_add(1, Ordering::Relaxed);
                        tracing::info!(peer = %self.peer, "closing an authenticated connection: the connection limit is reached");
                        if self.dialect == Dialect::Protocol {
                            self.output.extend_from_slice(reply::ERROR_REPLY);
                        }
                        return Authentication::Refused;
                    }
                    accepted
                }
                // An overlong line is no `auth` line.
                Err(_) => false,
            };
            // Graphite has no replies: a refused client is just closed.
            let reply = match accepted {
                true => reply::OK_REPLY,
                false => reply::ERROR_REPLY,
            };
            if self.dialect == Dialect::Protocol {
                self.output.extend_from_slice(reply);
            }
            if !accepted {
                self.context.counters.auth_failures.fetch_add(1, Ordering::Relaxed);
                tracing::info!(peer = %self.peer, "closing a connection that did not authenticate");
                return Authentication::Refused;
            }
            return Authentication::Accepted;
        }
    }

    /// Stores the points of every complete Graphite line buffered so far;
    /// never closes the connection (returns `false`).
    async fn store_graphite_lines(&mut self) -> bool {
        let lines = graphite::parse_lines(
            &self.input,
            self.context.limits,
            &mut self.skipping,
            eardrum_protocol::clock::unix_seconds(),
        );
        let counters = &self.context.counters;
        let samples = lines.in_order();
        if !samples.is_empty() {
            let (stored, staged) = self.context.committer.store(&samples).await;
            let refused = staged.refused().len() as u64;
            let taken = samples.len() as u64 - refused;
            let counter =
                if stored { &counters.graphite_points_stored } else { &counters.graphite_points_not_stored };
            counter.fetch_add(taken, Ordering::Relaxed);
            counters.series_refused.fetch_add(refused, Ordering::Relaxed);
        }
        if lines.rejected > 0 {
            counters.graphite_lines_rejected.fetch_add(lines.rejected, Ordering::Relaxed);
            counters.keys_too_long.fetch_add(lines.keys_too_long, Ordering::Relaxed);
            tracing::debug!(peer = %self.peer, lines = lines.rejected, "rejected Graphite lines");
        }
        let consumed = lines.consumed;
        self.input.advance(consumed);
        false
    }

    /// Answers every complete line buffered so far, streaming `get`
    /// replies; returns whether the connection must close.
    async fn answer_buffered(&mut self) -> std::io::Result<bool> {
        loop {
            let Parsed { consumed, close, get, batch, reply_buffer_full } =
                parse(&self.input, self.context.limits, &mut self.output);
            let outcome = match batch.samples() {
                [] => None,
                samples => Some(self.context.committer.store(samples).await),
            };
            let (stored, refused) =
                outcome.as_ref().map_or((true, &[][..]), |(stored, staged)| (*stored, staged.refused()));
            let tally = batch.answer(stored, refused, &mut self.output);
            self.context.counters.add(tally);
            self.input.advance(consumed);
            match get {
                Some(query) => self.stream_get(&query).await?,
                // Written before parsing on: the client must read these
                // before the server reads more of its requests.
                None if reply_buffer_full => self.flush().await?,
                None => {
                    self.flush().await?;
                    return Ok(close);
                }
            }
        }
    }

    /// Writes a `get` reply in pieces, so that memory stays bounded however
    /// many points it has and writers are never blocked for long.
    ///
    /// A backend that cannot be read (ClickHouse down) gets the error reply
    /// when nothing of the reply was sent yet; after that the reply cannot
    /// be taken back, and the connection is closed instead, so that the
    /// client sees an incomplete reply rather than a short one.
    async fn stream_get(&mut self, query: &Query) -> std::io::Result<()> {
        let mut cursor = ScanCursor::default();
        let reply_start = self.output.len();
        let mut flushed = false;
        // A read over the network would stall every connection on this
        // worker: the runtime moves them elsewhere meanwhile (which only a
        // multi-threaded runtime can).
        let off_the_worker = self.context.store.reads_wait()
            && tokio::runtime::Handle::current().runtime_flavor()
                == tokio::runtime::RuntimeFlavor::MultiThread;
        begin_get(&mut self.output);
        loop {
            let store = &*self.context.store;
            let output = &mut self.output;
            let mut more = || continue_get(store, query, &mut cursor, output);
            let step = match off_the_worker {
                true => tokio::task::block_in_place(more),
                false => more(),
            };
            match step {
                Ok(true) => return Ok(()),
                Ok(false) => {}
                Err(failure) => {
                    self.read_failed(&failure);
                    if flushed {
                        return Err(std::io::Error::other("the store failed in the middle of a reply"));
                    }
                    self.output.truncate(reply_start);
                    self.output.extend_from_slice(reply::ERROR_REPLY);
                    return Ok(());
                }
            }
            if self.output.len() >= self.context.limits.max_reply_bytes {
                // A reply longer than one buffer: the rest overlaps
                // reading with writing while threads are free for it;
                // otherwise it is read here between writes, as a client
                // that does not read its replies holds its threads.
                match Arc::clone(&self.context.pipelines).try_acquire_owned() {
                    Ok(permit) => return self.stream_rest(query, cursor, permit).await,
                    Err(_) => {
                        self.flush().await?;
                        flushed = true;
                    }
                }
            }
        }
    }

    fn read_failed(&self, failure: &eardrum_storage::Error) {
        let failure: &dyn std::error::Error = failure;
        tracing::warn!(peer = %self.peer, error = failure, "a get could not be read");
    }

    /// Writes the full buffer of a `get` reply, then the rest of the reply
    /// as [`make_pieces`] makes it, reading and printing on other threads
    /// while this one writes.
    async fn stream_rest(
        &mut self,
        query: &Query,
        cursor: ScanCursor,
        permit: OwnedSemaphorePermit,
    ) -> std::io::Result<()> {
        let piece_bytes = self.context.limits.max_reply_bytes;
        let store = Arc::clone(&self.context.store);
        let mut pieces = make_pieces(store, query.clone(), cursor, piece_bytes, permit);
        loop {
            self.flush().await?;
            let Some((piece, done)) = pieces.made.recv().await else {
                return Err(std::io::Error::other("the threads making a reply stopped"));
            };
            let _ = pieces.written.send(std::mem::replace(&mut self.output, piece));
            match done {
                Ok(true) => return Ok(()),
                Ok(false) => {}
                Err(failure) => {
                    self.read_failed(&failure);
                    return Err(std::io::Error::other("the store failed in the middle of a reply"));
                }
            }
        }
    }

    /// Writes the buffered replies; waits while the client is not reading
    /// them (the socket's send buffer is full), reading nothing meanwhile.
    async fn flush(&mut self) -> std::io::Result<()> {
        if self.output.is_empty() {
            return Ok(());
        }
        let mut write = std::pin::pin!(self.stream.write_all(&self.output));
        // One attempt first, to count the writes that had to wait.
        let written = match std::future::poll_fn(|cx| Poll::Ready(write.as_mut().poll(cx))).await {
            Poll::Ready(written) => written,
            Poll::Pending => {
                self.context.counters.reply_stalls.fetch_add(1, Ordering::Relaxed);
                write.await
            }
        };
        written?;
        // TLS holds encrypted records back until flushed; TCP flushes as a
        // no-op.
        self.stream.flush().await?;
        self.output.clear();
        Ok(())
    }

    /// Closes gently after the error reply: send FIN, then discard what the
    /// client is still sending for a moment. Closing with unread bytes in the
    /// socket would send a reset, which can destroy the error reply before
    /// the client reads it.
    async fn linger(&mut self) {
        if self.stream.shutdown().await.is_err() {
            return;
        }
        let mut discarded = 0;
        // Discarded through the input buffer: an array here would sit in
        // every connection's future, lingering or not.
        let drain = async {
            while discarded < LINGER_MAX_BYTES {
                self.input.clear();
                self.input.reserve(READ_CHUNK_BYTES);
                match self.stream.read_buf(&mut self.input).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => discarded += n,
                }
            }
        };
        let _ = tokio::time::timeout(LINGER, drain).await;
    }
}
