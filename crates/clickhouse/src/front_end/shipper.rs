//! The shipper: a thread that seals the active outbox on an interval and
//! sends sealed outboxes to ClickHouse, oldest first, retrying with backoff
//! while ClickHouse is down.

use super::outbox::Outbox;
use super::Shared;
use crate::{tsv, ClickHouse};
use eardrum_storage::{Keys, ScanCursor};
use std::fmt::Write as _;
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

/// The running shipper.
#[derive(Debug)]
pub(super) struct Handle {
    stop: mpsc::Sender<()>,
    thread: JoinHandle<()>,
}

impl Handle {
    /// Starts shipping every `interval`; `schema_ready` says whether the
    /// tables are known to exist.
    pub(super) fn start(shared: Arc<Shared>, interval: Duration, schema_ready: bool) -> Handle {
        let (stop, stopped) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("eardrum-shipper".to_owned())
            .spawn(move || Shipper { shared, schema_ready, failing_since: None }.run(interval, &stopped))
            // Failing to spawn a thread at startup leaves nothing sensible to do.
            .expect("spawning the shipper thread");
        Handle { stop, thread }
    }

    /// Stops after the current attempt; a last round ships what it can
    /// without retrying, so that a clean stop leaves little behind.
    pub(super) fn stop(self) {
        drop(self.stop);
        let _ = self.thread.join();
    }
}

struct Shipper {
    shared: Arc<Shared>,
    schema_ready: bool,
    /// When the current run of failures began, and the wait before the next
    /// attempt.
    failing_since: Option<(Instant, Duration)>,
}

impl Shipper {
    fn run(mut self, interval: Duration, stopped: &mpsc::Receiver<()>) {
        let mut wait = interval;
        loop {
            let stopping = !matches!(stopped.recv_timeout(wait), Err(RecvTimeoutError::Timeout));
            let shipped_all = self.round();
            if stopping {
                return;
            }
            wait = match (shipped_all, &mut self.failing_since) {
                (true, _) => interval,
                (false, Some((_, backoff))) => {
                    let this = *backoff;
                    *backoff = (*backoff * 2).min(MAX_BACKOFF);
                    this
                }
                (false, None) => interval,
            };
        }
    }

    /// One round: seal the active outbox if it took puts, then ship every
    /// sealed one. Returns whether nothing is left to ship.
    fn round(&mut self) -> bool {
        if let Err(error) = self.shared.rotate() {
            let error: &dyn std::error::Error = &error;
            tracing::error!(error, "could not seal the active outbox");
        }
        if !self.schema_ready {
            match self.shared.clickhouse.ensure_schema() {
                Ok(()) => self.schema_ready = true,
                Err(error) => return self.failed(&error),
            }
        }
        loop {
            let Some(oldest) = self.shared.outboxes.read().sealed.first().cloned() else {
                if let Some((since, _)) = self.failing_since.take() {
                    tracing::info!(after_ms = since.elapsed().as_millis() as u64, "shipping again");
                }
                return true;
            };
            if let Err(error) = self.ship(&oldest) {
                return self.failed(&error);
            }
            let mut outboxes = self.shared.outboxes.write();
            outboxes.sealed.retain(|o| o.version != oldest.version);
            drop(outboxes);
            if let Err(error) = oldest.delete() {
                let error: &dyn std::error::Error = &error;
                tracing::warn!(error, "could not delete a shipped outbox (it is shipped again, harmlessly)");
            }
        }
    }

    /// Notes a failure, logged once per run of failures; returns `false`.
    fn failed(&mut self, error: &crate::Error) -> bool {
        self.shared.counters.failed_attempts.fetch_add(1, Ordering::Relaxed);
        if self.failing_since.is_none() {
            let error: &dyn std::error::Error = error;
            tracing::warn!(
                error,
                "cannot ship to ClickHouse; keeping the points in the local log and retrying"
            );
            self.failing_since = Some((Instant::now(), FIRST_BACKOFF));
        }
        false
    }

    /// Sends one outbox: its keys' first-seen times first (so that a key
    /// listed has its points to follow), then its points, a large insert at
    /// a time, all with the outbox's version.
    fn ship(&self, outbox: &Outbox) -> crate::Result<()> {
        let clickhouse: &ClickHouse = &self.shared.clickhouse;
        let mut rows = String::new();
        for (key, first_seen) in outbox.keys() {
            tsv::push_field(&mut rows, &key);
            let _ = writeln!(rows, "\t{first_seen}");
        }
        if !rows.is_empty() {
            clickhouse.insert_rows("series", rows.as_bytes())?;
        }
        let mut cursor = ScanCursor::default();
        while !cursor.is_done() {
            rows.clear();
            let mut points = 0;
            outbox.store.scan_some(Keys::All, &mut cursor, POINTS_PER_INSERT, |key, timestamp, value| {
                tsv::push_field(&mut rows, key);
                let _ = write!(rows, "\t{timestamp}\t");
                tsv::push_float(&mut rows, value);
                let _ = writeln!(rows, "\t{}", outbox.version);
                points += 1;
            });
            if points == 0 {
                continue;
            }
            clickhouse.insert_rows("points", rows.as_bytes())?;
            let counters = &self.shared.counters;
            counters.inserts.fetch_add(1, Ordering::Relaxed);
            counters.points_shipped.fetch_add(points, Ordering::Relaxed);
        }
        Ok(())
    }
}
