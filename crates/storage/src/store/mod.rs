//! The store: one shared handle over the log, the series in memory and
//! the checkpoints on disk.
//!
//! Writes go in two steps. [`Store::stage`] adds a batch to the open log
//! record (memory only, microseconds); [`Store::commit`] writes every
//! staged batch in one `write` (and, with [`SyncMode::Always`], one sync),
//! then applies them to memory in staging order. So batches of many
//! connections share one write, and memory always holds exactly what
//! replaying the log gives, nothing unwritten. [`Store::put`] does both.

mod decisions;
mod rollups;
mod scan;
mod shared;
mod state;

pub use scan::{Keys, ScanCursor};

use crate::checkpoint::{self, load, History, BLOCKS_DIR};
use crate::damaged::Aside;
use crate::disk::{Disk, DiskView};
use crate::error::{Error, Result};
use crate::periodic::Periodic;
use crate::registry::Registry;
use crate::series::Bounds;
use crate::wal::mark::{self, SyncedMark};
use crate::wal::record::RecordBuilder;
use crate::wal::{recovery, sync_dir};
use crate::{CheckpointStats, Options, Outcome, RecoveryMode, Stats, SyncMode, Ticket};
use decisions::Decisions;
// parking_lot's mutex spins briefly before sleeping: the store's critical
// sections are microseconds long, and with connections on several threads
// a sleeping waiter costs two context switches that dwarf the wait itself.
// (It has no poisoning: a panic while holding the lock cannot leave the log
// half-written, each append being one write.)
use parking_lot::Mutex;
use shared::{MarkState, Shared};
use state::{replay, Commit, Replayed, State};
use std::collections::BTreeSet;
use std::fs::File;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// How often the log's synced mark is brought up to date: it may trail the
/// log by this much, so that keeping it costs the commit path nothing.
const MARK_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// How often the checkpointer looks whether windows wait to move out of
/// memory (a backfill that writes hours of metric time a second), besides
/// its interval.
const BACKLOG_CHECK_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// One point to store: the unit of [`Store::put`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample<'a> {
    /// The series' key.
    pub key: &'a str,
    /// Unix seconds.
    pub timestamp: i64,
    /// The value.
    pub value: f64,
}

/// A metrics store in a data folder: a write-ahead log, compressed series
/// in memory, and checkpoints of them in block files.
///
/// `Store` is `Sync`: every connection shares one. Staging and committing
/// are serialised by a short lock around the log record and the memory
/// update, in one order, so that replay rebuilds exactly the state that
/// readers saw. Syncing and checkpoint writing happen outside that lock.
#[derive(Debug)]
pub struct Store {
    shared: Arc<Shared>,
    /// The log flusher and the checkpointer, stopped by the first close.
    background: Mutex<Vec<Periodic>>,
    /// Set by a close, so that `Drop` does not do it a second time.
    closed: AtomicBool,
    /// Held for the life of the store: a second process on the same folder
    /// would interleave its log with ours.
    _lock: File,
}

