//! What the store shares with its background threads: the state, the log's
//! sync position, the manifest, and the checkpoint that ties them together.

use super::decisions::Decisions;
use super::state::State;
use crate::checkpoint::{self, manifest, History};
use crate::disk::{Disk, DiskView};
use crate::error::{Error, Result};
use crate::rollup::{Rolling, SeriesArchives};
use crate::series::{window_of, Part};
use crate::wal::mark::SyncedMark;
use crate::{CheckpointStats, Options};
use parking_lot::Mutex;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

/// The part of the store the background threads need too.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(super) state: Mutex<State>,
    /// Held for a whole commit, sync included, so that commits decide their
    /// batches in order while later batches keep being staged.
    pub(super) commit_turn: Mutex<()>,
    pub(super) decisions: Decisions,
    /// The LSN up to which the log is known to be on disk. Held while a sync
    /// runs, so concurrent callers wait for it and then find their records
    /// covered (group commit) instead of syncing again.
    pub(super) synced_lsn: Mutex<u64>,
    /// Where the log is known to be on disk, by segment, and what of it the
    /// mark file on disk says; see [`crate::wal::mark`].
    pub(super) mark: Mutex<MarkState>,
    /// The manifest in force; held for a whole checkpoint, so that only one
    /// runs at a time.
    pub(super) manifest: Mutex<manifest::Manifest>,
    /// Completed checkpoints, for [`super::Store::stats`]; never held for long.
    pub(super) history: Mutex<History>,
    pub(super) options: Options,
    pub(super) dir: PathBuf,
    /// Reads the windows on disk.
    pub(super) disk: Disk,
    /// The steps of [`Options::rollups`].
    pub(super) rollup_steps: Vec<i64>,
    /// The archives of the series looked up in [`Options::storage_schemas`]
    /// so far.
    pub(super) archives: Mutex<Arc<SeriesArchives>>,
}

/// The log's synced mark in memory, and as last written.
#[derive(Debug, Default)]
pub(crate) struct MarkState {
    pub(crate) known: SyncedMark,
    pub(crate) written: SyncedMark,
}

/// Series copied per hold of the store's lock while a checkpoint takes its
/// snapshot: small enough that writers wait milliseconds, not seconds.
const SNAPSHOT_BATCH_SERIES: usize = 2_000;

impl Shared {
    /// Makes the log durable at least up to `lsn`.
    pub(crate) fn sync_through(&self, lsn: u64) -> Result<()> {
        let mut synced = self.synced_lsn.lock();
        if *synced >= lsn {
            return Ok(());
        }
        // Take the file and the LSN it reaches under the state lock, then sync
        // without it so that writers keep appending meanwhile.
        let (file, written, (sequence, bytes)) = {
            let state = self.state.lock();
            if state.wal.is_poisoned() {
                // A failed sync may have dropped pages: a retry that succeeds
                // proves nothing (Linux forgets the error once reported).
                return Err(Error::Poisoned);
            }
            (state.wal.file(), state.wal.lsn(), state.wal.position())
        };
        if let Err(source) = file.sync_data() {
            let mut state = self.state.lock();
            state.wal.poison();
            return Err(Error::Io { action: "syncing log segment", path: state.wal.path(), source });
        }
        *synced = written;
        self.mark.lock().known.advance(sequence, bytes);
        Ok(())
    }

    /// Writes the log's synced mark if it moved since it was last written:
    /// from the background marker, once a second, and at close.
    pub(crate) fn write_mark(&self) -> Result<()> {
        let sealed = self.state.lock().wal.take_sealed();
        let mut mark = self.mark.lock();
        for (sequence, bytes) in sealed {
            mark.known.advance(sequence, bytes);
        }
        if mark.known == mark.written {
            return Ok(());
        }
        mark.known.write(&self.dir.join("wal"))?;
        mark.written = mark.known.clone();
        Ok(())
    }

    /// Makes everything appended so far durable.
    pub(crate) fn sync_written(&self) -> Result<()> {
        let written = self.state.lock().wal.lsn();
        self.sync_through(written)
    }

