//! One client connection: read bytes, hand complete lines to the handler,
//! write the replies.

use crate::committer::Committer;
use crate::handler::{begin_get, continue_get, parse, Limits, Parsed, Query};
use crate::stats::Stats;
use bytes::{Buf, BytesMut};
use eardrum_storage::{ScanCursor, Store};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

/// How much is asked of the socket per read; also the most one batch of
/// pipelined requests can span beyond a partial line.
const READ_CHUNK_BYTES: usize = 64 * 1024;

/// How long, and how many bytes, a connection closed for a protocol
/// violation keeps reading (and discarding) what the client still sends.
const LINGER: Duration = Duration::from_secs(1);
const LINGER_MAX_BYTES: usize = 1024 * 1024;

/// A client connection and the buffers it reuses for its whole life.
pub(crate) struct Connection {
    stream: TcpStream,
    peer: SocketAddr,
    input: BytesMut,
    output: Vec<u8>,
    store: Arc<Store>,
    /// Stores put batches, several connections' in one log write.
    committer: Arc<Committer>,
    stats: Arc<Stats>,
    limits: Limits,
    idle_timeout: Option<Duration>,
}

impl Connection {
    pub(crate) fn new(
        stream: TcpStream,
        peer: SocketAddr,
        store: Arc<Store>,
        committer: Arc<Committer>,
        stats: Arc<Stats>,
        limits: Limits,
        idle_timeout: Option<Duration>,
    ) -> Self {
        Connection {
            stream,
            peer,
            input: BytesMut::with_capacity(READ_CHUNK_BYTES),
            output: Vec::with_capacity(READ_CHUNK_BYTES),
            store,
            committer,
            stats,
            limits,
            idle_timeout,
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
        // One timer for the connection's life, pushed back after each read.
        let idle = tokio::time::sleep(self.idle_timeout.unwrap_or(Duration::MAX));
        tokio::pin!(idle);
        loop {
            self.input.reserve(READ_CHUNK_BYTES);
            let read = tokio::select! {
                biased;
                () = shutdown.cancelled() => return Ok(()),
                read = self.stream.read_buf(&mut self.input) => read?,
                () = &mut idle, if self.idle_timeout.is_some() => {
                    self.stats.connections_closed_idle.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(peer = %self.peer, "closing an idle connection");
                    return Ok(());
                }
            };
            if let Some(timeout) = self.idle_timeout {
                idle.as_mut().reset(tokio::time::Instant::now() + timeout);
            }
            if read == 0 {
                // End of stream: a trailing line without `\n` gets no reply;
                // every complete line was answered after its read.
                return Ok(());
            }
            if self.answer_buffered().await? {
                self.linger().await;
                return Ok(());
            }
        }
    }

    /// Answers every complete line buffered so far, streaming `get`
    /// replies; returns whether the connection must close.
    async fn answer_buffered(&mut self) -> std::io::Result<bool> {
        loop {
            let Parsed { consumed, close, get, batch, reply_buffer_full } =
                parse(&self.input, self.limits, &mut self.output);
            let outcome = match batch.samples() {
                [] => None,
                samples => Some(self.committer.store(samples).await),
            };
            let (stored, refused) =
                outcome.as_ref().map_or((true, &[][..]), |(stored, staged)| (*stored, staged.refused()));
            let tally = batch.answer(stored, refused, &mut self.output);
            self.stats.add(tally);
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
    async fn stream_get(&mut self, query: &Query) -> std::io::Result<()> {
        let mut cursor = ScanCursor::default();
        begin_get(&mut self.output);
        while !continue_get(&self.store, query, &mut cursor, &mut self.output) {
            if self.output.len() >= self.limits.max_reply_bytes {
                self.flush().await?;
            }
        }
        Ok(())
    }

    /// Writes the buffered replies; waits while the client is not reading
    /// them (the socket's send buffer is full), reading nothing meanwhile.
    async fn flush(&mut self) -> std::io::Result<()> {
        if self.output.is_empty() {
            return Ok(());
        }
        let written = match self.stream.try_write(&self.output) {
            Ok(written) => written,
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => 0,
            Err(error) => return Err(error),
        };
        if written < self.output.len() {
            self.stats.reply_stalls.fetch_add(1, Ordering::Relaxed);
            self.stream.write_all(&self.output[written..]).await?;
        }
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
        let mut sink = [0u8; 8192];
        let drain = async {
            while discarded < LINGER_MAX_BYTES {
                match self.stream.read(&mut sink).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => discarded += n,
                }
            }
        };
        let _ = tokio::time::timeout(LINGER, drain).await;
    }
}
