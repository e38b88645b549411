//! Reading a series' rollups and archives: from the block files of
//! windows on disk, and made from the points of the windows in memory (or
//! of windows whose files predate them, or that have points put since),
//! with the same values either way.

use super::Store;
use crate::backend::whole_slots;
use crate::checkpoint::manifest::Window;
use crate::disk::{Disk, DiskView, WindowSlots};
use crate::error::{Error, Result};
use crate::rollup::{no_archive, Aggregate, ArchiveLayout, Roller};
use crate::series::{window_of, WINDOW_SECONDS};
use crate::Backend;
use eardrum_graphite::schema::{Cascade, Layout};
use std::sync::Arc;

/// A read of one series' slots, window by window: what it takes from the
/// slots a window's file stores, and how it makes slots of points.
trait SlotRead {
    /// What a window's file stores.
    type Slot;
    /// The slots window `number`'s files store for series `id`.
    fn stored(&self, disk: &Disk, number: i64, files: &Window, id: u32) -> Result<WindowSlots<Self::Slot>>;
    /// Hands on a window's stored slots that start from `from` before
    /// `until`, after every point before the window.
    fn take_stored(&mut self, slots: &[Self::Slot], from: i64, until: i64);
    /// One point, after those before it.
    fn point(&mut self, timestamp: i64, value: f64);
    /// Hands on the slots still open.
    fn finish(&mut self);
}

/// A read of rollups at the last of some steps.
struct AggregateRead<'r, 's> {
    step: i64,
    roller: Roller<'s>,
    visit: &'r mut dyn FnMut(i64, &Aggregate),
}

impl SlotRead for AggregateRead<'_, '_> {
    type Slot = (i64, Aggregate);

    fn stored(&self, disk: &Disk, number: i64, files: &Window, id: u32) -> Result<WindowSlots<Self::Slot>> {
        disk.rollups(number, files, id, self.step)
    }

    fn take_stored(&mut self, slots: &[Self::Slot], from: i64, until: i64) {
        // Slots never straddle windows: what the roller holds is done.
        self.roller.flush(self.visit);
        for (start, aggregate) in slots.iter().filter(|(start, _)| *start >= from && *start < until) {
            (self.visit)(*start, aggregate);
        }
    }

    fn point(&mut self, timestamp: i64, value: f64) {
        self.roller.push(timestamp, value, self.visit);
    }

    fn finish(&mut self) {
        self.roller.flush(self.visit);
    }
}

/// A read of one archive of a layout: from the coarsest archive at or
/// before it that windows store (through the cascade, when it is finer),
/// or from the points.
struct ArchiveRead<'r> {
    layout: ArchiveLayout,
    /// The archive read.
    archive: usize,
    /// The archive the windows' files give, and its step.
    stored: Option<(usize, i64)>,
    /// The archives up to the one read.
    cascade: Cascade,
    visit: &'r mut dyn FnMut(i64, f64),
}

impl SlotRead for ArchiveRead<'_> {
    type Slot = (i64, f64);

    fn stored(&self, disk: &Disk, number: i64, files: &Window, id: u32) -> Result<WindowSlots<Self::Slot>> {
        match self.stored {
            Some((_, step)) => disk.archive(number, files, id, step, self.layout.fingerprint()),
            None => Ok(WindowSlots::NotRolled),
        }
    }

    fn take_stored(&mut self, slots: &[Self::Slot], from: i64, until: i64) {
        let Some((level, _)) = self.stored else { return };
        let (archive, visit) = (self.archive, &mut *self.visit);
        let mut emit = |at: usize, start: i64, value: f64| {
            if at == archive {
                visit(start, value);
            }
        };
        // The stored archive's step and those finer divide the window:
        // their slots before it are done.
        self.cascade.close_through(level, &mut emit);
        for &(start, value) in slots.iter().filter(|(start, _)| *start >= from && *start < until) {
            self.cascade.push_closed(level, start, value, &mut emit);
        }
    }

    fn point(&mut self, timestamp: i64, value: f64) {
        let (archive, visit) = (self.archive, &mut *self.visit);
        self.cascade.push(timestamp, value, &mut |at, start, value| {
            if at == archive {
                visit(start, value);
            }
        });
    }

    fn finish(&mut self) {
        let (archive, visit) = (self.archive, &mut *self.visit);
        self.cascade.finish(&mut |at, start, value| {
            if at == archive {
                visit(start, value);
            }
        });
    }
}

impl Store {
    /// The steps [`Store::rollups`] reads at: those of
    /// [`Options::rollups`](crate::Options::rollups).
    pub fn rollup_steps(&self) -> &[i64] {
        &self.shared.rollup_steps
    }

    /// Calls `visit(slot_start, aggregate)` for the slots of `step` seconds
    /// (one of [`Store::rollup_steps`]) of series `key` that hold points,
    /// in time order: whole slots, from the one holding `from` through the
    /// one holding `until - 1`. A window on disk is read from the rollups
    /// its checkpoint wrote, unless points were put into it since; every
    /// other window is rolled up from its points, as
    /// [`Roller`] through the steps up to `step` does. So the answer is the
    /// same wherever the points are.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidOptions`] for a step the store does not roll up at;
    /// otherwise as [`Store::scan_some`]: the slots visited before an error
    /// stay visited.
    pub fn rollups(
        &self,
        key: &str,
        step: i64,
        from: i64,
        until: i64,
        mut visit: impl FnMut(i64, &Aggregate),
    ) -> Result<()> {
        let all_steps = self.rollup_steps();
        let Some(level) = all_steps.iter().position(|&rolled| rolled == step) else {
            let reason = format!("no rollups at {step}s: the store rolls up at {all_steps:?} seconds");
            return Err(Error::InvalidOptions { reason });
        };
        let mut read = AggregateRead { step, roller: Roller::new(&all_steps[..=level]), visit: &mut visit };
        self.read_slots(key, step, from, until, &mut read)
    }

