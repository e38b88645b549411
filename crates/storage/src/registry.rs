//! The series registry: one id per key, handed out in first-put order.

use hashbrown::HashTable;
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
/// Every put looks its key up here. The hash table holds only ids, four
/// bytes each, so it stays in cache where a table of keys would not (ten
/// thousand series: 40 KiB instead of 240); the keys are in `keys`, in id
/// order, which is also the order fleets tend to report in. Hashing is
/// aHash: several times faster than std's SipHash on short keys, and still
/// keyed randomly per process, so clients cannot aim collisions at it.
#[derive(Default)]
pub(crate) struct Registry {
    ids: HashTable<u32>,
    keys: Vec<Arc<str>>,
    hasher: ahash::RandomState,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry").field("series", &self.keys.len()).finish_non_exhaustive()
    }
}

impl Registry {
    /// The id of `key`, if it was ever put.
    pub(crate) fn id(&self, key: &str) -> Option<SeriesId> {
        let keys = &self.keys;
        self.ids.find(self.hasher.hash_one(key), |&id| &*keys[id as usize] == key).map(|&id| SeriesId(id))
    }

    /// Registers a new key and returns its id, the next in order.
    ///
    /// The caller checks with [`Registry::id`] first; ids past `u32::MAX`
    /// series are beyond any store this engine serves.
    pub(crate) fn insert(&mut self, key: &str) -> SeriesId {
        let id = u32::try_from(self.keys.len()).unwrap_or(u32::MAX);
        self.keys.push(Arc::from(key));
        let (keys, hasher) = (&self.keys, &self.hasher);
        self.ids.insert_unique(hasher.hash_one(key), id, |&id| hasher.hash_one(&*keys[id as usize]));
        SeriesId(id)
    }

    /// How many series exist.
    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }

    /// Forgets every series from `len` on: undoes registrations whose log
    /// write failed.
    pub(crate) fn truncate(&mut self, len: usize) {
        while self.keys.len() > len {
            let Some(key) = self.keys.pop() else { break };
            let id = self.keys.len() as u32;
            if let Ok(entry) = self.ids.find_entry(self.hasher.hash_one(&*key), |&other| other == id) {
                entry.remove();
            }
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
            + self.ids.capacity() * 5
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

    #[test]
    fn many_keys_survive_growth_and_truncation() {
        let mut registry = Registry::default();
        let keys: Vec<String> = (0..10_000).map(|i| format!("host{}.metric{}", i / 10, i % 10)).collect();
        for (i, key) in keys.iter().enumerate() {
            assert_eq!(registry.insert(key), SeriesId(i as u32));
        }
        registry.truncate(5_000);
        for (i, key) in keys.iter().enumerate() {
            let expected = (i < 5_000).then_some(SeriesId(i as u32));
            assert_eq!(registry.id(key), expected, "{key}");
        }
        assert_eq!(registry.insert(&keys[7_000]), SeriesId(5_000));
        assert_eq!(registry.id(&keys[7_000]), Some(SeriesId(5_000)));
    }
}