    /// After a checkpoint wrote `manifest`: forgets the points it merged
    /// into windows on disk, corrects the point count for those that were
    /// already there, and moves the windows older than the newest
    /// [`RESIDENT_WINDOWS`](crate::disk::RESIDENT_WINDOWS) as the checkpoint began out of memory (points
    /// put into them since wait in the overlays for the next one).
    fn settle(
        &self,
        previous: &manifest::Manifest,
        manifest: &manifest::Manifest,
        snapshot: &checkpoint::Snapshot,
    ) {
        let mut state = self.state.lock();
        let mut counted_as_new = 0u64;
        let mut disk_points_before = 0u64;
        let mut disk_points_after = 0u64;
        for (&window, parts) in snapshot.windows.range(..snapshot.resident_from) {
            for (id, part) in parts {
                if let (Some(series), Part::Points(points)) = (state.series.get_mut(*id as usize), part) {
                    series.forget_written(points);
                    counted_as_new += points.len() as u64;
                }
            }
            disk_points_before += previous.windows.get(&window).and_then(|held| held.points).unwrap_or(0);
            disk_points_after += manifest.windows.get(&window).and_then(|held| held.points).unwrap_or(0);
        }
        // Each merged point was counted new when put; some replaced a point
        // of the file.
        let replaced = (disk_points_before + counted_as_new).saturating_sub(disk_points_after);
        state.points = state.points.saturating_sub(replaced);
        // Retention took the raw points of other windows on disk, or all.
        for (window, held) in previous.windows.range(..snapshot.resident_from) {
            if !snapshot.windows.contains_key(window) {
                let after = manifest.windows.get(window).and_then(|kept| kept.points).unwrap_or(0);
                state.points = state.points.saturating_sub(held.points.unwrap_or(0).saturating_sub(after));
            }
        }
        // The chunks of the windows before `evict_before` are what this
        // checkpoint copied (puts since went to the overlays): they are in
        // the files now.
        let resident_from = state.disk.resident_from;
        let evict_before = snapshot.evict_before.max(resident_from);
        if evict_before > resident_from {
            for series in &mut state.series {
                series.evict_before(evict_before);
            }
        }
        state.disk = Arc::new(DiskView::new(evict_before, &manifest.windows));
    }

    /// With nothing written since the last checkpoint, every window is in
    /// `manifest`'s files: moves those memory need not hold out of it at
    /// once (the memory budget may call for it with no new points).
    fn evict_written(&self, manifest: &manifest::Manifest) {
        let mut state = self.state.lock();
        state.measure_pressure(&self.options);
        let resident_from = state.disk.resident_from;
        let Some(wanted) = state.wanted_resident_from(&self.options) else { return };
        if !state.dirty.is_empty() || wanted <= resident_from {
            return;
        }
        // Windows written while in memory leave it through a checkpoint,
        // which writes their rollups.
        let unrolled: Vec<i64> = manifest
            .unrolled_windows()
            .into_iter()
            .filter(|&window| (resident_from..wanted).contains(&window))
            .collect();
        if !unrolled.is_empty() {
            state.dirty.extend(unrolled);
            return;
        }
        state.chunks_from = state.chunks_from.max(wanted);
        for series in &mut state.series {
            series.evict_before(wanted);
        }
        state.disk = Arc::new(DiskView::new(wanted, &manifest.windows));
    }

    /// Whether memory holds what a checkpoint would let go: points put
    /// into windows on disk worth more than an eighth of the memory budget
    /// (a backfill into the past), more windows than two beyond the newest
    /// [`RESIDENT_WINDOWS`](crate::disk::RESIDENT_WINDOWS) (a backfill can
    /// pile them up faster than the interval), or any beyond the newest one
    /// while the points took more than half the budget at the last
    /// checkpoint. Cheap: it runs every second under the store's lock.
    pub(crate) fn checkpoint_would_free_memory(&self) -> bool {
        let state = self.state.lock();
        // Late points wait in the overlays, at about this much memory
        // each, until a checkpoint merges them into their windows' files:
        // a backfill into the past must not pile up more than an eighth of
        // the budget.
        const LATE_POINT_BYTES: u64 = 64;
        if state.late_points.saturating_mul(LATE_POINT_BYTES) > self.options.memory_budget as u64 / 8 {
            return true;
        }
        let Some(wanted) = state.wanted_resident_from(&self.options) else { return false };
        let pressed = state.newest_ts.is_some_and(|newest| wanted == window_of(newest));
        let allowed: i64 = if pressed { 0 } else { 2 };
        match state.disk.resident_from {
            i64::MIN => state.dirty.range(..wanted).nth(allowed as usize).is_some(),
            resident_from => wanted - resident_from > allowed,
        }
    }

