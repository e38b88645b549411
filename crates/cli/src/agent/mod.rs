//! `eardrum agent`: collects the host's own metrics every interval and
//! sends them, pipelined, to a server. It loses nothing while the server is
//! down or restarting: each round waits in a bounded buffer (memory, or a
//! spool folder on disk) and is sent once a connection is back; connecting
//! again backs off from half a second to 30 seconds. Collecting never waits
//! for the server.

mod buffer;
mod collector;
mod system;

use crate::args::AgentArgs;
use crate::remote::connect;
use anyhow::Context;
use buffer::Buffer;
use collector::Collector;
use eardrum_client::{Client, Error as ClientError, Point};
use eardrum_protocol::clock::unix_seconds;
use std::time::{Duration, Instant};

/// One reading to send: a metric's key, value and time.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Reading {
    pub key: String,
    pub value: f64,
    pub timestamp: i64,
}

/// Points per pipelined batch.
const BATCH: usize = 5_000;
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// The connection and when to try again after losing it.
struct Sender {
    client: Option<Client>,
    backoff: Duration,
    next_attempt: Instant,
    /// Points the server refused (an `error` reply), since the start.
    refused: u64,
}

pub(crate) fn run(args: AgentArgs) -> anyhow::Result<()> {
    crate::serve::init_logging();
    let host = match &args.name {
        Some(name) => collector::metric_name(name),
        None => collector::metric_name(&host_name()),
    };
    let spool = args.spool_dir.as_deref().map(|dir| (dir, args.spool_max_bytes));
    let mut buffer = Buffer::new(args.buffer_points, spool)?;
    let mut collector = Collector::new(&host);
    let mut sender =
        Sender { client: None, backoff: FIRST_BACKOFF, next_attempt: Instant::now(), refused: 0 };
    if args.once {
        // Rates need two readings: take the first a second before.
        collector.collect(unix_seconds());
        std::thread::sleep(Duration::from_secs(1));
        buffer.push(collector.collect(unix_seconds()))?;
        // --timeout bounds the retries too (0: retry until it works; one
        // too far to be an instant is no deadline at all).
        let deadline = args.remote.endpoint.timeout.0.and_then(|timeout| Instant::now().checked_add(timeout));
        while !buffer.is_empty() && deadline.is_none_or(|deadline| Instant::now() < deadline) {
            sender.flush(&args, &mut buffer);
            if !buffer.is_empty() {
                std::thread::sleep(sender.next_attempt.saturating_duration_since(Instant::now()));
            }
        }
        anyhow::ensure!(buffer.is_empty(), "{} points could not be sent to {}", buffer.len(), address(&args));
        return Ok(());
    }
    tracing::info!(host, interval_s = args.interval.as_secs_f64(), server = address(&args), "agent started");
    let start = Instant::now();
    for round in 1u32.. {
        let mut points = collector.collect(unix_seconds());
        let timestamp = points.first().map_or_else(unix_seconds, |p| p.timestamp);
        // The agent's own figures go with each round.
        for (name, value) in [
            ("buffered", buffer.len() as f64),
            ("dropped", buffer.dropped as f64),
            ("refused", sender.refused as f64),
        ] {
            points.push(Reading { key: format!("{host}.agent.{name}"), value, timestamp });
        }
        let count = points.len();
        if let Err(error) = buffer.push(points) {
            // A full or broken spool disk costs this round, not the agent.
            buffer.dropped += count as u64;
            tracing::error!(error = format!("{error:#}"), dropped = count, "could not keep a round");
        }
        sender.flush(&args, &mut buffer);
        // Rounds keep to the interval from the start, however long a
        // round took.
        let next = start + args.interval * round;
        loop {
            let now = Instant::now();
            if now >= next {
                break;
            }
            // Wake for the next round, or sooner to retry the server.
            let wake = match buffer.is_empty() {
                true => next,
                false => next.min(sender.next_attempt.max(now + Duration::from_millis(50))),
            };
            std::thread::sleep(wake - now);
            if !buffer.is_empty() && Instant::now() >= sender.next_attempt {
                sender.flush(&args, &mut buffer);
            }
        }
    }
    Ok(())
}

impl Sender {
    /// Sends what the buffer holds, oldest first, while the server takes
    /// it; on a broken connection, keeps the rest for the next attempt.
    fn flush(&mut self, args: &AgentArgs, buffer: &mut Buffer) {
        if let Err(error) = self.try_flush(args, buffer) {
            let was_connected = self.client.take().is_some();
            self.next_attempt = Instant::now() + self.backoff;
            tracing::warn!(
                error = format!("{error:#}"),
                buffered = buffer.len(),
                retry_in_ms = self.backoff.as_millis() as u64,
                "{}",
                if was_connected { "lost the server" } else { "cannot reach the server" }
            );
            self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
        }
    }

    fn try_flush(&mut self, args: &AgentArgs, buffer: &mut Buffer) -> anyhow::Result<()> {
        if buffer.is_empty() || Instant::now() < self.next_attempt {
            return Ok(());
        }
        let client = match &mut self.client {
            Some(client) => client,
            None => {
                let client = connect(&args.remote)?;
                tracing::info!(server = address(args), buffered = buffer.len(), "connected");
                self.backoff = FIRST_BACKOFF;
                self.client.insert(client)
            }
        };
        loop {
            let batch = buffer.oldest(BATCH)?;
            if batch.is_empty() {
                return Ok(());
            }
            match client.put_many(batch.iter().map(|p| (&p.key, Point::new(p.timestamp, p.value)))) {
                Ok(()) => {}
                // A point the server will never take (its series limit, a
                // key over its length limit): send the batch one by one to
                // keep the others, and count the refused.
                Err(ClientError::Server { .. } | ClientError::InvalidKey { .. }) => {
                    for point in &batch {
                        match client.put(&point.key, point.value, Some(point.timestamp)) {
                            Ok(()) => {}
                            Err(ClientError::Server { .. } | ClientError::InvalidKey { .. }) => {
                                self.refused += 1
                            }
                            Err(other) => return Err(other).context("sending points"),
                        }
                    }
                }
                Err(other) => return Err(other).context("sending points"),
            }
            buffer.remove_oldest(batch.len())?;
        }
    }
}

fn address(args: &AgentArgs) -> String {
    args.remote.address().to_string()
}

/// This machine's name, as the kernel has it.
fn host_name() -> String {
    rustix::system::uname().nodename().to_string_lossy().into_owned()
}
