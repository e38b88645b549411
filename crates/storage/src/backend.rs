//! The storage boundary: what a server needs from wherever its points live.
//!
//! [`Store`] (the embedded engine) is one [`Backend`]; the ClickHouse crate
//! provides the other, which keeps a local log and ships to a cluster. The
//! server holds an `Arc<dyn Backend>` and never knows which it has, so the
//! trait is object safe: visitors are `&mut dyn FnMut`.

use crate::error::{Error, Result};
use crate::rollup::{no_archive, Aggregate, Roller};
use crate::{Keys, Sample, ScanCursor, Stats, Store, SyncMode, Value};
use eardrum_graphite::schema::Layout;
use std::any::Any;
use std::fmt;
use std::sync::Arc;

/// Points [`Backend::scan_between`] reads per call of
/// [`Backend::scan_some`] (per hold of the embedded store's lock).
const SCAN_BATCH_POINTS: usize = 4096;

/// `from..until` widened to whole slots of `step`: from the start of the
/// slot holding `from` to the end of the one holding `until - 1`.
pub(crate) fn whole_slots(step: i64, from: i64, until: i64) -> (i64, i64) {
    let from = from.saturating_sub(from.rem_euclid(step));
    let until = match until.rem_euclid(step) {
        0 => until,
        into => until.saturating_add(step - into),
    };
    (from, until)
}

/// A batch staged by [`Backend::stage`] (or [`Store::stage`]), to ask
/// what became of it.
///
/// It carries the backend's number for the batch, the samples the series
/// limit refused, and whatever else the backend needs kept until it
/// answers ([`Ticket::with_state`]): opaque here, each backend's own.
#[derive(Debug)]
#[must_use = "a staged batch is stored only once a commit has taken it"]
pub struct Ticket {
    batch: u64,
    refused: Vec<u32>,
    state: Option<Arc<dyn Any + Send + Sync>>,
}

impl Ticket {
    /// Batch number `batch` (the backend's own numbering), with the
    /// indices of the samples refused by the series limit, ascending.
    pub fn new(batch: u64, refused: Vec<u32>) -> Ticket {
        Ticket { batch, refused, state: None }
    }

    /// The ticket keeping `state` until it is dropped: for a backend that
    /// must find the batch again where it staged it.
    pub fn with_state(self, state: Arc<dyn Any + Send + Sync>) -> Ticket {
        Ticket { state: Some(state), ..self }
    }

    /// The backend's number for the batch.
    pub fn batch(&self) -> u64 {
        self.batch
    }

    /// The state given to [`Ticket::with_state`], if it is a `T`.
    pub fn state<T: Any>(&self) -> Option<&T> {
        self.state.as_deref()?.downcast_ref()
    }

    /// The indices, ascending, of the batch's samples that were refused
    /// because their keys would have created a series beyond the series
    /// limit; they are not stored whatever the outcome. Empty (and not
    /// allocated) when every sample was taken.
    pub fn refused(&self) -> &[u32] {
        &self.refused
    }
}

/// What became of a staged batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// No commit has taken it yet.
    Pending,
    /// Stored, as durably as the backend promises.
    Stored,
    /// A commit took it and failed: it is not stored.
    Failed,
}

