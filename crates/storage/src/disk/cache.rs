//! A bounded cache with second-chance (CLOCK) eviction: what was read back
//! from block files, kept while it fits.
//!
//! Each entry has a weight (its bytes, or one for an open file); inserting
//! past the capacity evicts entries in insertion order, sparing once those
//! read since they were last passed over. A scan that reads everything once
//! therefore pushes out only what nobody reads again, and an entry read
//! often stays.

use parking_lot::Mutex;
use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};

/// The cache. Values are cheap to clone (`Arc`s).
#[derive(Debug)]
pub(crate) struct Clock<K, V> {
    inner: Mutex<Inner<K, V>>,
    capacity: usize,
    hits: AtomicU64,
    misses: AtomicU64,
}

#[derive(Debug)]
struct Inner<K, V> {
    entries: HashMap<K, Entry<V>>,
    /// Keys in the order the hand passes them; may hold keys removed since.
    ring: VecDeque<K>,
    weight: usize,
}

#[derive(Debug)]
struct Entry<V> {
    value: V,
    weight: usize,
    referenced: bool,
}

impl<K: Hash + Eq + Clone, V: Clone> Clock<K, V> {
    /// A cache holding at most `capacity` of weight.
    pub(crate) fn new(capacity: usize) -> Clock<K, V> {
        Clock {
            inner: Mutex::new(Inner { entries: HashMap::new(), ring: VecDeque::new(), weight: 0 }),
            capacity,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// The value under `key`, if cached.
    pub(crate) fn get(&self, key: &K) -> Option<V> {
        let mut inner = self.inner.lock();
        match inner.entries.get_mut(key) {
            Some(entry) => {
                entry.referenced = true;
                self.hits.fetch_add(1, Ordering::Relaxed);
                Some(entry.value.clone())
            }
            None => {
                self.misses.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }

    /// Caches `value` under `key`, evicting what it must; a value heavier
    /// than the whole capacity is not kept.
    pub(crate) fn insert(&self, key: K, value: V, weight: usize) {
        if weight > self.capacity {
            return;
        }
        let mut inner = self.inner.lock();
        if let Some(old) = inner.entries.remove(&key) {
            inner.weight -= old.weight;
        }
        while inner.weight + weight > self.capacity {
            let Some(candidate) = inner.ring.pop_front() else { break };
            let spare = match inner.entries.get_mut(&candidate) {
                Some(entry) if entry.referenced => {
                    entry.referenced = false;
                    true
                }
                Some(_) => false,
                // Removed or replaced since it was queued.
                None => continue,
            };
            if spare {
                inner.ring.push_back(candidate);
            } else if let Some(evicted) = inner.entries.remove(&candidate) {
                inner.weight -= evicted.weight;
            }
        }
        inner.weight += weight;
        inner.entries.insert(key.clone(), Entry { value, weight, referenced: false });
        inner.ring.push_back(key);
        // Keys of replaced entries linger in the ring; keep it from growing
        // past twice the entries.
        if inner.ring.len() > 2 * inner.entries.len() + 16 {
            let Inner { entries, ring, .. } = &mut *inner;
            let mut seen = std::collections::HashSet::new();
            ring.retain(|key| entries.contains_key(key) && seen.insert(key.clone()));
        }
    }

    /// Drops every entry `keep` refuses.
    pub(crate) fn retain(&self, mut keep: impl FnMut(&K) -> bool) {
        let mut inner = self.inner.lock();
        let mut dropped = 0;
        inner.entries.retain(|key, entry| {
            let kept = keep(key);
            if !kept {
                dropped += entry.weight;
            }
            kept
        });
        inner.weight -= dropped;
    }

    /// The weight held now.
    pub(crate) fn weight(&self) -> usize {
        self.inner.lock().weight
    }

    /// Lookups that found their entry, and those that did not.
    pub(crate) fn hits_and_misses(&self) -> (u64, u64) {
        (self.hits.load(Ordering::Relaxed), self.misses.load(Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_within_capacity_and_spares_what_is_read() {
        let cache = Clock::new(100);
        for key in 0..10 {
            cache.insert(key, key, 10);
        }
        assert_eq!(cache.weight(), 100);
        assert_eq!(cache.get(&0), Some(0));
        // Two more entries push out the two oldest not read since: 1 and 2.
        cache.insert(10, 10, 10);
        cache.insert(11, 11, 10);
        assert_eq!(cache.weight(), 100);
        assert_eq!(cache.get(&0), Some(0));
        assert_eq!(cache.get(&1), None);
        assert_eq!(cache.get(&2), None);
        assert_eq!(cache.get(&3), Some(3));
        cache.insert(99, 99, 1000);
        assert_eq!(cache.get(&99), None);
        cache.retain(|&key| key != 3);
        assert_eq!((cache.get(&3), cache.weight()), (None, 90));
        assert_eq!(cache.hits_and_misses(), (3, 4));
    }

    #[test]
    fn replacing_keys_keeps_the_ring_bounded() {
        let cache = Clock::new(1_000);
        for round in 0..10_000 {
            cache.insert(round % 7, round, 1);
        }
        assert!(cache.inner.lock().ring.len() <= 2 * 7 + 16);
        assert_eq!(cache.weight(), 7);
    }
}
