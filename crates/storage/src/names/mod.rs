//! Finding series by Graphite pattern without testing every key: a tree of
//! the keys' dot-separated levels. A level without wildcards is one lookup;
//! a level with them is tested only against the names at its depth under
//! the nodes still in the running.
//!
//! Keys are only ever added, in first-put order, so the index follows the
//! store by catching up with the keys it has not seen yet
//! ([`NameIndex::catch_up`]): nothing on the write path pays for it.
//!
//! Keys with a `;` are Graphite's tagged series (`disk.used;dc=east`):
//! found by their tags, not by dotted patterns, so they are kept aside in
//! a [`TagIndex`] by tag and value ([`NameIndex::tags`]) rather than in the
//! tree, as graphite keeps them out of its hierarchy.

use crate::{Backend, Result};
use eardrum_graphite::pattern::{Level, Pattern};
use eardrum_graphite::tags::TagIndex;
use std::collections::HashMap;

/// Keys read from the store per hold of its lock while catching up.
const CATCH_UP_BATCH: usize = 4096;

/// A node found by [`NameIndex::find`], as Graphite's `metrics/find` lists
/// them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The dotted path to the node.
    pub path: String,
    /// The series whose key is exactly this path, if there is one (a leaf).
    pub series: Option<u32>,
    /// Whether longer keys continue below it (a branch). A node can be both.
    pub has_children: bool,
}

/// The tree of key levels.
#[derive(Debug, Clone)]
pub struct NameIndex {
    /// Node 0 is the root, above the first level.
    nodes: Vec<Node>,
    /// How many of the store's keys are in the index (the next key's id).
    indexed: usize,
    /// The keys with a `;`, by tag and value.
    tags: TagIndex,
}

#[derive(Debug, Clone, Default)]
struct Node {
    children: HashMap<Box<str>, u32>,
    series: Option<u32>,
}

impl Default for NameIndex {
    fn default() -> Self {
        NameIndex { nodes: vec![Node::default()], indexed: 0, tags: TagIndex::default() }
    }
}

impl NameIndex {
    /// How many keys are in the index: keys get ids in first-put order, so
    /// this is also the id of the next key to add.
    pub fn len(&self) -> usize {
        self.indexed
    }

    /// Whether no key is in the index.
    pub fn is_empty(&self) -> bool {
        self.indexed == 0
    }

    /// Adds the key of series `id`, which must be the next id
    /// ([`NameIndex::len`]); others are ignored.
    pub fn add(&mut self, id: u32, key: &str) {
        if id as usize != self.indexed {
            return;
        }
        if key.contains(';') {
            self.tags.insert(key);
            self.indexed += 1;
            return;
        }
        let mut node = 0;
        for level in key.split('.') {
            let next = self.nodes.len() as u32;
            let children = &mut self.nodes[node as usize].children;
            node = match children.get(level) {
                Some(&child) => child,
                None => {
                    children.insert(level.into(), next);
                    self.nodes.push(Node::default());
                    next
                }
            };
        }
        self.nodes[node as usize].series = Some(id);
        self.indexed += 1;
    }

    /// Adds every key the store has that the index has not seen yet, a
    /// batch per hold of the store's lock. Over a backend whose key
    /// positions can move, all in one call: batches by position could skip
    /// or repeat a key, and such a backend lists all its keys per call
    /// anyway.
    ///
    /// # Errors
    ///
    /// When the backend cannot list its keys; the index keeps what it
    /// added.
    pub fn catch_up(&mut self, store: &dyn Backend) -> Result<()> {
        let batch = if store.key_positions_stable() { CATCH_UP_BATCH } else { usize::MAX };
        let mut keys: Vec<(u32, Box<str>)> = Vec::new();
        loop {
            // Copied out under the store's lock, indexed after it: a
            // tagged key is parsed and indexed by tag, which puts need not
            // wait for.
            let before = self.indexed;
            keys.clear();
            store.keys_from(before, batch, &mut |id, key| keys.push((id, key.into())))?;
            for (id, key) in &keys {
                self.add(*id, key);
            }
            if self.indexed - before < batch {
                return Ok(());
            }
        }
    }

