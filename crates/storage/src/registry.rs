//! The series registry: one id per key, handed out in first-put order.

use hashbrown::HashTable;

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

/// Keys in id order, stored back to back in one string: dense, so that
/// comparing a put's key with one of them rarely misses the cache (a
/// separate allocation per key did, on every put), and cheap to copy whole
/// for a checkpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct KeyList {
    text: String,
    /// `ends[i]` is where key `i` ends in `text`.
    ends: Vec<usize>,
}

impl KeyList {
    /// Adds a key at the end.
    pub(crate) fn push(&mut self, key: &str) {
        self.text.push_str(key);
        self.ends.push(self.text.len());
    }

    /// Key `index`, if there are that many.
    pub(crate) fn get(&self, index: usize) -> Option<&str> {
        let end = *self.ends.get(index)?;
        let start = index.checked_sub(1).map_or(0, |previous| self.ends[previous]);
        self.text.get(start..end)
    }

    /// How many keys there are.
    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    /// The keys in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        (0..self.len()).filter_map(|index| self.get(index))
    }

    /// Keeps the first `len` keys.
    pub(crate) fn truncate(&mut self, len: usize) {
        self.ends.truncate(len);
        self.text.truncate(self.ends.last().copied().unwrap_or(0));
    }

    /// A copy of keys `from..to`.
    pub(crate) fn slice(&self, from: usize, to: usize) -> KeyList {
        let mut slice = KeyList::default();
        for key in (from..to).filter_map(|index| self.get(index)) {
            slice.push(key);
        }
        slice
    }

    /// Memory held, capacity included.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.text.capacity() + self.ends.capacity() * std::mem::size_of::<usize>()
    }
}

/// Maps keys to ids and ids back to keys, remembering the order keys first
/// appeared, which is the order `get *` answers in.
///
/// Every put looks its key up here. The hash table holds only ids, four
/// bytes each, so it stays in cache where a table of keys would not (ten
/// thousand series: 40 KiB instead of 240); the keys themselves are a
/// [`KeyList`] in id order, which is also the order fleets tend to report
/// in. Hashing is aHash: several times faster than std's SipHash on short
/// keys, and still keyed randomly per process, so clients cannot aim
/// collisions at it.
#[derive(Default)]
pub(crate) struct Registry {
    ids: HashTable<u32>,
    keys: KeyList,
    hasher: ahash::RandomState,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry").field("series", &self.keys.len()).finish_non_exhaustive()
    }
}

impl Registry {
    /// A registry of `keys`, ids in their order (a checkpoint's).
    pub(crate) fn from_keys(keys: KeyList) -> Registry {
        let mut registry = Registry { keys, ..Registry::default() };
        let (ids, keys, hasher) = (&mut registry.ids, &registry.keys, &registry.hasher);
        ids.reserve(keys.len(), |&id| hasher.hash_one(keys.get(id as usize).unwrap_or_default()));
        for (id, key) in keys.iter().enumerate() {
            let id = u32::try_from(id).unwrap_or(u32::MAX);
            ids.insert_unique(hasher.hash_one(key), id, |&id| {
                hasher.hash_one(keys.get(id as usize).unwrap_or_default())
            });
        }
        registry
    }

    /// The id of `key`, if it was ever put.
    pub(crate) fn id(&self, key: &str) -> Option<SeriesId> {
        let keys = &self.keys;
        let found = self.ids.find(self.hasher.hash_one(key), |&id| keys.get(id as usize) == Some(key));
        found.map(|&id| SeriesId(id))
    }

    /// Registers a new key and returns its id, the next in order.
    ///
    /// The caller checks with [`Registry::id`] first; ids past `u32::MAX`
    /// series are beyond any store this engine serves.
    pub(crate) fn insert(&mut self, key: &str) -> SeriesId {
        let id = u32::try_from(self.keys.len()).unwrap_or(u32::MAX);
        self.keys.push(key);
        let (keys, hasher) = (&self.keys, &self.hasher);
        self.ids.insert_unique(hasher.hash_one(key), id, |&id| {
            hasher.hash_one(keys.get(id as usize).unwrap_or_default())
        });
        SeriesId(id)
    }

    /// How many series exist.
    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }

    /// Forgets every series from `len` on: undoes registrations whose log
    /// write failed.
    pub(crate) fn truncate(&mut self, len: usize) {
        for id in (len..self.keys.len()).rev() {
            let hash = self.hasher.hash_one(self.keys.get(id).unwrap_or_default());
            if let Ok(entry) = self.ids.find_entry(hash, |&other| other as usize == id) {
                entry.remove();
            }
        }
        self.keys.truncate(len);
    }

    /// Keys in first-put order.
    pub(crate) fn keys(&self) -> &KeyList {
        &self.keys
    }

    /// Memory the registry takes, approximately: the keys, and five bytes a
    /// table slot (id and control byte).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.keys.heap_bytes() + self.ids.capacity() * 5
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
        let keys: Vec<&str> = registry.keys().iter().collect();
        assert_eq!(keys, ["b", "c"]);
    }

    #[test]
    fn a_key_list_keeps_keys_back_to_back() {
        let mut keys = KeyList::default();
        for key in ["palm.cpu", "", "ключ", "x"] {
            keys.push(key);
        }
        assert_eq!(keys.iter().collect::<Vec<_>>(), ["palm.cpu", "", "ключ", "x"]);
        assert_eq!((keys.get(2), keys.get(4)), (Some("ключ"), None));
        assert_eq!(keys.slice(1, 3).iter().collect::<Vec<_>>(), ["", "ключ"]);
        assert_eq!(keys.slice(3, 9).iter().collect::<Vec<_>>(), ["x"]);
        keys.truncate(1);
        keys.push("y");
        assert_eq!(keys.iter().collect::<Vec<_>>(), ["palm.cpu", "y"]);
    }

    #[test]
    fn a_registry_from_a_key_list_finds_every_key() {
        let mut keys = KeyList::default();
        (0..1000).for_each(|i| keys.push(&format!("host{i}.cpu")));
        let mut registry = Registry::from_keys(keys);
        assert_eq!(registry.id("host999.cpu"), Some(SeriesId(999)));
        assert_eq!(registry.insert("new"), SeriesId(1000));
        assert_eq!(registry.id("host0.cpu"), Some(SeriesId(0)));
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