    /// Calls `visit(slot_start, value)` for the slots of archive `archive`
    /// of `layout` (an index into its archives) of series `key` that have
    /// a value, in time order: whole slots, from the one holding `from`
    /// through the one holding `until - 1`. The values are what whisper
    /// would hold had carbon written each point in turn (see
    /// [`Cascade`]): read from the archive a checkpoint stored where it
    /// can be (the store's
    /// [`Options::storage_schemas`](crate::Options::storage_schemas) gave
    /// the key this layout), made from the points elsewhere.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidOptions`] for an archive the layout does not have;
    /// otherwise as [`Store::scan_some`].
    pub fn archive(
        &self,
        key: &str,
        layout: &Layout,
        archive: usize,
        from: i64,
        until: i64,
        mut visit: impl FnMut(i64, f64),
    ) -> Result<()> {
        let cascade = layout.cascade_through(archive).ok_or_else(|| no_archive(layout, archive))?;
        let step = cascade.steps()[archive];
        let layout = ArchiveLayout::new(layout.clone());
        let stored = layout.stored_at_or_before(archive);
        let mut read = ArchiveRead { layout, archive, stored, cascade, visit: &mut visit };
        self.read_slots(key, step, from, until, &mut read)
    }

    /// Reads whole slots of `step` of series `key` from the one holding
    /// `from` through the one holding `until - 1` with `read`.
    fn read_slots<S>(
        &self,
        key: &str,
        step: i64,
        from: i64,
        until: i64,
        read: &mut dyn SlotRead<Slot = S>,
    ) -> Result<()> {
        let (from, until) = whole_slots(step, from, until);
        // The first second not yet read.
        let mut next = from;
        while next < until {
            let state = self.shared.state.lock();
            // A key only staged so far has no points yet.
            let Some(id) = state.registry.id(key).filter(|id| id.index() < state.series.len()) else {
                return Ok(());
            };
            let view = Arc::clone(&state.disk);
            let on_disk_until = until.min(view.resident_start());
            if next >= on_disk_until {
                break;
            }
            let overlay = state.series[id.index()].overlay_between(next.checked_sub(1), on_disk_until);
            drop(state);
            let windows = OnDisk { view: &view, id: id.0, overlay: &overlay };
            match self.read_on_disk(&windows, &mut next, on_disk_until, read) {
                Ok(()) => next = on_disk_until,
                // A checkpoint replaced a file meanwhile: read on from the
                // view it left.
                Err(Error::Io { source, .. })
                    if source.kind() == std::io::ErrorKind::NotFound
                        && !Arc::ptr_eq(&self.shared.state.lock().disk, &view) => {}
                Err(error) => return Err(error),
            }
        }
        // The windows in memory (and any a checkpoint moved to disk since,
        // which the scan reads from their points).
        if next < until {
            Backend::scan_between(self, key, next, until, &mut |timestamp, value| {
                read.point(timestamp, value)
            })?;
        }
        read.finish();
        Ok(())
    }

    /// The slots of the windows on disk from `next` before `until`, moving
    /// `next` past each window done.
    fn read_on_disk<S>(
        &self,
        windows: &OnDisk<'_>,
        next: &mut i64,
        until: i64,
        read: &mut dyn SlotRead<Slot = S>,
    ) -> Result<()> {
        let disk = &self.shared.disk;
        let mut points = Vec::new();
        // The windows with files or points put since, not every window of
        // a range that may span ages.
        let (first, last) = (window_of(*next), window_of(until - 1));
        let mut numbers: Vec<i64> =
            windows.view.windows.range(first..=last).map(|(&number, _)| number).collect();
        if !windows.overlay.is_empty() {
            numbers.extend(windows.overlay.iter().map(|&(t, _)| window_of(t)));
            numbers.sort_unstable();
            numbers.dedup();
        }
        for number in numbers {
            let window_start = number.saturating_mul(WINDOW_SECONDS);
            let window_end = window_start.saturating_add(WINDOW_SECONDS);
            let overlay_from = windows.overlay.partition_point(|&(t, _)| t < window_start);
            let overlay_to = windows.overlay.partition_point(|&(t, _)| t < window_end);
            let overlay = &windows.overlay[overlay_from..overlay_to];
            let files = windows.view.windows.get(&number);
            if overlay.is_empty() {
                let stored = match files {
                    Some(files) => read.stored(disk, number, files, windows.id)?,
                    None => WindowSlots::Absent,
                };
                match stored {
                    WindowSlots::Absent => {
                        *next = window_end;
                        continue;
                    }
                    WindowSlots::Stored(slots) => {
                        read.take_stored(&slots, *next, until);
                        *next = window_end;
                        continue;
                    }
                    WindowSlots::NotRolled => {}
                }
            }
            points.clear();
            disk.window_points(number, files, windows.id, overlay, &mut points)?;
            for &(timestamp, value) in points.iter().filter(|&&(t, _)| t >= *next && t < until) {
                read.point(timestamp, value);
            }
            *next = window_end;
        }
        Ok(())
    }
}

/// One series' windows in a view.
struct OnDisk<'a> {
    view: &'a DiskView,
    id: u32,
    /// The points put into those windows since their files were written.
    overlay: &'a [(i64, f64)],
}
