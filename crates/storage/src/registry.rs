//! The series registry: one id per key, handed out in first-put order.

use std::collections::HashMap;
use std::sync::Arc;

/// A series' id: its position in first-put order, stable for the life of the
/// data folder (the log records it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeriesId(pub u32);

impl SeriesId {
    /// The id as an index into per-series tables.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// Maps keys to ids and ids back to keys, remembering the order keys first
/// appeared, which is the order `get *` answers in.
///
/// Every put looks its key up here, so the map uses aHash: several times
/// faster than std's SipHash on short keys, and still keyed randomly per
/// process, so clients cannot aim collisions at it.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    ids: HashMap<Arc<str>, SeriesId, ahash::RandomState>,
    keys: Vec<Arc<str>>,
}

impl Registry {
    /// The id of `key`, if it was ever put.
    pub(crate) fn id(&self, key: &str) -> Option<SeriesId> {
        self.ids.get(key).copied()
    }

    /// Registers a new key and returns its id, the next in order.
    ///
    /// The caller checks with [`Registry::id`] first; ids past `u32::MAX`
    /// series are beyond any store this engine serves.
    pub(crate) fn insert(&mut self, key: &str) -> SeriesId {
        let id = SeriesId(u32::try_from(self.keys.len()).unwrap_or(u32::MAX));
        let key: Arc<str> = Arc::from(key);
        self.keys.push(Arc::clone(&key));
        self.ids.insert(key, id);
        id
    }

    /// How many series exist.
    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }

    /// Forgets every series from `len` on: undoes registrations whose log
    /// write failed.
    pub(crate) fn truncate(&mut self, len: usize) {
        for key in self.keys.drain(len.min(self.keys.len())..) {
            self.ids.remove(&key);
        }
    }

    /// Keys in first-put order.
    pub(crate) fn keys(&self) -> &[Arc<str>] {
        &self.keys
    }

    /// Memory the registry takes, approximately: each key's bytes once,
    /// plus its map and list entries.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.keys.iter().map(|k| k.len() + 16).sum::<usize>()
            + self.ids.capacity() * 32
            + self.keys.capacity() * 16
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_first_insert_order_and_truncate_undoes() {
        let mut registry = Registry::default();
        assert_eq!(registry.insert("b"), SeriesId(0));
        assert_eq!(registry.insert("a"), SeriesId(1));
        assert_eq!(registry.id("a"), Some(SeriesId(1)));
        registry.truncate(1);
        assert_eq!(registry.id("a"), None);
        assert_eq!(registry.insert("c"), SeriesId(1));
        let keys: Vec<&str> = registry.keys().iter().map(|k| &**k).collect();
        assert_eq!(keys, ["b", "c"]);
    }
}
