//! Shipping: seal the active outbox, send sealed outboxes to ClickHouse
//! oldest first, and retry with backoff while ClickHouse is down. A thread
//! does it on an interval; with no interval, every commit does it before
//! its puts are acknowledged.

use super::outbox::Outbox;
use super::Shared;
use crate::{tsv, ClickHouse};
use eardrum_storage::{Keys, ScanCursor};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Points per insert: ClickHouse takes large inserts best (each makes a
/// part on disk), and a retry resends at most this many.
const POINTS_PER_INSERT: usize = 256 * 1024;
/// The first wait after a failure; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// What shipping remembers between rounds.
#[derive(Debug, Default)]
pub(super) struct ShipState {
    /// Whether the tables are known to exist.
    pub(super) schema_ready: bool,
    /// When the current run of failures began, and the wait before the
    /// next attempt.
    failing: Option<(Instant, Duration)>,
}

impl ShipState {
    pub(super) fn new(schema_ready: bool) -> ShipState {
        ShipState { schema_ready, failing: None }
    }
}

/// The shipping thread.
#[derive(Debug)]
pub(super) struct Handle {
    stop: mpsc::Sender<()>,
    thread: JoinHandle<()>,
}

impl Handle {
    /// Starts a round every `interval`, sooner after a failure's backoff.
    pub(super) fn start(shared: Arc<Shared>, interval: Duration) -> Handle {
        let (stop, stopped) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("eardrum-shipper".to_owned())
            .spawn(move || {
                let mut wait = interval;
                loop {
                    let stopping = !matches!(stopped.recv_timeout(wait), Err(RecvTimeoutError::Timeout));
                    // A stop while ClickHouse fails does not wait for it to
                    // time out once more: the next start ships.
                    if stopping && shared.ship_failing.load(Ordering::Acquire) {
                        return;
                    }
                    let backoff = shared.ship_round();
                    if stopping {
                        return;
                    }
                    wait = backoff.unwrap_or(interval);
                }
            })
            // Failing to spawn a thread at startup leaves nothing sensible to do.
            .expect("spawning the shipper thread");
        Handle { stop, thread }
    }

    /// Stops after the current round; a last round ships what it can
    /// without retrying, so that a clean stop leaves little behind.
    pub(super) fn stop(self) {
        drop(self.stop);
        let _ = self.thread.join();
    }
}

impl Shared {
    /// One round: ship every sealed outbox, then seal the active one if it
    /// took puts and ship it too. Returns how long to wait before retrying
    /// when something could not be shipped.
    pub(super) fn ship_round(&self) -> Option<Duration> {
        let mut state = self.shipping.lock();
        // Everything acknowledged before now is sealed in this round.
        let round_start_ms = eardrum_protocol::clock::unix_millis();
        if !state.schema_ready {
            match self.clickhouse.ensure_schema() {
                Ok(()) => state.schema_ready = true,
                Err(error) => return Some(self.failed(&mut state, &error)),
            }
        }
        loop {
            let oldest = self.outboxes.read().sealed.first().cloned();
            let oldest = match oldest {
                Some(oldest) => Some(oldest),
                None => match self.rotate() {
                    Ok(true) => self.outboxes.read().sealed.first().cloned(),
                    Ok(false) => None,
                    Err(error) => {
                        // The active outbox keeps its puts (and stays
                        // marked for shipping); the disk is the problem.
                        let error: &dyn std::error::Error = &error;
                        tracing::error!(error, "could not seal the active outbox; retrying");
                        return Some(MAX_BACKOFF);
                    }
                },
            };
            // One whose sealing failed gets another try before it ships:
            // its rows need their version.
            if let Some(unsealed) = oldest.as_ref().filter(|o| !o.is_sealed()) {
                if let Err(error) = self.seal(unsealed) {
                    let error: &dyn std::error::Error = &error;
                    tracing::error!(error, "could not seal an outbox; retrying");
                    return Some(MAX_BACKOFF);
                }
                continue;
            }
            let Some(oldest) = oldest else {
                self.counters.caught_up_unix_ms.store(round_start_ms, Ordering::Relaxed);
                if let Some((since, _)) = state.failing.take() {
                    self.ship_failing.store(false, Ordering::Release);
                    tracing::info!(after_ms = since.elapsed().as_millis() as u64, "shipping again");
                }
                return None;
            };
            if let Err(error) = self.ship(&oldest) {
                return Some(self.failed(&mut state, &error));
            }
            self.outboxes.write().sealed.retain(|o| o.version != oldest.version);
            if let Err(error) = oldest.delete() {
                let error: &dyn std::error::Error = &error;
                tracing::warn!(error, "could not delete a shipped outbox (it is shipped again, harmlessly)");
            }
        }
    }

    /// Notes a failure, logged once per run of failures; returns the wait
    /// before the next attempt, doubling with each failure of the run.
    fn failed(&self, state: &mut ShipState, error: &crate::Error) -> Duration {
        self.counters.failed_attempts.fetch_add(1, Ordering::Relaxed);
        self.ship_failing.store(true, Ordering::Release);
        let (_, backoff) = state.failing.get_or_insert_with(|| {
            let error: &dyn std::error::Error = error;
            tracing::warn!(
                error,
                "cannot ship to ClickHouse; keeping the points in the local log and retrying"
            );
            (Instant::now(), FIRST_BACKOFF / 2)
        });
        *backoff = (*backoff * 2).min(MAX_BACKOFF);
        *backoff
    }

    /// Sends one outbox: its keys' first-seen times first (so that a key
    /// listed has its points to follow), then its points, a large insert at
    /// a time, all with the outbox's version.
    fn ship(&self, outbox: &Outbox) -> crate::Result<()> {
        let clickhouse: &ClickHouse = &self.clickhouse;
        let mut rows = String::new();
        for (key, first_seen) in outbox.keys() {
            tsv::push_series_row(&mut rows, &key, first_seen);
        }
        if !rows.is_empty() {
            clickhouse.insert_rows("series", rows.as_bytes())?;
        }
        let mut cursor = ScanCursor::default();
        while !cursor.is_done() {
            rows.clear();
            let mut points = 0;
            outbox.store.scan_some(Keys::All, &mut cursor, POINTS_PER_INSERT, |key, timestamp, value| {
                tsv::push_point_row(&mut rows, key, timestamp, value, outbox.version);
                points += 1;
            })?;
            if points == 0 {
                continue;
            }
            clickhouse.insert_rows("points", rows.as_bytes())?;
            self.counters.inserts.fetch_add(1, Ordering::Relaxed);
            self.counters.points_shipped.fetch_add(points, Ordering::Relaxed);
        }
        Ok(())
    }
}
