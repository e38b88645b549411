//! The store's state under its lock: series, registry, the log writer,
//! and the batches staged for the next commit.

use crate::checkpoint::Snapshot;
use crate::disk::DiskView;
use crate::disk::RESIDENT_WINDOWS;
use crate::error::{Corruption, Result};
use crate::registry::{Registry, SeriesId};
use crate::series::Part;
use crate::series::{window_of, Bounds, Series, WINDOW_SECONDS};
use crate::wal::record::{Entries, Entry, RecordBuilder};
use crate::wal::writer::Writer;
use crate::{Options, Sample};
use std::collections::BTreeSet;
use std::ops::RangeInclusive;
use std::sync::Arc;

/// Everything [`super::Store`] keeps behind its one lock.
#[derive(Debug)]
pub(super) struct State {
    pub(super) registry: Registry,
    pub(super) series: Vec<Series>,
    pub(super) wal: Writer,
    /// The open log record: the entries of every staged batch, framed and
    /// written by the next commit. Reused, so staging allocates nothing in
    /// steady state.
    pub(super) record: RecordBuilder,
    /// The points of the staged batches, to apply once the record is written.
    pub(super) staged_points: Vec<(SeriesId, i64, f64)>,
    /// Sequence number of the last batch staged, and of the last one a
    /// commit took (written or failed).
    pub(super) staged_seq: u64,
    pub(super) committed_seq: u64,
    /// Windows written since the last checkpoint began.
    pub(super) dirty: BTreeSet<i64>,
    /// The newest timestamp ever put, for retention.
    pub(super) newest_ts: Option<i64>,
    /// Distinct points held.
    pub(super) points: u64,
    pub(super) records_replayed: u64,
    /// The log position of the last checkpoint's snapshot; `None` until the
    /// first one, since the log may hold replayed records.
    pub(super) checkpointed_lsn: Option<u64>,
    /// The windows read from disk, and where memory takes over.
    pub(super) disk: Arc<DiskView>,
    /// Chunks of windows before this one are kept as a checkpoint copied
    /// them, to leave memory once it is written; puts into them wait in the
    /// overlays.
    pub(super) chunks_from: i64,
    /// Whether the points took more than half the memory budget when a
    /// checkpoint last measured them.
    pub(super) over_budget: bool,
    /// Points put into windows on disk (or leaving memory) since the last
    /// checkpoint began: they wait in the overlays until it merges them.
    pub(super) late_points: u64,
}

/// What one commit did.
#[derive(Debug)]
pub(super) struct Commit {
    /// The sequence numbers of the batches it took.
    pub(super) batches: RangeInclusive<u64>,
    /// The log position its record ends at, or why it could not be written.
    pub(super) written: Result<u64>,
}

