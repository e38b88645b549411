//! Reading a series' rollups: from the block files of windows on disk, and
//! rolled up from the points of the windows in memory (or of windows whose
//! files predate rollups, or that have points put since), with the same
//! values either way.

use super::Store;
use crate::disk::{DiskView, WindowRollups};
use crate::error::{Error, Result};
use crate::rollup::{Aggregate, Roller};
use crate::series::{window_of, WINDOW_SECONDS};
use crate::{Keys, ScanCursor};
use std::sync::Arc;

/// Points read per hold of the store's lock from the windows in memory.
const SCAN_BATCH: usize = 4096;

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
        let steps = &all_steps[..=level];
        let from = from.saturating_sub(from.rem_euclid(step));
        let until = match until.rem_euclid(step) {
            0 => until,
            into => until.saturating_add(step - into),
        };
        let mut roller = Roller::new(steps);
        // The first second not yet rolled up.
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
            let read = OnDisk { view: &view, id: id.0, overlay: &overlay, step };
            match self.rollups_on_disk(&read, &mut next, on_disk_until, &mut roller, &mut visit) {
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
        let mut cursor = ScanCursor::starting_at(next);
        let mut past_until = next >= until;
        while !cursor.is_done() && !past_until {
            self.scan_some(Keys::One(key), &mut cursor, SCAN_BATCH, |_, timestamp, value| {
                if timestamp >= until {
                    past_until = true;
                } else {
                    roller.push(timestamp, value, &mut visit);
                }
            })?;
        }
        roller.flush(&mut visit);
        Ok(())
    }

    /// The slots of the windows on disk from `next` before `until`, moving
    /// `next` past each window done.
    fn rollups_on_disk(
        &self,
        read: &OnDisk<'_>,
        next: &mut i64,
        until: i64,
        roller: &mut Roller<'_>,
        visit: &mut dyn FnMut(i64, &Aggregate),
    ) -> Result<()> {
        let disk = &self.shared.disk;
        let mut points = Vec::new();
        // The windows with files or points put since, not every window of
        // a range that may span ages.
        let (first, last) = (window_of(*next), window_of(until - 1));
        let mut numbers: Vec<i64> =
            read.view.windows.range(first..=last).map(|(&number, _)| number).collect();
        if !read.overlay.is_empty() {
            numbers.extend(read.overlay.iter().map(|&(t, _)| window_of(t)));
            numbers.sort_unstable();
            numbers.dedup();
        }
        for number in numbers {
            let window_start = number.saturating_mul(WINDOW_SECONDS);
            let window_end = window_start.saturating_add(WINDOW_SECONDS);
            let overlay_from = read.overlay.partition_point(|&(t, _)| t < window_start);
            let overlay_to = read.overlay.partition_point(|&(t, _)| t < window_end);
            let overlay = &read.overlay[overlay_from..overlay_to];
            let files = read.view.windows.get(&number);
            if overlay.is_empty() {
                let stored = match files {
                    Some(files) => disk.rollups(number, files, read.id, read.step)?,
                    None => WindowRollups::Absent,
                };
                match stored {
                    WindowRollups::Absent => {
                        *next = window_end;
                        continue;
                    }
                    WindowRollups::Stored(slots) => {
                        // Slots never straddle windows: what the roller
                        // holds is done.
                        roller.flush(visit);
                        for (start, aggregate) in
                            slots.iter().filter(|(start, _)| *start >= *next && *start < until)
                        {
                            visit(*start, aggregate);
                        }
                        *next = window_end;
                        continue;
                    }
                    WindowRollups::NotRolled => {}
                }
            }
            points.clear();
            disk.window_points(number, files, read.id, overlay, &mut points)?;
            for &(timestamp, value) in points.iter().filter(|&&(t, _)| t >= *next && t < until) {
                roller.push(timestamp, value, visit);
            }
            *next = window_end;
        }
        Ok(())
    }
}

/// A read of one series' rollups from the windows of a view.
struct OnDisk<'a> {
    view: &'a DiskView,
    id: u32,
    /// The points put into those windows since their files were written.
    overlay: &'a [(i64, f64)],
    step: i64,
}
