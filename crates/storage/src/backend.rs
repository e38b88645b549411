//! The storage boundary: what a server needs from wherever its points live.
//!
//! [`Store`] (the embedded engine) is one [`Backend`]; the ClickHouse crate
//! provides the other, which keeps a local log and ships to a cluster. The
//! server holds an `Arc<dyn Backend>` and never knows which it has, so the
//! trait is object safe: visitors are `&mut dyn FnMut`.

use crate::error::Result;
use crate::{Keys, Sample, ScanCursor, Staged, Stats, Store, SyncMode};
use std::fmt;
use std::sync::Arc;

/// A batch staged by [`Backend::stage`], to ask [`Backend::outcome`] about.
#[derive(Debug)]
#[must_use = "a staged batch is stored only once a commit has taken it"]
pub struct Ticket {
    staged: Staged,
    /// The store that staged the batch, when the backend may replace its
    /// store before the caller asks (a front end's local log rotates): the
    /// ticket keeps it readable until then.
    store: Option<Arc<Store>>,
}

impl Ticket {
    /// A ticket for a batch staged in the backend's one store.
    pub fn new(staged: Staged) -> Ticket {
        Ticket { staged, store: None }
    }

    /// A ticket for a batch staged in `store`, which the ticket keeps alive.
    pub fn in_store(store: Arc<Store>, staged: Staged) -> Ticket {
        Ticket { staged, store: Some(store) }
    }

    /// The batch as its store staged it.
    pub fn staged(&self) -> &Staged {
        &self.staged
    }

    /// The store given to [`Ticket::in_store`].
    pub fn store(&self) -> Option<&Arc<Store>> {
        self.store.as_ref()
    }

    /// The indices of the samples refused by the series limit (see
    /// [`Staged::refused`]).
    pub fn refused(&self) -> &[u32] {
        self.staged.refused()
    }
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

    /// Whether the ticket's batch was stored; `None` until a commit took it.
    fn outcome(&self, ticket: &Ticket) -> Option<bool>;

    /// Whether a commit waits on something slow (a disk sync, a network):
    /// callers on an async runtime then move it off its workers.
    fn commits_wait(&self) -> bool;

    /// Whether reads wait on a network, as
    /// [`commits_wait`](Backend::commits_wait).
    fn reads_wait_on_network(&self) -> bool {
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
    /// A cluster fed by several front ends can learn of a key put earlier
    /// than one it already lists.
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
        Ticket::new(Store::stage(self, samples))
    }

    fn commit(&self) -> Result<()> {
        Store::commit(self)
    }

    fn outcome(&self, ticket: &Ticket) -> Option<bool> {
        match &ticket.store {
            Some(store) => store.outcome(&ticket.staged),
            None => Store::outcome(self, &ticket.staged),
        }
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
        Store::scan_some(self, keys, cursor, limit, visit);
        Ok(())
    }

    fn keys_from(&self, from: usize, limit: usize, visit: &mut dyn FnMut(u32, &str)) -> Result<usize> {
        Ok(Store::keys_from(self, from, limit, visit))
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
