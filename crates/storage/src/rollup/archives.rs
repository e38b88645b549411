//! Archives: the slots of a storage schema's layout (carbon's
//! `storage-schemas.conf` and `storage-aggregation.conf`) stored beside a
//! window's points, so that a chart of a long range reads the archive
//! whisper would read instead of every point.
//!
//! An archive's slots are made from the points as carbon and whisper make
//! them ([`Cascade`](eardrum_graphite::schema::Cascade)): the last write in
//! each slot of the finest archive, then each coarser archive's method over
//! the finer slots inside it, gated by the xFilesFactor. A window stores the archives after the
//! finest whose steps divide it (two hours), so each window's slots depend
//! on its points alone; the finest is read from the points, and a coarser
//! archive whose step the window does not divide (a day) is made when read
//! from the coarsest one stored.
//!
//! Each stored archive carries the fingerprint of what made it: the steps,
//! the method and the xFilesFactor. A layout changed since is not read
//! from slots another layout made; its slots are made from the points.

use super::encoding::{archive_body, decode_slots, encode_slots, LevelKind, Levels};
use crate::error::{Corruption, Error};
use crate::series::WINDOW_SECONDS;
use eardrum_graphite::schema::{Layout, StorageSchemas};
use std::sync::Arc;

/// A layout as a store keeps it: with the fingerprint its stored archives
/// carry.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ArchiveLayout {
    layout: Layout,
    fingerprint: u32,
}

impl ArchiveLayout {
    /// The archives of `layout`.
    pub(crate) fn new(layout: Layout) -> ArchiveLayout {
        let mut hasher = crc32fast::Hasher::new();
        for archive in &layout.archives {
            hasher.update(&archive.step.to_le_bytes());
        }
        hasher.update(format!("{:?}", layout.method).as_bytes());
        hasher.update(&layout.x_files_factor.to_bits().to_le_bytes());
        ArchiveLayout { fingerprint: hasher.finalize(), layout }
    }

    /// The layout.
    pub(crate) fn layout(&self) -> &Layout {
        &self.layout
    }

    /// What its stored archives are marked with.
    pub(crate) fn fingerprint(&self) -> u32 {
        self.fingerprint
    }

    /// The archives a window stores: their index and step.
    pub(crate) fn stored(&self) -> impl Iterator<Item = (usize, i64)> + '_ {
        self.layout
            .archives
            .iter()
            .enumerate()
            .skip(1)
            .map(|(index, archive)| (index, archive.step))
            .filter(|&(_, step)| step >= 1 && WINDOW_SECONDS % step == 0)
    }

    /// The finest archive (the points) and each archive windows store,
    /// finest first, with how long each must be kept: its retention, or
    /// that of the last coarser archive made from it when read (those up
    /// to the next one stored), whose values it decides.
    pub(crate) fn kept_for(&self) -> Vec<(i64, i64)> {
        let archives = &self.layout.archives;
        let stored = |index: usize| index == 0 || self.stored().any(|(at, _)| at == index);
        let mut kept: Vec<(i64, i64)> = Vec::new();
        for (index, archive) in archives.iter().enumerate() {
            match kept.last_mut() {
                Some(last) if !stored(index) => last.1 = last.1.max(archive.retention()),
                _ => kept.push((archive.step, archive.retention())),
            }
        }
        kept
    }

    /// Whether windows store any of its archives.
    pub(crate) fn stores_any(&self) -> bool {
        self.stored().next().is_some()
    }

    /// The coarsest archive at or before `index` that windows store, if
    /// any.
    pub(crate) fn stored_at_or_before(&self, index: usize) -> Option<(usize, i64)> {
        self.stored().take_while(|&(stored, _)| stored <= index).last()
    }
}

/// The error for an archive `layout` does not have.
pub(crate) fn no_archive(layout: &Layout, archive: usize) -> Error {
    let reason = format!("no archive {archive}: the layout has {}", layout.archives.len());
    Error::InvalidOptions { reason }
}

