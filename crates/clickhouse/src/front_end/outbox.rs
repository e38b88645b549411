//! Outboxes: the front end's local log, one embedded store per shipment.
//!
//! Puts go to the *active* outbox, an embedded [`Store`] in its own folder
//! (`active-<n>`), so that acknowledging them has exactly the embedded
//! engine's durability (its log, group commit and fsync policy, and its
//! recovery after a kill). The shipper *seals* the active outbox (a fresh
//! one takes the puts): it gets its version, the time of sealing, written
//! in its folder's new name (`outbox-<version>`); then it is sent to
//! ClickHouse and deleted. Every point of an outbox carries its version,
//! so sending it again after a crash writes the very same rows, and a
//! point's version is never older than the point (an idle outbox does not
//! make a later write look old).

use eardrum_storage::{Backend, Error, Keys, Options, ScanCursor, Store};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Folder names of sealed outboxes: `outbox-<version>`.
const SEALED: &str = "outbox-";
/// Folder names of active ones: `active-<number>`.
const ACTIVE: &str = "active-";
/// The version reads give the active outbox's points: above every sealed
/// one's, with room for key numbers above it.
const ACTIVE_VERSION: u64 = u64::MAX >> 1;

/// One outbox: a store, the version of all its points, and its folder.
#[derive(Debug, Clone)]
pub(crate) struct Outbox {
    pub(crate) version: u64,
    pub(crate) store: Arc<Store>,
    pub(crate) dir: PathBuf,
}

impl Outbox {
    /// Creates the active outbox number `number` under `parent`.
    pub(crate) fn create(parent: &Path, number: u64, options: &Options) -> eardrum_storage::Result<Outbox> {
        let dir = parent.join(format!("{ACTIVE}{number:020}"));
        let store = Arc::new(Store::open(&dir, outbox_options(options))?);
        Ok(Outbox { version: ACTIVE_VERSION, store, dir })
    }

    /// The outboxes an earlier run left under `parent`, oldest first, and
    /// the highest active number seen. Whatever they hold was acknowledged
    /// and may not have been shipped; empty ones are deleted. Active ones
    /// are returned unsealed: the caller seals them.
    pub(crate) fn reopen_all(
        parent: &Path,
        options: &Options,
    ) -> eardrum_storage::Result<(Vec<Outbox>, u64)> {
        let (mut sealed, mut active) = (Vec::new(), Vec::new());
        let entries = std::fs::read_dir(parent).map_err(Error::io("listing the outboxes", parent))?;
        for entry in entries {
            let entry = entry.map_err(Error::io("listing the outboxes", parent))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if let Some(version) = name.strip_prefix(SEALED).and_then(|v| v.parse::<u64>().ok()) {
                sealed.push((version, entry.path()));
            } else if let Some(number) = name.strip_prefix(ACTIVE).and_then(|n| n.parse::<u64>().ok()) {
                active.push((number, entry.path()));
            }
        }
        sealed.sort_unstable();
        active.sort_unstable();
        let last_number = active.last().map_or(0, |(number, _)| *number);
        let mut found = Vec::new();
        let all = sealed.into_iter().chain(active.into_iter().map(|(_, dir)| (ACTIVE_VERSION, dir)));
        for (version, dir) in all {
            let store = Arc::new(Store::open(&dir, outbox_options(options))?);
            let outbox = Outbox { version, store, dir };
            // A store holds points exactly when it holds keys; counting
            // keys lists no folders.
            match outbox.key_count() {
                0 => outbox.delete()?,
                _ => found.push(outbox),
            }
        }
        Ok((found, last_number))
    }

    /// Whether the outbox is sealed (has its version).
    pub(crate) fn is_sealed(&self) -> bool {
        self.version != ACTIVE_VERSION
    }

    /// The number of keys, which the outbox's first-seen times use up
    /// (see [`Outbox::first_seen`]).
    pub(crate) fn key_count(&self) -> u64 {
        self.store.keys_from(0, 0, |_, _| {}) as u64
    }

    /// When the key with local id `id` was first seen, for `get *`'s order:
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
    pub(crate) fn points_after(
        &self,
        key: &str,
        after: Option<i64>,
    ) -> eardrum_storage::Result<Vec<(i64, f64)>> {
        let mut points = Vec::new();
        let mut cursor = match after {
            None => ScanCursor::default(),
            Some(i64::MAX) => return Ok(points),
            Some(after) => ScanCursor::starting_at(after + 1),
        };
        self.store.scan_some(Keys::One(key), &mut cursor, usize::MAX, |_, timestamp, value| {
            points.push((timestamp, value));
        })?;
        Ok(points)
    }

    /// Seals the outbox with `version`: every batch staged in it is
    /// committed, its log synced and its background work stopped, and its
    /// folder renamed to carry the version. It takes no more puts.
    pub(crate) fn seal(&self, version: u64) -> eardrum_storage::Result<Outbox> {
        self.store.commit()?;
        Backend::close(&*self.store)?;
        let parent = self.dir.parent().unwrap_or(Path::new("."));
        let dir = parent.join(format!("{SEALED}{version:020}"));
        std::fs::rename(&self.dir, &dir).map_err(Error::io("sealing an outbox", &self.dir))?;
        std::fs::File::open(parent)
            .and_then(|p| p.sync_all())
            .map_err(Error::io("syncing folder", parent))?;
        Ok(Outbox { version, store: Arc::clone(&self.store), dir })
    }

    /// Bytes of the files in the outbox's subfolder `sub` (`wal`, `blocks`).
    pub(crate) fn disk_bytes(&self, sub: &str) -> u64 {
        let Ok(entries) = std::fs::read_dir(self.dir.join(sub)) else {
            return 0;
        };
        entries.flatten().filter_map(|e| e.metadata().ok()).filter(|m| m.is_file()).map(|m| m.len()).sum()
    }

    /// Deletes the outbox's folder, once ClickHouse holds its points.
    pub(crate) fn delete(self) -> eardrum_storage::Result<()> {
        let dir = self.dir.clone();
        drop(self);
        std::fs::remove_dir_all(&dir).map_err(Error::io("deleting a shipped outbox", &dir))
    }
}

/// An outbox is short-lived while ClickHouse is up; while it is down the
/// active one grows, and checkpoints keep its log (and the replay after a
/// restart) short, as in the embedded engine.
fn outbox_options(options: &Options) -> Options {
    // Sealing renames the folder while the store is still read: its points
    // stay in memory (an outbox holds what waits for shipping). ClickHouse
    // keeps the history: an outbox neither stores storage schemas' archives
    // nor lets their retentions take points that have not shipped.
    Options { checkpoint_on_close: false, history_on_disk: false, storage_schemas: None, ..options.clone() }
}
