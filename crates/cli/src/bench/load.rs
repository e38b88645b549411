//! One benchmark connection: pipelined puts within a window, every reply
//! checked, every latency recorded.

use super::feed::Rounds;
use super::requests::Requests;
use anyhow::{bail, Context};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// What one connection measured.
#[derive(Debug, Default)]
pub(super) struct Outcome {
    /// Replies `ok`.
    pub acknowledged: u64,
    /// Nanoseconds from sending each request to reading its reply.
    pub latencies_ns: Vec<u32>,
}

/// Sends every request of every round in `rounds` with at most `window`
/// unanswered, until all are answered or `deadline` passes (then it
/// finishes the ones in flight). Any reply other than `ok` is an error.
/// One latency in `sample_every` is kept.
pub(super) async fn run(
    addr: SocketAddr,
    token: Option<Arc<str>>,
    mut rounds: Rounds,
    window: usize,
    deadline: Option<Instant>,
    progress: Arc<AtomicU64>,
    sample_every: u64,
) -> anyhow::Result<Outcome> {
    let mut stream = connect(addr, token.as_deref()).await?;
    let (mut reader, mut writer) = stream.split();
    let mut outcome = Outcome::default();
    let mut sent_at: VecDeque<Instant> = VecDeque::with_capacity(window);
    let mut round = Requests::default();
    let mut sent = 0;
    let mut input = vec![0u8; 64 * 1024];
    let mut pending = Vec::new();
    let mut done_sending = false;
    while !done_sending || !sent_at.is_empty() {
        if !done_sending && deadline.is_some_and(|d| Instant::now() >= d) {
            done_sending = true;
        }
        if !done_sending && sent == round.len() {
            // Wait for the next round only with nothing left to read.
            let next = if sent_at.is_empty() { rounds.recv().await } else { rounds.try_recv().ok() };
            match next {
                Some(next) => (round, sent) = (next, 0),
                None if sent_at.is_empty() => done_sending = true,
                None => {}
            }
        }
        let room = window - sent_at.len();
        if room > 0 && sent < round.len() && !done_sending {
            let until = (sent + room).min(round.len());
            writer.write_all(round.lines(sent, until)).await?;
            let now = Instant::now();
            sent_at.extend(std::iter::repeat_n(now, until - sent));
            sent = until;
        }
        if sent_at.is_empty() {
            continue;
        }
        let read = reader.read(&mut input).await?;
        if read == 0 {
            bail!("the server closed the connection with {} replies outstanding", sent_at.len());
        }
        pending.extend_from_slice(&input[..read]);
        let now = Instant::now();
        let mut consumed = 0;
        while pending.len() - consumed >= 4 {
            if &pending[consumed..consumed + 4] != b"ok\n\n" {
                let reply = String::from_utf8_lossy(&pending[consumed..(consumed + 40).min(pending.len())]);
                bail!(
                    "the server answered {reply:?} instead of ok to put number {}",
                    outcome.acknowledged + 1
                );
            }
            consumed += 4;
            let Some(at) = sent_at.pop_front() else {
                bail!("the server sent more replies than requests");
            };
            if outcome.acknowledged % sample_every == 0 {
                outcome.latencies_ns.push(now.duration_since(at).as_nanos().min(u128::from(u32::MAX)) as u32);
            }
            outcome.acknowledged += 1;
        }
        pending.drain(..consumed);
        progress.fetch_add(consumed as u64 / 4, Ordering::Relaxed);
    }
    Ok(outcome)
}

/// Connects with Nagle off and, given a token, authenticates.
pub(super) async fn connect(addr: SocketAddr, token: Option<&str>) -> anyhow::Result<TcpStream> {
    let mut stream = TcpStream::connect(addr).await.with_context(|| format!("connecting to {addr}"))?;
    stream.set_nodelay(true)?;
    if let Some(token) = token {
        let mut line = Vec::new();
        eardrum_protocol::auth::write_auth_line(&mut line, token);
        stream.write_all(&line).await?;
        let mut reply = [0u8; 4];
        stream.read_exact(&mut reply).await.context("reading the reply to auth")?;
        if reply != eardrum_protocol::reply::OK_REPLY {
            bail!("the server at {addr} refused the auth token");
        }
    }
    Ok(stream)
}

/// Sends every line of every round as fast as the socket takes them, for
/// protocols without replies (Graphite plaintext); returns the lines sent.
pub(super) async fn send_only(
    addr: SocketAddr,
    mut rounds: Rounds,
    progress: Arc<AtomicU64>,
) -> anyhow::Result<Outcome> {
    const LINES_PER_WRITE: usize = 4096;
    let mut stream = TcpStream::connect(addr).await.with_context(|| format!("connecting to {addr}"))?;
    let mut total = 0;
    while let Some(round) = rounds.recv().await {
        let mut sent = 0;
        while sent < round.len() {
            let until = (sent + LINES_PER_WRITE).min(round.len());
            stream.write_all(round.lines(sent, until)).await?;
            progress.fetch_add((until - sent) as u64, Ordering::Relaxed);
            sent = until;
        }
        total += sent as u64;
    }
    stream.shutdown().await?;
    Ok(Outcome { acknowledged: total, latencies_ns: Vec::new() })
}
