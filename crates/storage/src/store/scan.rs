//! Reading the store: its keys in first-put order, and scans of its series
//! that resume where they stopped.

use super::state::State;
use super::Store;
use crate::disk::SeriesRead;
use crate::error::{Error, Result};
use crate::registry::SeriesId;
use crate::value::Value;
use std::any::Any;
use std::sync::Arc;

/// Which series [`Store::scan`] visits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keys<'a> {
    /// Every series, in the order their keys were first put.
    All,
    /// The one series with this key, if it exists.
    One(&'a str),
}

/// Where a [`Store::scan_some`] (or a [`Backend`](crate::Backend)'s
/// `scan_some`) resumes: for the store, the series and the last timestamp
/// visited in it; another backend keeps its own place in the cursor
/// ([`ScanCursor::set_place`]), opaque here.
#[derive(Debug, Default)]
pub struct ScanCursor {
    position: usize,
    after: Option<i64>,
    done: bool,
    place: Option<Box<dyn Any + Send + Sync>>,
}

impl ScanCursor {
    /// A cursor whose scan starts at `timestamp` (in the first series it
    /// visits): for reading one series from a time on, skipping its older
    /// chunks without decoding them.
    pub fn starting_at(timestamp: i64) -> ScanCursor {
        ScanCursor { after: timestamp.checked_sub(1), ..ScanCursor::default() }
    }

    /// Whether the scan has visited everything.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// The timestamp the scan resumes after in its current series: the
    /// last visited, or the one before [`ScanCursor::starting_at`]'s.
    pub fn after(&self) -> Option<i64> {
        self.after
    }

    /// Marks the scan complete.
    pub fn finish(&mut self) {
        self.done = true;
    }

    /// The place a backend recorded with [`ScanCursor::set_place`], if it
    /// is a `T`.
    pub fn place<T: Any>(&self) -> Option<&T> {
        self.place.as_deref()?.downcast_ref()
    }

    /// Mutably, as [`ScanCursor::place`].
    pub fn place_mut<T: Any>(&mut self) -> Option<&mut T> {
        self.place.as_deref_mut()?.downcast_mut()
    }

    /// Records where a backend's scan is, in the backend's own terms.
    pub fn set_place<T: Any + Send + Sync>(&mut self, place: T) {
        self.place = Some(Box::new(place));
    }
}

impl Store {
    /// Calls `visit(id, key)` for up to `limit` series from id `from` on, in
    /// first-put order (ids count from 0 in that order); returns how many
    /// series the store holds. For indexes that follow the store's keys,
    /// such as [`NameIndex`](crate::names::NameIndex).
    pub fn keys_from(&self, from: usize, limit: usize, mut visit: impl FnMut(u32, &str)) -> usize {
        let state = self.shared.state.lock();
        let held = state.series.len();
        for id in from..held.min(from.saturating_add(limit)) {
            if let Some(key) = state.key(id) {
                visit(id as u32, key);
            }
        }
        held
    }

    /// Calls `visit(key, timestamp, value)` for every point of the selected
    /// series: series in first-put order, points in ascending timestamp
    /// order. Writers may wait while this runs; for large reads use
    /// [`Store::scan_some`].
    ///
    /// # Errors
    ///
    /// As [`Store::scan_some`].
    pub fn scan(&self, keys: Keys<'_>, mut visit: impl FnMut(&str, i64, f64)) -> Result<()> {
        let mut cursor = ScanCursor::default();
        while !cursor.is_done() {
            self.scan_some(keys, &mut cursor, usize::MAX, &mut visit)?;
        }
        Ok(())
    }

    /// Visits up to `limit` points of the selected series from `cursor` on,
    /// as [`Store::scan`] would, and moves the cursor past them; repeat
    /// until [`ScanCursor::is_done`]. Windows in memory are read under the
    /// store's lock, held for one call only; windows on disk are read
    /// without it. So writers proceed between calls and a long read streams
    /// in bounded memory. Points put meanwhile may or may not be visited;
    /// none is visited twice and each series stays in timestamp order.
    ///
    /// # Errors
    ///
    /// [`Error::CorruptFile`] when a block file
    /// read back is damaged, and I/O errors reading one; the points visited
    /// before stay visited, and the cursor is past them.
    pub fn scan_some(
        &self,
        keys: Keys<'_>,
        cursor: &mut ScanCursor,
        limit: usize,
        mut visit: impl FnMut(&str, i64, f64),
    ) -> Result<()> {
        self.scan_values(keys, cursor, limit, |key, timestamp, value| visit(key, timestamp, value.as_f64()))
    }

    /// [`Store::scan_some`], each value with the decimal it was stored as
    /// when its chunk holds decimals (see [`Value`]).
    ///
    /// # Errors
    ///
    /// As [`Store::scan_some`].
    pub fn scan_values(
        &self,
        keys: Keys<'_>,
        cursor: &mut ScanCursor,
        limit: usize,
        mut visit: impl FnMut(&str, i64, Value),
    ) -> Result<()> {
        let mut budget = limit;
        // A whole-store scan reads each run once: it does not keep them,
        // so that it does not push out what other reads keep coming back to.
        let keep = matches!(keys, Keys::One(_));
        while !cursor.done && budget > 0 {
            let state = self.shared.state.lock();
            let Some(id) = series_at(&state, keys, cursor) else {
                cursor.done = true;
                break;
            };
            let key = state.key(id.index()).unwrap_or_default();
            let resident_start = state.disk.resident_start();
            if resident_start > i64::MIN && cursor.after.is_none_or(|after| after < resident_start - 1) {
                // Windows on disk first, read without the lock from the view
                // and the points put over it as of this instant. The next
                // turn reads memory, or the windows a checkpoint moved to
                // disk meanwhile.
                let view = Arc::clone(&state.disk);
                let overlay = state.series[id.index()].overlay_between(cursor.after, resident_start);
                let key = key.to_owned();
                drop(state);
                let (mut last, mut visited) = (cursor.after, 0);
                let read =
                    SeriesRead { id: id.0, after: cursor.after, limit: budget, overlay: &overlay, keep };
                let read = self.shared.disk.scan(&view, &read, |t, v| {
                    visit(&key, t, v);
                    last = Some(t);
                    visited += 1;
                });
                cursor.after = last;
                budget -= visited;
                match read {
                    // Fewer than asked: the windows on disk are done.
                    Ok(_) if budget > 0 => cursor.after = Some(resident_start - 1),
                    Ok(_) => {}
                    // Two checkpoints replaced the file meanwhile: read on
                    // from the view they left.
                    Err(Error::Io { source, .. })
                        if source.kind() == std::io::ErrorKind::NotFound
                            && !Arc::ptr_eq(&self.shared.state.lock().disk, &view) => {}
                    Err(error) => return Err(error),
                }
                continue;
            }
            let mut last = cursor.after;
            let visited = state.series[id.index()].scan(cursor.after, budget, |timestamp, value| {
                visit(key, timestamp, value);
                last = Some(timestamp);
            });
            if visited == budget {
                cursor.after = last;
                return Ok(());
            }
            budget -= visited;
            cursor.position += 1;
            cursor.after = None;
        }
        Ok(())
    }
}

/// The series a scan is at, if any is left.
fn series_at(state: &State, keys: Keys<'_>, cursor: &ScanCursor) -> Option<SeriesId> {
    let id = match keys {
        Keys::One(key) => state.registry.id(key).filter(|_| cursor.position == 0)?,
        Keys::All => SeriesId(u32::try_from(cursor.position).ok()?),
    };
    state.key(id.index()).map(|_| id)
}