/// Where a server's points live.
///
/// Writes follow [`Store`]'s group commit: every connection stages its
/// batch, one of them commits for all, and each learns its batch's outcome.
/// An acknowledged batch must survive the process being killed, and a
/// power loss as its fsync policy ([`SyncMode`]) says. Reads see every acknowledged
/// point, series in first-put order and each series' points ascending with
/// one value per timestamp (the last written).
pub trait Backend: Send + Sync + fmt::Debug + 'static {
    /// Takes a batch for the next [`Backend::commit`].
    fn stage(&self, samples: &[Sample<'_>]) -> Ticket;

    /// Stores every staged batch, as durably as the backend promises.
    ///
    /// # Errors
    ///
    /// Why the staged batches were not stored; their outcomes say so too.
    fn commit(&self) -> Result<()>;

    /// What became of the ticket's batch.
    fn outcome(&self, ticket: &Ticket) -> Outcome;

    /// Whether a commit waits on something slow (a disk sync, a network):
    /// callers on an async runtime then move it off its workers.
    fn commits_wait(&self) -> bool;

    /// Whether a read waits on something slow, as
    /// [`commits_wait`](Backend::commits_wait) says of commits.
    fn reads_wait(&self) -> bool {
        false
    }

    /// Visits about `limit` points of the selected series from `cursor` on,
    /// as [`Store::scan_some`] does, and moves the cursor past them: repeat
    /// until [`ScanCursor::is_done`]. A backend over a network may visit
    /// more per call to save round trips.
    ///
    /// # Errors
    ///
    /// When the points cannot be read (a remote backend is unreachable);
    /// what was visited before the error stands.
    fn scan_some(
        &self,
        keys: Keys<'_>,
        cursor: &mut ScanCursor,
        limit: usize,
        visit: &mut dyn FnMut(&str, i64, f64),
    ) -> Result<()>;

    /// [`Backend::scan_some`], each value with the decimal it was stored
    /// as when the backend has it (see [`Value`]): for readers that print
    /// values. By default, the values alone.
    ///
    /// # Errors
    ///
    /// As [`Backend::scan_some`].
    fn scan_values(
        &self,
        keys: Keys<'_>,
        cursor: &mut ScanCursor,
        limit: usize,
        visit: &mut dyn FnMut(&str, i64, Value),
    ) -> Result<()> {
        self.scan_some(keys, cursor, limit, &mut |key, timestamp, value| {
            visit(key, timestamp, Value::new(value))
        })
    }

    /// Calls `each(timestamp, value)` for every point of series `key` from
    /// `from` before `until`, in time order: [`Backend::scan_some`] a
    /// batch at a time from `from` on (older chunks are skipped
    /// undecoded), up to the batch that passes `until`.
    ///
    /// # Errors
    ///
    /// As [`Backend::scan_some`].
    fn scan_between(&self, key: &str, from: i64, until: i64, each: &mut dyn FnMut(i64, f64)) -> Result<()> {
        let mut cursor = ScanCursor::starting_at(from);
        let mut past_until = false;
        while !cursor.is_done() && !past_until {
            self.scan_some(Keys::One(key), &mut cursor, SCAN_BATCH_POINTS, &mut |_, timestamp, value| {
                if timestamp >= until {
                    past_until = true;
                } else if timestamp >= from {
                    each(timestamp, value);
                }
            })?;
        }
        Ok(())
    }

    /// The steps, in seconds, at which [`Backend::rollups`] reads stored
    /// aggregates rather than every point, finest first; none by default.
    fn rollup_steps(&self) -> &[i64] {
        &[]
    }

    /// Calls `visit(slot_start, aggregate)` for each slot of `step`
    /// seconds of series `key` that holds points, in time order, from the
    /// slot holding `from` through the one holding `until - 1` (see
    /// [`Store::rollups`]). By default, rolled up from every point; a
    /// backend with stored rollups reads them at its
    /// [`Backend::rollup_steps`].
    ///
    /// # Errors
    ///
    /// As [`Backend::scan_some`], and [`Error::InvalidOptions`] for a step
    /// the backend cannot roll up at.
    fn rollups(
        &self,
        key: &str,
        step: i64,
        from: i64,
        until: i64,
        visit: &mut dyn FnMut(i64, &Aggregate),
    ) -> Result<()> {
        if step < 1 {
            return Err(Error::InvalidOptions { reason: format!("rollup step {step}s: at least 1 s") });
        }
        let steps = [step];
        let mut roller = Roller::new(&steps);
        let (from, until) = whole_slots(step, from, until);
        self.scan_between(key, from, until, &mut |timestamp, value| roller.push(timestamp, value, visit))?;
        roller.flush(visit);
        Ok(())
    }

    /// Calls `visit(slot_start, value)` for each slot of archive `archive`
    /// of `layout` (an index into its archives) of series `key` that has a
    /// value, in time order, from the slot holding `from` through the one
    /// holding `until - 1`: what whisper would hold (see
    /// [`Store::archive`]). By default, made from every point; a backend
    /// that stores archives reads them.
    ///
    /// # Errors
    ///
    /// As [`Backend::scan_some`], and [`Error::InvalidOptions`] for an
    /// archive the layout does not have.
    fn archive(
        &self,
        key: &str,
        layout: &Layout,
        archive: usize,
        from: i64,
        until: i64,
        visit: &mut dyn FnMut(i64, f64),
    ) -> Result<()> {
        let mut cascade = layout.cascade_through(archive).ok_or_else(|| no_archive(layout, archive))?;
        let step = cascade.steps()[archive];
        let mut emit = |at: usize, start: i64, value: f64| {
            if at == archive {
                visit(start, value);
            }
        };
        let (from, until) = whole_slots(step, from, until);
        self.scan_between(key, from, until, &mut |timestamp, value| {
            cascade.push(timestamp, value, &mut emit)
        })?;
        cascade.finish(&mut emit);
        Ok(())
    }

    /// Calls `visit` with up to `limit` keys from position `from` on, in
    /// first-put order, numbered from 0 in that order; returns how many
    /// series there are.
    ///
    /// # Errors
    ///
    /// When the keys cannot be read.
    fn keys_from(&self, from: usize, limit: usize, visit: &mut dyn FnMut(u32, &str)) -> Result<usize>;

    /// Whether a key keeps its [`Backend::keys_from`] position for good,
    /// new keys only ever coming after the last, so that an index can
    /// follow the keys by position ([`NameIndex`](crate::names::NameIndex)).
    /// A backend that learns of keys from elsewhere may list one before
    /// keys it already listed.
    fn key_positions_stable(&self) -> bool {
        true
    }

    /// Sizes and counters right now.
    fn stats(&self) -> Stats;

    /// Where the points live, for logs: a data folder, a ClickHouse URL.
    fn describe(&self) -> String;

    /// Syncs everything acknowledged to disk and stops background work; a
    /// server calls it last.
    ///
    /// # Errors
    ///
    /// The final sync's error.
    fn close(&self) -> Result<()>;
}

impl Backend for Store {
    fn stage(&self, samples: &[Sample<'_>]) -> Ticket {
        Store::stage(self, samples)
    }

    fn commit(&self) -> Result<()> {
        Store::commit(self)
    }

    fn outcome(&self, ticket: &Ticket) -> Outcome {
        Store::outcome(self, ticket)
    }

    fn commits_wait(&self) -> bool {
        // With `Always` every commit syncs the log.
        self.sync_mode() == SyncMode::Always
    }

    fn scan_some(
        &self,
        keys: Keys<'_>,
        cursor: &mut ScanCursor,
        limit: usize,
        visit: &mut dyn FnMut(&str, i64, f64),
    ) -> Result<()> {
        Store::scan_some(self, keys, cursor, limit, visit)
    }

    fn scan_values(
        &self,
        keys: Keys<'_>,
        cursor: &mut ScanCursor,
        limit: usize,
        visit: &mut dyn FnMut(&str, i64, Value),
    ) -> Result<()> {
        Store::scan_values(self, keys, cursor, limit, visit)
    }

    fn keys_from(&self, from: usize, limit: usize, visit: &mut dyn FnMut(u32, &str)) -> Result<usize> {
        Ok(Store::keys_from(self, from, limit, visit))
    }

    fn rollup_steps(&self) -> &[i64] {
        Store::rollup_steps(self)
    }

    fn rollups(
        &self,
        key: &str,
        step: i64,
        from: i64,
        until: i64,
        visit: &mut dyn FnMut(i64, &Aggregate),
    ) -> Result<()> {
        Store::rollups(self, key, step, from, until, visit)
    }

    fn archive(
        &self,
        key: &str,
        layout: &Layout,
        archive: usize,
        from: i64,
        until: i64,
        visit: &mut dyn FnMut(i64, f64),
    ) -> Result<()> {
        Store::archive(self, key, layout, archive, from, until, visit)
    }

    fn stats(&self) -> Stats {
        Store::stats(self)
    }

    fn describe(&self) -> String {
        format!("data folder {}", self.dir().display())
    }

    fn close(&self) -> Result<()> {
        self.shut_down()
    }
}
