//! Outboxes: the front end's local log, one embedded store per shipment.
//!
//! Puts go to the *active* outbox, an embedded [`Store`] in its own folder,
//! so that acknowledging them has exactly the embedded engine's durability
//! (its log, group commit and fsync policy, and its recovery after a
//! kill). The shipper *seals* the active outbox (a fresh one takes the
//! puts), sends the sealed one to ClickHouse, and deletes it. Everything in
//! one outbox carries the outbox's version, written in its folder's name,
//! so sending it again after a crash writes the very same rows.

use eardrum_storage::{Backend, Keys, Options, ScanCursor, Store};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Folder names: `outbox-<version>`.
const PREFIX: &str = "outbox-";

/// One outbox: a store, the version of all its points, and its folder.
#[derive(Debug, Clone)]
pub(crate) struct Outbox {
    pub(crate) version: u64,
    pub(crate) store: Arc<Store>,
    pub(crate) dir: PathBuf,
}

impl Outbox {
    /// Opens (or creates) the outbox with `version` under `parent`.
    pub(crate) fn open(parent: &Path, version: u64, options: &Options) -> eardrum_storage::Result<Outbox> {
        let dir = parent.join(format!("{PREFIX}{version:020}"));
        let store = Arc::new(Store::open(&dir, outbox_options(options))?);
        Ok(Outbox { version, store, dir })
    }

    /// The outboxes left under `parent` by an earlier run, oldest first:
    /// whatever they hold was acknowledged and may not have been shipped.
    pub(crate) fn reopen_all(parent: &Path, options: &Options) -> eardrum_storage::Result<Vec<Outbox>> {
        let mut versions = Vec::new();
        let entries = std::fs::read_dir(parent).map_err(io_error("listing the outboxes", parent))?;
        for entry in entries {
            let entry = entry.map_err(io_error("listing the outboxes", parent))?;
            let name = entry.file_name();
            if let Some(version) = name.to_str().and_then(|n| n.strip_prefix(PREFIX)?.parse::<u64>().ok()) {
                versions.push(version);
            }
        }
        versions.sort_unstable();
        let mut found = Vec::new();
        for version in versions {
            let outbox = Outbox::open(parent, version, options)?;
            match outbox.store.stats().points {
                0 => outbox.delete()?,
                _ => found.push(outbox),
            }
        }
        Ok(found)
    }

    /// The number of keys, which the outbox's first-seen times use up
    /// (see [`Outbox::first_seen`]).
    pub(crate) fn key_count(&self) -> u64 {
        self.store.keys_from(0, 0, |_, _| {}) as u64
    }

    /// When the key with local id `id` was first put, for `get *`'s order:
    /// the outbox's version plus the key's place in it, so that keys first
    /// put in one outbox keep their order. The next outbox's version is
    /// above all of these.
    pub(crate) fn first_seen(&self, id: u32) -> u64 {
        self.version + u64::from(id)
    }

    /// Every key of the outbox with its first-seen time, in first-put order.
    pub(crate) fn keys(&self) -> Vec<(String, u64)> {
        let mut keys = Vec::new();
        self.store.keys_from(0, usize::MAX, |id, key| keys.push((key.to_owned(), self.first_seen(id))));
        keys
    }

    /// The points of `key` after `after`, ascending.
    pub(crate) fn points_after(&self, key: &str, after: Option<i64>) -> Vec<(i64, f64)> {
        let mut points = Vec::new();
        let mut cursor = match after {
            None => ScanCursor::default(),
            Some(i64::MAX) => return points,
            Some(after) => ScanCursor::starting_at(after + 1),
        };
        self.store.scan_some(Keys::One(key), &mut cursor, usize::MAX, |_, timestamp, value| {
            points.push((timestamp, value));
        });
        points
    }

    /// Stops the outbox's background work and syncs it: once sealed it
    /// takes no more puts.
    pub(crate) fn seal(&self) -> eardrum_storage::Result<()> {
        self.store.commit()?;
        Backend::close(&*self.store)
    }

    /// Deletes the outbox's folder, once ClickHouse holds its points.
    pub(crate) fn delete(self) -> eardrum_storage::Result<()> {
        let dir = self.dir.clone();
        drop(self);
        std::fs::remove_dir_all(&dir).map_err(io_error("deleting a shipped outbox", &dir))
    }
}

/// An outbox is short-lived while ClickHouse is up; while it is down the
/// active one grows, and checkpoints keep its log (and the replay after a
/// restart) short, as in the embedded engine.
fn outbox_options(options: &Options) -> Options {
    Options { checkpoint_on_close: false, ..options.clone() }
}

fn io_error(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> eardrum_storage::Error {
    let path = path.to_owned();
    move |source| eardrum_storage::Error::Io { action, path, source }
}