    /// How a checkpoint rolls up the first `key_count` series: the rollup
    /// steps, and the archives their keys' layouts give (looked up once a
    /// key, a batch of keys per hold of the lock).
    fn rolling(&self, key_count: usize) -> Rolling {
        let mut archives = self.archives.lock();
        if let Some(schemas) = &self.options.storage_schemas {
            while archives.len() < key_count {
                let start = archives.len();
                let end = (start + SNAPSHOT_BATCH_SERIES).min(key_count);
                let keys: Vec<String> = {
                    let state = self.state.lock();
                    (start..end).map_while(|id| state.key(id).map(str::to_owned)).collect()
                };
                if keys.is_empty() {
                    break;
                }
                Arc::make_mut(&mut archives).extend(schemas, keys.iter().map(String::as_str));
            }
        }
        Rolling { steps: self.rollup_steps.clone(), archives: Arc::clone(&archives) }
    }

    /// Runs one checkpoint; see the `checkpoint` module for the phases.
    pub(crate) fn checkpoint(&self) -> Result<CheckpointStats> {
        let mut current = self.manifest.lock();
        let started = Instant::now();
        let unrolled = current.unrolled_windows();
        let began = self.state.lock().begin_snapshot(&self.options, current.keys.listed(), &unrolled)?;
        let mut longest_stall = started.elapsed();
        let Some(mut snapshot) = began else {
            self.evict_written(&current);
            let unchanged = CheckpointStats { generation: current.generation, ..CheckpointStats::default() };
            return Ok(self.history.lock().last.clone().unwrap_or(unchanged));
        };
        // Only the series registered when the snapshot began: later ones are
        // defined in the log after `wal_start`, where replay expects them.
        for start in (0..snapshot.key_count).step_by(SNAPSHOT_BATCH_SERIES) {
            let batch_started = Instant::now();
            let end = (start + SNAPSHOT_BATCH_SERIES).min(snapshot.key_count);
            self.state.lock().copy_parts(&mut snapshot, start..end);
            longest_stall = longest_stall.max(batch_started.elapsed());
        }
        let rolling = self.rolling(snapshot.key_count);
        let (manifest, bytes_written) = match checkpoint::write(&self.dir, &current, &snapshot, &rolling) {
            Ok(written) => written,
            Err(error) => {
                // Keep what was not written dirty for the next attempt.
                self.state.lock().dirty.extend(snapshot.windows.keys());
                return Err(error);
            }
        };
        self.settle(&current, &manifest, &snapshot);
        // The manifest before the new one stays, with its files and the log
        // after it: a fallback if the new one is ever damaged.
        checkpoint::remove_covered_log(&self.dir, &current);
        self.mark.lock().known.forget_before(current.wal_start);
        crate::failpoint::hit("checkpoint-after-log-cleanup");
        checkpoint::remove_obsolete_files(&self.dir, &manifest, Some(&current));
        self.disk
            .forget(|window, generation| checkpoint::names(&manifest, Some(&current), window, generation));
        let stats = CheckpointStats {
            generation: manifest.generation,
            finished_unix_ms: eardrum_protocol::clock::unix_millis(),
            duration_ms: started.elapsed().as_millis() as u64,
            longest_stall_ms: longest_stall.as_millis() as u64,
            windows_written: snapshot.windows.len() as u64,
            bytes_written,
        };
        tracing::info!(
            generation = stats.generation,
            windows = stats.windows_written,
            bytes = stats.bytes_written,
            duration_ms = stats.duration_ms,
            longest_stall_ms = stats.longest_stall_ms,
            "checkpoint written"
        );
        *current = manifest;
        let mut history = self.history.lock();
        history.completed += 1;
        history.last = Some(stats.clone());
        Ok(stats)
    }
}