    /// Every node the pattern matches, sorted by path.
    pub fn find<'s>(&'s self, pattern: &Pattern) -> Vec<Found> {
        let mut found: Vec<Found> = Vec::new();
        for levels in pattern.alternatives() {
            // Paths are spelled only for what matches in the end: each
            // step records its name and the step it came from.
            let mut steps: Vec<(usize, &'s str)> = Vec::new();
            let mut frontier: Vec<(u32, Option<usize>)> = vec![(0, None)];
            for level in levels {
                let mut next = Vec::new();
                for &(node, step) in &frontier {
                    let children = &self.nodes[node as usize].children;
                    let mut take = |name: &'s str, child: u32| {
                        steps.push((step.unwrap_or(usize::MAX), name));
                        next.push((child, Some(steps.len() - 1)));
                    };
                    match level {
                        Level::Exact(name) => {
                            if let Some((name, &child)) = children.get_key_value(name.as_str()) {
                                take(name, child);
                            }
                        }
                        Level::Glob(_) => {
                            for (name, &child) in children {
                                if level.matches(name) {
                                    take(name, child);
                                }
                            }
                        }
                    }
                }
                frontier = next;
            }
            found.extend(frontier.into_iter().map(|(node, step)| {
                let node = &self.nodes[node as usize];
                Found {
                    path: spell(&steps, step),
                    series: node.series,
                    has_children: !node.children.is_empty(),
                }
            }));
        }
        found.sort_by(|a, b| a.path.cmp(&b.path));
        found.dedup_by(|a, b| a.path == b.path);
        found
    }

    /// The tagged series (keys with a `;` that read as Graphite tagged
    /// names): patterns do not find them.
    pub fn tags(&self) -> &TagIndex {
        &self.tags
    }

    /// The series whose keys match, in first-put order.
    pub fn series(&self, pattern: &Pattern) -> Vec<u32> {
        let mut ids: Vec<u32> = self.find(pattern).into_iter().filter_map(|found| found.series).collect();
        ids.sort_unstable();
        ids
    }
}

/// The dotted path that ends at `step`.
fn spell(steps: &[(usize, &str)], mut step: Option<usize>) -> String {
    let mut names = Vec::new();
    while let Some(at) = step {
        let (parent, name) = steps[at];
        names.push(name);
        step = (parent != usize::MAX).then_some(parent);
    }
    names.reverse();
    names.join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(keys: &[&str]) -> NameIndex {
        let mut index = NameIndex::default();
        for (id, key) in keys.iter().enumerate() {
            index.add(id as u32, key);
        }
        index
    }

    fn paths(index: &NameIndex, pattern: &str) -> Vec<(String, bool, bool)> {
        let found = index.find(&Pattern::parse(pattern).unwrap());
        found.into_iter().map(|f| (f.path, f.series.is_some(), f.has_children)).collect()
    }

    #[test]
    fn find_lists_leaves_and_branches_level_by_level() {
        let index = index(&["palm.cpu", "palm.mem.free", "palm.mem", "eardrum.cpu", "eardrum.disk.sda"]);
        let owned = |rows: &[(&str, bool, bool)]| -> Vec<(String, bool, bool)> {
            rows.iter().map(|&(p, leaf, branch)| (p.to_owned(), leaf, branch)).collect()
        };
        assert_eq!(paths(&index, "*"), owned(&[("eardrum", false, true), ("palm", false, true)]));
        assert_eq!(
            paths(&index, "palm.*"),
            owned(&[("palm.cpu", true, false), ("palm.mem", true, true)]),
            "palm.mem is a leaf and a branch"
        );
        assert_eq!(
            paths(&index, "{palm,eardrum}.cpu"),
            owned(&[("eardrum.cpu", true, false), ("palm.cpu", true, false)])
        );
        assert_eq!(
            paths(&index, "*.*.*"),
            owned(&[("eardrum.disk.sda", true, false), ("palm.mem.free", true, false)])
        );
        assert!(paths(&index, "nowhere.*").is_empty());
        assert_eq!(index.series(&Pattern::parse("*.cpu").unwrap()), [0, 3], "first-put order");
    }

    #[test]
    fn tagged_keys_are_kept_out_of_the_tree() {
        let index = index(&["disk.used;dc=east", "disk.free", "disk.used;dc=west;host=a.b"]);
        assert_eq!(paths(&index, "disk.*"), [("disk.free".to_owned(), true, false)]);
        assert!(paths(&index, "disk.used;dc=east").is_empty());
        let tagged: Vec<String> = index.tags().all().into_iter().map(|series| series.key).collect();
        assert_eq!(tagged, ["disk.used;dc=east", "disk.used;dc=west;host=a.b"]);
        assert_eq!(index.len(), 3);
    }

    #[test]
    fn the_index_agrees_with_testing_every_key() {
        let keys: Vec<String> = (0..300)
            .map(|i| {
                format!(
                    "host{}.{}.{}",
                    i % 17,
                    ["cpu", "mem", "disk"][i % 3],
                    ["user", "idle", "sda1", "x"][i % 4]
                )
            })
            .collect();
        let mut index = NameIndex::default();
        let mut seen = Vec::new();
        for key in &keys {
            if !seen.contains(key) {
                index.add(seen.len() as u32, key);
                seen.push(key.clone());
            }
        }
        for pattern in
            ["host1*.cpu.*", "host?.{mem,disk}.*", "host[0-5].*.[a-s]*", "*.*.x", "host16.cpu.user"]
        {
            let parsed = Pattern::parse(pattern).unwrap();
            let expected: Vec<u32> = seen
                .iter()
                .enumerate()
                .filter(|(_, key)| parsed.matches(key))
                .map(|(id, _)| id as u32)
                .collect();
            assert_eq!(index.series(&parsed), expected, "{pattern}");
        }
    }
}
