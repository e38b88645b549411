//! The store: one shared handle over the log and the in-memory series.

use crate::error::{Corruption, Error, Result};
use crate::flusher::Flusher;
use crate::registry::{Registry, SeriesId};
use crate::series::Series;
use crate::wal::record::{Entries, Entry, RecordBuilder};
use crate::wal::writer::Writer;
use crate::wal::{recovery, sync_dir};
use crate::{Options, SyncMode};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

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

/// Which series [`Store::scan`] visits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keys<'a> {
    /// Every series, in the order their keys were first put.
    All,
    /// The one series with this key, if it exists.
    One(&'a str),
}

/// A snapshot of the store's size, for monitoring.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Distinct keys.
    pub series: u64,
    /// Distinct (key, timestamp) points.
    pub points: u64,
    /// Log bytes written since the store was opened.
    pub log_bytes_written: u64,
    /// Log records replayed when the store was opened.
    pub records_replayed: u64,
}

/// A metrics store in a data folder: a write-ahead log and the series it
/// describes, kept in memory.
///
/// `Store` is `Sync`: every connection shares one, and [`Store::put`] from
/// many threads is serialised by a short lock around the log append and the
/// memory update, in one order, so that replay rebuilds exactly the state
/// that readers saw. Syncing to disk happens outside that lock.
#[derive(Debug)]
pub struct Store {
    shared: Arc<Shared>,
    flusher: Option<Flusher>,
    /// Set by `close`, so that `Drop` does not sync a second time.
    closed: bool,
    dir: PathBuf,
    /// Held for the life of the store: a second process on the same folder
    /// would interleave its log with ours.
    _lock: File,
}

/// The part of the store the background flusher needs too.
#[derive(Debug)]
pub(crate) struct Shared {
    state: Mutex<State>,
    /// The LSN up to which the log is known to be on disk. Held while a sync
    /// runs, so concurrent callers wait for it and then find their records
    /// covered (group commit) instead of syncing again.
    synced_lsn: Mutex<u64>,
    sync_mode: SyncMode,
}

#[derive(Debug)]
struct State {
    registry: Registry,
    series: Vec<Series>,
    wal: Writer,
    /// Reused for every batch, so a put allocates nothing in steady state.
    record: RecordBuilder,
    batch_ids: Vec<SeriesId>,
    points: u64,
    records_replayed: u64,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave the log half-written (each
    // append is one write) so the data is still usable.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Store {
    /// Opens the store in `dir`, creating the folder if needed, and replays
    /// its log.
    ///
    /// # Errors
    ///
    /// [`Error::Locked`] if another process has the folder open,
    /// [`Error::CorruptLog`] for a damaged log under
    /// [`RecoveryMode::Strict`](crate::RecoveryMode::Strict),
    /// [`Error::UnsupportedVersion`], and I/O errors.
    pub fn open(dir: impl AsRef<Path>, options: Options) -> Result<Store> {
        let dir = dir.as_ref().to_owned();
        std::fs::create_dir_all(&dir).map_err(Error::io("creating data folder", &dir))?;
        let lock_path = dir.join("LOCK");
        let lock_file = File::create(&lock_path).map_err(Error::io("creating lock file", &lock_path))?;
        if lock_file.try_lock().is_err() {
            return Err(Error::Locked { dir, lock: lock_path });
        }
        let wal_dir = dir.join("wal");
        std::fs::create_dir_all(&wal_dir).map_err(Error::io("creating log folder", &wal_dir))?;
        sync_dir(&dir)?;

        let started = Instant::now();
        let mut registry = Registry::default();
        let mut series = Vec::new();
        let mut points = 0;
        let recovered =
            recovery::recover(&wal_dir, options.recovery, options.segment_max_bytes, |payload| {
                replay(&mut registry, &mut series, &mut points, payload)
            })?;
        tracing::info!(
            dir = %dir.display(),
            records = recovered.records,
            torn_bytes_cut = recovered.torn_bytes,
            series = registry.len(),
            points,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "recovered the store"
        );
        if let Some(aside) = &recovered.salvaged_to {
            tracing::warn!(moved_to = %aside.display(), "opened after moving a damaged log part aside");
        }
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                registry,
                series,
                wal: recovered.writer,
                record: RecordBuilder::default(),
                batch_ids: Vec::new(),
                points,
                records_replayed: recovered.records,
            }),
            synced_lsn: Mutex::new(0),
            sync_mode: options.sync,
        });
        let flusher = (options.sync == SyncMode::EverySecond)
            .then(|| Flusher::start(Arc::clone(&shared), options.sync_interval));
        Ok(Store { shared, flusher, closed: false, dir, _lock: lock_file })
    }

    /// Stores a batch of samples: one log record for all of them, then the
    /// memory update. A later sample for the same key and timestamp replaces
    /// an earlier one.
    ///
    /// When this returns `Ok`, the batch is in the operating system (it
    /// survives the process being killed) and, with [`SyncMode::Always`], on
    /// disk.
    ///
    /// # Errors
    ///
    /// The I/O error of the log write or sync, or [`Error::Poisoned`]. On a
    /// failed write nothing of the batch is stored; on a failed sync the
    /// batch is in memory and the log but may not be on disk, and the store
    /// refuses later writes.
    pub fn put(&self, samples: &[Sample<'_>]) -> Result<()> {
        if samples.is_empty() {
            return Ok(());
        }
        let lsn = lock(&self.shared.state).append(samples)?;
        if self.shared.sync_mode == SyncMode::Always {
            self.shared.sync_through(lsn)?;
        }
        Ok(())
    }

    /// Calls `visit(key, timestamp, value)` for every point of the selected
    /// series: series in first-put order, points in ascending timestamp
    /// order.
    ///
    /// Writers wait while this runs, so `visit` should only copy or encode.
    pub fn scan(&self, keys: Keys<'_>, mut visit: impl FnMut(&str, i64, f64)) {
        let state = lock(&self.shared.state);
        let mut visit_series = |id: SeriesId, key: &str| {
            if let Some(series) = state.series.get(id.index()) {
                series.iter().for_each(|(timestamp, value)| visit(key, timestamp, value));
            }
        };
        match keys {
            Keys::One(key) => {
                if let Some(id) = state.registry.id(key) {
                    visit_series(id, key);
                }
            }
            Keys::All => state.registry.iter().for_each(|(id, key)| visit_series(id, key)),
        }
    }

    /// Sizes and counters of the store right now.
    pub fn stats(&self) -> Stats {
        let state = lock(&self.shared.state);
        Stats {
            series: state.registry.len() as u64,
            points: state.points,
            log_bytes_written: state.wal.lsn(),
            records_replayed: state.records_replayed,
        }
    }

    /// Syncs everything written so far to disk, whatever the [`SyncMode`].
    ///
    /// # Errors
    ///
    /// The sync's I/O error; the store is then poisoned.
    pub fn sync(&self) -> Result<()> {
        self.shared.sync_written()
    }

    /// When this store syncs its log to disk.
    pub fn sync_mode(&self) -> SyncMode {
        self.shared.sync_mode
    }

    /// The data folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Stops the background flusher and syncs the log: after `Ok`, every
    /// point put is on disk.
    ///
    /// # Errors
    ///
    /// The final sync's I/O error. Dropping a store without `close` also
    /// syncs, but can only log a failure.
    pub fn close(mut self) -> Result<()> {
        self.closed = true;
        self.stop_and_sync()
    }

    fn stop_and_sync(&mut self) -> Result<()> {
        if let Some(flusher) = self.flusher.take() {
            flusher.stop();
        }
        self.shared.sync_written()
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        if self.closed {
            return;
        }
        if let Err(error) = self.stop_and_sync() {
            tracing::error!(%error, "syncing the log while dropping the store");
        }
    }
}