impl State {
    /// Stages `samples`: registers new keys and adds the batch's entries to
    /// the open log record, without writing or applying anything; returns
    /// the batch's sequence number. A sample whose key is new while the
    /// registry already holds `max_series` keys is left out, and its index
    /// pushed to `refused`.
    pub(super) fn stage(&mut self, samples: &[Sample<'_>], max_series: usize, refused: &mut Vec<u32>) -> u64 {
        for (index, sample) in samples.iter().enumerate() {
            let id = match self.registry.id(sample.key) {
                Some(id) => id,
                None if self.registry.len() >= max_series => {
                    refused.push(u32::try_from(index).unwrap_or(u32::MAX));
                    continue;
                }
                None => {
                    let id = self.registry.insert(sample.key);
                    self.record.define_series(id.0, sample.key);
                    id
                }
            };
            self.record.point(id.0, sample.timestamp, sample.value);
            self.staged_points.push((id, sample.timestamp, sample.value));
        }
        self.staged_seq += 1;
        self.staged_seq
    }

    /// Writes every staged batch as one log record, then applies them to
    /// memory in staging order; `None` when nothing was staged.
    ///
    /// On a failed write nothing of them is stored: the keys they
    /// registered are forgotten and their points dropped.
    pub(super) fn commit(&mut self) -> Option<Commit> {
        if self.staged_seq == self.committed_seq {
            return None;
        }
        let batches = self.committed_seq + 1..=self.staged_seq;
        self.committed_seq = self.staged_seq;
        // Batches whose every sample the series limit refused leave nothing
        // to write.
        let written =
            if self.record.is_empty() { Ok(self.wal.lsn()) } else { self.wal.append(self.record.finish()) };
        self.record.clear();
        if written.is_err() {
            // Staged keys are exactly those past the last series.
            self.registry.truncate(self.series.len());
            self.staged_points.clear();
            return Some(Commit { batches, written });
        }
        self.series.resize_with(self.registry.len(), Series::default);
        let mut last_window = None;
        let bounds = self.bounds();
        for &(id, timestamp, value) in &self.staged_points {
            if self.series[id.index()].insert(timestamp, value, bounds) {
                self.points += 1;
            }
            if timestamp < bounds.chunks_from {
                self.late_points += 1;
            }
            note_write(&mut self.dirty, &mut self.newest_ts, &mut last_window, timestamp);
        }
        self.staged_points.clear();
        Some(Commit { batches, written })
    }

    /// Memory the series' points take, approximately.
    pub(super) fn points_heap_bytes(&self) -> usize {
        self.series.iter().map(Series::heap_bytes).sum::<usize>()
            + self.series.capacity() * std::mem::size_of::<Series>()
    }

    /// Measures whether the points take more than half of
    /// [`Options::memory_budget`], for [`State::wanted_resident_from`]: once
    /// per checkpoint, since it visits every series.
    pub(super) fn measure_pressure(&mut self, options: &Options) {
        self.over_budget = self.points_heap_bytes() > options.memory_budget / 2;
    }

    /// The first window memory should hold whole, given the newest point:
    /// the newest [`RESIDENT_WINDOWS`], or only the newest one while the
    /// points took more than half of [`Options::memory_budget`] when last
    /// measured (late points into the window before then wait in the
    /// overlays for a checkpoint).
    pub(super) fn wanted_resident_from(&self, options: &Options) -> Option<i64> {
        let newest = window_of(self.newest_ts.filter(|_| options.history_on_disk)?);
        Some(if self.over_budget { newest } else { newest - (RESIDENT_WINDOWS - 1) })
    }

    /// Where puts stand against memory and disk now.
    pub(super) fn bounds(&self) -> Bounds {
        let disk_before = self.disk.resident_start();
        Bounds { disk_before, chunks_from: self.chunks_from.saturating_mul(WINDOW_SECONDS).max(disk_before) }
    }

    /// The key of series `id`, if it holds points (keys registered by
    /// staged batches come after those, and are left out).
    pub(super) fn key(&self, id: usize) -> Option<&str> {
        self.registry.keys().get(id).filter(|_| id < self.series.len())
    }

    /// Phase 1 begins: a new log segment, the registry (its keys from
    /// number `known_keys` on, which the manifest in force does not name)
    /// and the set of changed windows as of this instant; `None` when
    /// nothing was written since the last checkpoint. The windows' contents
    /// are copied after, in batches (see [`State::copy_parts`]).
    pub(super) fn begin_snapshot(
        &mut self,
        options: &Options,
        known_keys: usize,
        unrolled: &[i64],
    ) -> Result<Option<Snapshot>> {
        // Windows about to leave memory whose files lack their rollups are
        // written again, with them.
        if let Some(wanted) = self.wanted_resident_from(options) {
            let leaving = self.disk.resident_from..wanted.max(self.chunks_from);
            self.dirty.extend(unrolled.iter().filter(|window| leaving.contains(window)));
        }
        if self.dirty.is_empty() && self.checkpointed_lsn == Some(self.wal.lsn()) {
            return Ok(None);
        }
        let wal_start = self.wal.rotate()?;
        self.late_points = 0;
        self.checkpointed_lsn = Some(self.wal.lsn());
        // The windows before the newest ones keep their chunks as this
        // checkpoint copies them, so that it can drop them from memory once
        // they are written, however many late puts come meanwhile.
        self.measure_pressure(options);
        if let Some(wanted) = self.wanted_resident_from(options) {
            self.chunks_from = self.chunks_from.max(wanted);
        }
        // The window before which what is kept for `seconds` goes.
        let from = |seconds: i64| self.newest_ts.map(|newest| window_of(newest.saturating_sub(seconds)));
        let tiers_from: Vec<Option<i64>> = match &options.storage_schemas {
            // Each series as its layout says.
            Some(schemas) => schemas.retentions().into_iter().map(from).collect(),
            None => crate::rollup::tier_retention(options.retention, &options.rollups)
                .into_iter()
                .map(|retention| {
                    retention
                        .and_then(|retention| from(i64::try_from(retention.as_secs()).unwrap_or(i64::MAX)))
                })
                .collect(),
        };
        let whole_windows_from = tiers_from.last().copied().flatten();
        // Measured again just now: the windows leaving may be more.
        let leaving = self.disk.resident_from..self.chunks_from;
        self.dirty.extend(unrolled.iter().filter(|window| leaving.contains(window)));
        let windows = std::mem::take(&mut self.dirty)
            .into_iter()
            .filter(|&window| whole_windows_from.is_none_or(|from| window >= from))
            .map(|window| (window, Vec::new()))
            .collect();
        Ok(Some(Snapshot {
            wal_start,
            newest_ts: self.newest_ts,
            key_count: self.series.len(),
            new_keys: self.registry.keys().slice(known_keys.min(self.series.len()), self.series.len()),
            tiers_from,
            per_layout: options.storage_schemas.is_some(),
            resident_from: self.disk.resident_from,
            evict_before: self.chunks_from,
            windows,
        }))
    }

    /// Phase 1 continues, for the series in `ids`: retention, folding, and
    /// a copy of their parts in the snapshot's windows.
    ///
    /// Writers run between batches, so a batch may copy points put after
    /// the snapshot began. That is harmless: those points are also in the
    /// log after `wal_start`, and replaying a put over a state that already
    /// holds it gives the same state, because a later put of the same key
    /// and timestamp is also later in the log.
    ///
    /// A window on disk gets only the points put into it since its file was
    /// written, which the checkpoint merges into a new file.
    pub(super) fn copy_parts(&mut self, snapshot: &mut Snapshot, ids: std::ops::Range<usize>) {
        let resident_from = self.disk.resident_from;
        let resident_start = self.disk.resident_start();
        for id in ids {
            let Some(series) = self.series.get_mut(id) else { break };
            if let Some(from) = snapshot.whole_windows_from() {
                let dropped = series.drop_before(from);
                self.points = self.points.saturating_sub(dropped);
            }
            if series.has_overlay(resident_start) {
                series.fold(resident_start);
            }
            for (&window, parts) in snapshot.windows.iter_mut() {
                if window < resident_from {
                    let start = window.saturating_mul(WINDOW_SECONDS);
                    let end = start.saturating_add(WINDOW_SECONDS);
                    let points = series.overlay_between(start.checked_sub(1), end);
                    if !points.is_empty() {
                        parts.push((id as u32, Part::Points(points)));
                    }
                } else {
                    parts.extend(series.parts_in(window).into_iter().map(|part| (id as u32, part)));
                }
            }
        }
    }
}

/// Marks the window of a written timestamp dirty and tracks the newest
/// timestamp; `last_window` skips the set lookup for runs in one window.
fn note_write(
    dirty: &mut BTreeSet<i64>,
    newest: &mut Option<i64>,
    last_window: &mut Option<i64>,
    timestamp: i64,
) {
    let window = window_of(timestamp);
    if *last_window != Some(window) {
        dirty.insert(window);
        *last_window = Some(window);
    }
    if newest.is_none_or(|n| timestamp > n) {
        *newest = Some(timestamp);
    }
}

/// What replay keeps track of besides the series.
pub(super) struct Replayed<'a> {
    pub(super) dirty: &'a mut BTreeSet<i64>,
    pub(super) newest: &'a mut Option<i64>,
    pub(super) points: &'a mut u64,
}

/// Applies one replayed record, all of it or (if it is inconsistent) none.
pub(super) fn replay(
    registry: &mut Registry,
    series: &mut Vec<Series>,
    replayed: &mut Replayed<'_>,
    bounds: Bounds,
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
    let mut last_window = None;
    for entry in Entries::new(payload).flatten() {
        match entry {
            Entry::Series { key, .. } => {
                registry.insert(key);
                series.push(Series::default());
            }
            Entry::Point { id, timestamp, value } => {
                if series[id as usize].insert(timestamp, value, bounds) {
                    *replayed.points += 1;
                }
                note_write(replayed.dirty, replayed.newest, &mut last_window, timestamp);
            }
        }
    }
    Ok(())
}