/// Folds a window's points (time order) through the layout and adds the
/// archives the window stores to `levels`; none when no point has a value.
pub(crate) fn encode(
    archives: &ArchiveLayout,
    points: impl Iterator<Item = (i64, f64)>,
    levels: &mut Levels,
) {
    let stored: Vec<(usize, i64)> = archives.stored().collect();
    let Some(&(coarsest, _)) = stored.last() else { return };
    let Some(mut cascade) = archives.layout.cascade_through(coarsest) else { return };
    let mut slots: Vec<(Vec<i64>, Vec<f64>)> = vec![(Vec::new(), Vec::new()); coarsest + 1];
    let mut keep = |level: usize, start: i64, value: f64| {
        if let Some((starts, values)) = slots.get_mut(level) {
            starts.push(start);
            values.push(value);
        }
    };
    for (timestamp, value) in points {
        cascade.push(timestamp, value, &mut keep);
    }
    cascade.finish(&mut keep);
    for (index, step) in stored {
        let (starts, values) = std::mem::take(&mut slots[index]);
        if starts.is_empty() {
            continue;
        }
        let mut body = archives.fingerprint.to_le_bytes().to_vec();
        encode_slots(step, &starts, &[values], &mut body);
        levels.push(LevelKind::Archive, step, body);
    }
}

/// The slots of the archive at `step` in `rollups` (as [`encode`] wrote
/// them for `window`), when the layout of `fingerprint` made them; `None`
/// when there are none, or another layout made them.
///
/// # Errors
///
/// [`Corruption`] when the encoding is damaged.
pub(crate) fn decode(
    rollups: &[u8],
    window: i64,
    step: i64,
    fingerprint: u32,
) -> Result<Option<Vec<(i64, f64)>>, Corruption> {
    let Some(body) = archive_body(rollups, step)? else { return Ok(None) };
    let (marked, slots) =
        body.split_at_checked(4).ok_or(Corruption::BadEntry { what: "archive fingerprint" })?;
    if marked != fingerprint.to_le_bytes() {
        return Ok(None);
    }
    let (starts, mut columns) = decode_slots(slots, window, step, 1)?;
    let values = columns.pop().unwrap_or_default();
    Ok(Some(starts.into_iter().zip(values).collect()))
}

/// Each series' layout, by id: those the store's schemas give their keys,
/// each distinct one kept once.
#[derive(Debug, Clone, Default)]
pub(crate) struct SeriesArchives {
    layouts: Vec<Arc<ArchiveLayout>>,
    /// An index into `layouts`, for the series with archives to store.
    by_id: Vec<Option<u16>>,
}

impl SeriesArchives {
    /// The layout of series `id`, if the schemas gave it one.
    pub(crate) fn of(&self, id: u32) -> Option<&ArchiveLayout> {
        let index = (*self.by_id.get(id as usize)?)?;
        self.layouts.get(usize::from(index)).map(|layout| &**layout)
    }

    /// How many series it has looked up.
    pub(crate) fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether no series has archives to store.
    pub(crate) fn stores_none(&self) -> bool {
        self.layouts.iter().all(|layout| !layout.stores_any())
    }

    /// Looks up the next series' `keys` in `schemas`.
    pub(crate) fn extend<'k>(&mut self, schemas: &StorageSchemas, keys: impl Iterator<Item = &'k str>) {
        for key in keys {
            let found = schemas.layout_for(key).map(ArchiveLayout::new);
            let index =
                found.and_then(|found| match self.layouts.iter().position(|known| **known == found) {
                    Some(index) => u16::try_from(index).ok(),
                    None => {
                        let index = u16::try_from(self.layouts.len()).ok()?;
                        self.layouts.push(Arc::new(found));
                        Some(index)
                    }
                });
            self.by_id.push(index);
        }
    }
}

/// How a checkpoint rolls up the runs it writes: at the store's rollup
/// steps, and into each series' archives.
#[derive(Debug, Clone, Default)]
pub(crate) struct Rolling {
    /// The rollup steps, finest first.
    pub(crate) steps: Vec<i64>,
    pub(crate) archives: Arc<SeriesArchives>,
}

impl Rolling {
    /// The rollups of series `id` made of its `points` in one window (time
    /// order), as a block file stores them: the levels from
    /// `steps[written_from]` on, and the archives its layout stores.
    pub(crate) fn encode(&self, id: u32, written_from: usize, points: &[(i64, f64)]) -> Vec<u8> {
        let mut levels = Levels::default();
        super::encode(&self.steps, written_from, points.iter().copied(), &mut levels);
        if let Some(archives) = self.archives.of(id) {
            encode(archives, points.iter().copied(), &mut levels);
        }
        let mut rollups = Vec::new();
        levels.write(&mut rollups);
        rollups
    }
}