impl Shared {
    /// Makes the log durable at least up to `lsn`.
    pub(crate) fn sync_through(&self, lsn: u64) -> Result<()> {
        let mut synced = lock(&self.synced_lsn);
        if *synced >= lsn {
            return Ok(());
        }
        // Take the file and the LSN it reaches under the state lock, then sync
        // without it so that writers keep appending meanwhile.
        let (file, written) = {
            let state = lock(&self.state);
            (state.wal.file(), state.wal.lsn())
        };
        if let Err(source) = file.sync_data() {
            let mut state = lock(&self.state);
            state.wal.poison();
            return Err(Error::Io { action: "syncing log segment", path: state.wal.path(), source });
        }
        *synced = written;
        Ok(())
    }

    /// Makes everything appended so far durable.
    pub(crate) fn sync_written(&self) -> Result<()> {
        let written = lock(&self.state).wal.lsn();
        self.sync_through(written)
    }
}

impl State {
    /// Appends one record for `samples`, then applies them; returns the LSN
    /// the record ends at.
    fn append(&mut self, samples: &[Sample<'_>]) -> Result<u64> {
        let registered_before = self.registry.len();
        self.record.clear();
        self.batch_ids.clear();
        for sample in samples {
            let id = match self.registry.id(sample.key) {
                Some(id) => id,
                None => {
                    let id = self.registry.insert(sample.key);
                    self.record.define_series(id.0, sample.key);
                    id
                }
            };
            self.record.point(id.0, sample.timestamp, sample.value);
            self.batch_ids.push(id);
        }
        let lsn = match self.wal.append(self.record.finish()) {
            Ok(lsn) => lsn,
            Err(error) => {
                self.registry.truncate(registered_before);
                return Err(error);
            }
        };
        self.series.resize_with(self.registry.len(), Series::default);
        for (sample, id) in samples.iter().zip(&self.batch_ids) {
            if self.series[id.index()].insert(sample.timestamp, sample.value) {
                self.points += 1;
            }
        }
        Ok(lsn)
    }
}

/// Applies one replayed record, all of it or (if it is inconsistent) none.
fn replay(
    registry: &mut Registry,
    series: &mut Vec<Series>,
    points: &mut u64,
    payload: &[u8],
) -> Result<(), Corruption> {
    let mut defined = registry.len() as u64;
    let mut new_keys = Vec::new();
    for entry in Entries::new(payload) {
        match entry? {
            Entry::Series { id, key } => {
                if id != defined || registry.id(key).is_some() || new_keys.contains(&key) {
                    return Err(Corruption::UnknownSeries { id });
                }
                new_keys.push(key);
                defined += 1;
            }
            Entry::Point { id, .. } if id >= defined => return Err(Corruption::UnknownSeries { id }),
            Entry::Point { .. } => {}
        }
    }
    for entry in Entries::new(payload).flatten() {
        match entry {
            Entry::Series { key, .. } => {
                registry.insert(key);
                series.push(Series::default());
            }
            Entry::Point { id, timestamp, value } => {
                if series[id as usize].insert(timestamp, value) {
                    *points += 1;
                }
            }
        }
    }
    Ok(())
}