impl Store {
    /// Opens the store in `dir`, creating the folder if needed: loads the
    /// newest checkpoint and replays the log after it.
    ///
    /// # Errors
    ///
    /// [`Error::Locked`] if another process has the folder open,
    /// [`Error::CorruptLog`] for a damaged log under
    /// [`RecoveryMode::Strict`],
    /// [`Error::CorruptFile`] for a damaged checkpoint,
    /// [`Error::UnsupportedVersion`], and I/O errors.
    pub fn open(dir: impl AsRef<Path>, options: Options) -> Result<Store> {
        crate::rollup::check_levels(options.retention, &options.rollups)?;
        let retention_given =
            options.retention.is_some() || options.rollups.iter().any(|level| level.retention.is_some());
        if options.storage_schemas.is_some() && retention_given {
            let reason =
                "retention comes from the storage schemas' retentions: give one or the other".to_owned();
            return Err(Error::InvalidOptions { reason });
        }
        let dir = dir.as_ref().to_owned();
        std::fs::create_dir_all(&dir).map_err(Error::io("creating data folder", &dir))?;
        let lock_path = dir.join("LOCK");
        let lock_file = File::create(&lock_path).map_err(Error::io("creating lock file", &lock_path))?;
        if lock_file.try_lock().is_err() {
            return Err(Error::Locked { dir, lock: lock_path });
        }
        for sub in ["wal", BLOCKS_DIR] {
            let path = dir.join(sub);
            std::fs::create_dir_all(&path).map_err(Error::io("creating folder", &path))?;
        }
        sync_dir(&dir)?;

        let started = Instant::now();
        let mut aside = Aside::new(&dir);
        let opening = load::Opening { mode: options.recovery, history_on_disk: options.history_on_disk };
        let loaded = load::load(&dir, opening, &mut aside)?;
        let current = loaded.manifest;
        let mut registry = Registry::from_keys(loaded.keys);
        let mut series = loaded.series;
        let loaded_ms = started.elapsed().as_millis() as u64;
        let mut points = loaded.points;
        let (mut dirty, mut newest_ts) = (BTreeSet::new(), current.newest_ts);
        if current.names_legacy_blocks() {
            // Block files of the first format were read whole; the next
            // checkpoint rewrites them with an index, to be read from disk.
            dirty.extend(current.windows.keys());
        }
        let view = DiskView::new(loaded.resident_from, &current.windows);
        let bounds = Bounds { disk_before: view.resident_start(), chunks_from: view.resident_start() };
        let wal_dir = dir.join("wal");
        let mark = SyncedMark::read(&wal_dir).or_else(|error| match options.recovery {
            RecoveryMode::Strict => Err(error),
            // A damaged mark only loses the checks it allows.
            RecoveryMode::Salvage => {
                aside.move_file(&mark::path(&wal_dir), "a damaged synced mark of the log")?;
                Ok(None)
            }
        })?;
        let plan = recovery::Plan {
            dir: &wal_dir,
            mode: options.recovery,
            segment_max_bytes: options.segment_max_bytes,
            first_sequence: current.wal_start,
            mark: mark.as_ref(),
        };
        let recovered = recovery::recover(&plan, &mut aside, |payload| {
            let mut replayed = Replayed { dirty: &mut dirty, newest: &mut newest_ts, points: &mut points };
            replay(&mut registry, &mut series, &mut replayed, bounds, payload)
        })?;
        checkpoint::remove_garbage(&dir, &current, loaded.previous.as_ref());
        let known = SyncedMark::rewrite_after_recovery(&wal_dir, &recovered.writer, mark.as_ref())?;
        // A new, empty store is not news (a front end opens one per
        // shipment); what was recovered is.
        macro_rules! recovered {
            ($level:expr) => {
                tracing::event!(
                    $level,
                    dir = %dir.display(),
                    checkpoint = current.generation,
                    windows = current.windows.len(),
                    records_replayed = recovered.records,
                    torn_bytes_cut = recovered.torn_bytes,
                    series = registry.len(),
                    load_ms = loaded_ms,
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "recovered the store"
                )
            };
        }
        match recovered.records == 0 && registry.len() == 0 {
            true => recovered!(tracing::Level::DEBUG),
            false => recovered!(tracing::Level::INFO),
        }
        if let Some(folder) = aside.used() {
            tracing::warn!(moved_to = %folder.display(), "opened after moving damaged files aside (salvage)");
        }
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                registry,
                series,
                wal: recovered.writer,
                record: RecordBuilder::default(),
                staged_points: Vec::new(),
                staged_seq: 0,
                committed_seq: 0,
                dirty,
                newest_ts,
                points,
                records_replayed: recovered.records,
                checkpointed_lsn: None,
                disk: Arc::new(view),
                chunks_from: loaded.resident_from,
                over_budget: false,
                late_points: 0,
            }),
            disk: Disk::new(dir.join(BLOCKS_DIR), options.memory_budget / 4),
            rollup_steps: options.rollups.iter().map(|level| level.step).collect(),
            archives: Mutex::default(),
            commit_turn: Mutex::new(()),
            decisions: Decisions::default(),
            synced_lsn: Mutex::new(0),
            mark: Mutex::new(MarkState { known: known.clone(), written: known }),
            manifest: Mutex::new(current),
            history: Mutex::new(History::default()),
            options: options.clone(),
            dir,
        });
        let flusher = (options.sync == SyncMode::EverySecond).then(|| {
            let shared = Arc::clone(&shared);
            Periodic::start("log-flusher", options.sync_interval, move || shared.sync_written())
        });
        let checkpointer = options.checkpoint_interval.map(|interval| {
            let shared = Arc::clone(&shared);
            let mut last = Instant::now();
            Periodic::start("checkpointer", interval.min(BACKLOG_CHECK_INTERVAL), move || {
                if last.elapsed() < interval && !shared.checkpoint_would_free_memory() {
                    return Ok(());
                }
                last = Instant::now();
                shared.checkpoint().map(drop)
            })
        });
        let marker = {
            let shared = Arc::clone(&shared);
            Periodic::start("log-marker", MARK_INTERVAL, move || shared.write_mark())
        };
        let background = Mutex::new(checkpointer.into_iter().chain(flusher).chain([marker]).collect());
        Ok(Store { shared, background, closed: AtomicBool::new(false), _lock: lock_file })
    }

    /// Stores a batch of samples: [`Store::stage`], [`Store::commit`], and
    /// the batch's outcome. A later sample for the same key and timestamp
    /// replaces an earlier one.
    ///
    /// When this returns `Ok`, the batch is in the operating system (it
    /// survives the process being killed) and, with [`SyncMode::Always`], on
    /// disk.
    ///
    /// # Errors
    ///
    /// The I/O error of the log write or sync, [`Error::Poisoned`], or
    /// [`Error::NotStored`] when another caller's commit took the batch and
    /// failed. On a failed write nothing of the batch is stored; on a
    /// failed sync the batch is in memory and the log but may not be on
    /// disk, and the store refuses later writes. [`Error::SeriesLimit`]
    /// when some samples had new keys beyond [`Options::max_series`]: the
    /// others are stored.
    pub fn put(&self, samples: &[Sample<'_>]) -> Result<()> {
        if samples.is_empty() {
            return Ok(());
        }
        let ticket = self.stage(samples);
        self.commit()?;
        match self.outcome(&ticket) {
            Outcome::Stored if ticket.refused().is_empty() => Ok(()),
            Outcome::Stored => Err(Error::SeriesLimit {
                refused: ticket.refused().len(),
                limit: self.shared.options.max_series.unwrap_or(usize::MAX),
            }),
            Outcome::Pending | Outcome::Failed => Err(Error::NotStored),
        }
    }

    /// Adds a batch to the next commit: new keys are registered and the
    /// batch's log entries encoded, but nothing is written, and nothing is
    /// visible to readers until a commit has written it. Samples that would
    /// create a series beyond [`Options::max_series`] are left out and
    /// listed by [`Ticket::refused`].
    pub fn stage(&self, samples: &[Sample<'_>]) -> Ticket {
        let max_series = self.shared.options.max_series.unwrap_or(usize::MAX);
        let mut refused = Vec::new();
        let seq = self.shared.state.lock().stage(samples, max_series, &mut refused);
        Ticket::new(seq, refused)
    }

    /// Stores every batch staged so far, by anyone: one log record for all
    /// of them, then the memory update, then with [`SyncMode::Always`] one
    /// sync. Concurrent calls take turns; a call that finds nothing staged
    /// returns at once.
    ///
    /// # Errors
    ///
    /// As [`Store::put`]; every batch the failed commit took is then
    /// reported not stored by [`Store::outcome`].
    pub fn commit(&self) -> Result<()> {
        let _turn = self.shared.commit_turn.lock();
        let Some(Commit { batches, written }) = self.shared.state.lock().commit() else {
            return Ok(());
        };
        let durable = written.and_then(|lsn| match self.shared.options.sync {
            SyncMode::Always => self.shared.sync_through(lsn),
            SyncMode::EverySecond | SyncMode::Never => Ok(()),
        });
        match durable {
            Ok(()) => self.shared.decisions.stored(&batches),
            Err(_) => self.shared.decisions.failed(&batches),
        }
        durable
    }

    /// What became of a batch this store staged: pending until a commit
    /// has taken it, then stored once it is as durable as [`SyncMode`]
    /// says, or failed.
    pub fn outcome(&self, ticket: &Ticket) -> Outcome {
        self.shared.decisions.outcome(ticket.batch())
    }

    /// Writes a checkpoint now (see the `checkpoint` module): changed
    /// windows to block files, then deletes the log they cover. When nothing
    /// was written since the last one it does nothing and returns that
    /// one's figures.
    ///
    /// # Errors
    ///
    /// I/O errors; the store stays consistent and the next checkpoint
    /// retries what this one could not write.
    pub fn checkpoint(&self) -> Result<CheckpointStats> {
        self.shared.checkpoint()
    }

    /// Sizes and counters of the store right now.
    pub fn stats(&self) -> Stats {
        let (series, points, memory_bytes, log_bytes_written, records_replayed, view) = {
            let state = self.shared.state.lock();
            let points = state.points;
            let memory = state.points_heap_bytes() + state.registry.heap_bytes();
            let view = Arc::clone(&state.disk);
            (state.series.len() as u64, points, memory as u64, state.wal.lsn(), state.records_replayed, view)
        };
        let history = self.shared.history.lock().clone();
        let cache = self.shared.disk.figures();
        Stats {
            series,
            points,
            memory_bytes,
            memory_budget_bytes: self.shared.options.memory_budget as u64,
            memory_from: (view.resident_start() > i64::MIN).then(|| view.resident_start()),
            windows_on_disk: view.windows.len() as u64,
            cache_bytes: cache.bytes,
            cache_hits: cache.hits,
            cache_misses: cache.misses,
            block_bytes: folder_bytes(&self.shared.dir.join(BLOCKS_DIR)),
            log_bytes: folder_bytes(&self.shared.dir.join("wal")),
            log_bytes_written,
            records_replayed,
            checkpoints: history.completed,
            last_checkpoint: history.last,
            shipping: None,
        }
    }

    /// When this store syncs its log to disk.
    pub fn sync_mode(&self) -> SyncMode {
        self.shared.options.sync
    }

    /// Syncs everything written so far to disk, whatever the [`SyncMode`].
    ///
    /// # Errors
    ///
    /// The sync's I/O error; the store is then poisoned.
    pub fn sync(&self) -> Result<()> {
        self.shared.sync_written()
    }

    /// The data folder.
    pub fn dir(&self) -> &Path {
        &self.shared.dir
    }

    /// Stops the background threads, writes a final checkpoint (so the next
    /// open replays almost nothing) and syncs the log: after `Ok`, every
    /// point put is on disk.
    ///
    /// # Errors
    ///
    /// The final sync's I/O error. A failed final checkpoint is only logged:
    /// the synced log still holds everything. Dropping a store without
    /// `close` syncs too, but can only log a failure.
    pub fn close(self) -> Result<()> {
        self.shut_down()
    }

    /// What [`Store::close`] does, for a store shared behind an `Arc` (see
    /// [`Backend::close`](crate::Backend::close)); puts after it are still
    /// stored but synced only by another close.
    pub(crate) fn shut_down(&self) -> Result<()> {
        self.closed.store(true, Ordering::Relaxed);
        let threads = std::mem::take(&mut *self.background.lock());
        for thread in threads {
            thread.stop();
        }
        if self.shared.options.checkpoint_on_close {
            if let Err(error) = self.shared.checkpoint() {
                let error: &dyn std::error::Error = &error;
                tracing::warn!(error, "final checkpoint failed; the log keeps everything");
            }
        }
        self.shared.sync_written()?;
        self.shared.write_mark()
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        if self.closed.load(Ordering::Relaxed) {
            return;
        }
        if let Err(error) = self.shut_down() {
            tracing::error!(%error, "closing the store while dropping it");
        }
    }
}

/// Total size of the files directly in `dir`.
fn folder_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries.flatten().filter_map(|e| e.metadata().ok()).filter(|m| m.is_file()).map(|m| m.len()).sum()
        })
        .unwrap_or(0)
}
