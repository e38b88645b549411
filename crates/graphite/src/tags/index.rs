//! Tagged series indexed by tag and value, so that `seriesByTag('dc=east')`
//! reads the series with that value instead of parsing every tagged name
//! in the store, as graphite's tag database indexes them.

use super::{TagQuery, TaggedName};
use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};

/// One tagged series found in a [`TagIndex`].
#[derive(Debug, Clone)]
pub struct TaggedSeries {
    /// The normalised name graphite shows it under (tags sorted).
    pub path: String,
    /// The key it is stored under: the first one put with this path.
    pub key: String,
    /// The name read as graphite reads it.
    pub name: TaggedName,
}

impl TaggedSeries {
    fn read(key: &str) -> Option<TaggedSeries> {
        let name = TaggedName::parse(key).ok()?;
        Some(TaggedSeries { path: name.path(), key: key.to_owned(), name })
    }
}

/// Tagged series, each once under its normalised name, and for every tag
/// the series that have each of its values.
///
/// It holds little per series (its key, its place under each of its tag
/// values, a hash of its normalised name): names are read again from the
/// keys of the series a query selects.
#[derive(Debug, Clone, Default)]
pub struct TagIndex {
    /// The keys, in first-put order.
    keys: Vec<Box<str>>,
    /// The place of the series under each normalised name's hash.
    by_path: HashMap<u64, u32>,
    /// Normalised names whose hash another name already had, with their
    /// places: almost always empty.
    collided: Vec<(Box<str>, u32)>,
    /// Tag, then value, then the places of the series with it, ascending.
    by_tag: HashMap<Box<str>, BTreeMap<Box<str>, Vec<u32>>>,
}

/// A normalised name's hash, for [`TagIndex::by_path`].
fn hash_of(path: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    path.hash(&mut hasher);
    hasher.finish()
}

impl TagIndex {
    /// Adds the series stored under `key` unless its normalised name is
    /// already in (the first key put wins) or it does not read as a tagged
    /// name (graphite would not have stored it). Whether it was added.
    pub fn insert(&mut self, key: &str) -> bool {
        let Ok(name) = TaggedName::parse(key) else {
            return false;
        };
        let path = name.path();
        let Ok(place) = u32::try_from(self.keys.len()) else {
            return false;
        };
        let hash = hash_of(&path);
        match self.by_path.get(&hash) {
            None => {
                self.by_path.insert(hash, place);
            }
            Some(&known) => {
                let same = |place: u32| {
                    TaggedSeries::read(&self.keys[place as usize]).is_some_and(|s| s.path == path)
                };
                if same(known) || self.collided.iter().any(|(collided, _)| **collided == *path) {
                    return false;
                }
                self.collided.push((path.into(), place));
            }
        }
        for (tag, value) in &name.tags {
            let values = self.by_tag.entry(tag.as_str().into()).or_default();
            values.entry(value.as_str().into()).or_default().push(place);
        }
        self.keys.push(key.into());
        true
    }

    /// How many tagged series there are.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Every tagged series, sorted by normalised name.
    pub fn all(&self) -> Vec<TaggedSeries> {
        let mut all: Vec<TaggedSeries> = self.keys.iter().filter_map(|key| TaggedSeries::read(key)).collect();
        all.sort_unstable_by(|a, b| a.path.cmp(&b.path));
        all
    }

    /// The series `query` selects, sorted by normalised name. Only the
    /// series that have a value one expression requires are read: those
    /// under every value asked for exactly (`tag=value`), else those under
    /// every value of one expression's tag that it accepts.
    pub fn select(&self, query: &TagQuery) -> Vec<TaggedSeries> {
        let places = |tag: &str, value: &str| -> &[u32] {
            self.by_tag.get(tag).and_then(|values| values.get(value)).map_or(&[], Vec::as_slice)
        };
        let mut exact: Vec<&[u32]> = query
            .expressions()
            .iter()
            .filter(|expression| !expression.accepts(""))
            .filter_map(|expression| expression.equal_to().map(|value| places(&expression.tag, value)))
            .collect();
        exact.sort_unstable_by_key(|places| places.len());
        let candidates: Vec<u32> = match exact.split_first() {
            // The series under every value asked for: each list is sorted.
            Some((narrowest, others)) => narrowest
                .iter()
                .copied()
                .filter(|place| others.iter().all(|other| other.binary_search(place).is_ok()))
                .collect(),
            None => {
                // A valid query has an expression that no series without
                // its tag passes: the series with an accepted value.
                let Some(expression) = query.expressions().iter().find(|expression| !expression.accepts(""))
                else {
                    return Vec::new();
                };
                let values = self.by_tag.get(expression.tag.as_str()).into_iter().flatten();
                let mut places: Vec<u32> = values
                    .filter(|(value, _)| expression.accepts(value))
                    .flat_map(|(_, places)| places.iter().copied())
                    .collect();
                places.sort_unstable();
                places
            }
        };
        let mut selected: Vec<TaggedSeries> = candidates
            .into_iter()
            .filter_map(|place| self.keys.get(place as usize).and_then(|key| TaggedSeries::read(key)))
            .filter(|series| query.matches(&series.name))
            .collect();
        selected.sort_unstable_by(|a, b| a.path.cmp(&b.path));
        selected
    }

    /// Every tag, and for each its values with how many series have them.
    pub fn tags(&self) -> impl Iterator<Item = (&str, impl Iterator<Item = (&str, usize)>)> {
        self.by_tag
            .iter()
            .map(|(tag, values)| (&**tag, values.iter().map(|(value, places)| (&**value, places.len()))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(found: &[TaggedSeries]) -> Vec<String> {
        found.iter().map(|series| series.path.clone()).collect()
    }

    #[test]
    fn queries_read_only_the_series_that_can_pass() {
        let mut index = TagIndex::default();
        for key in [
            "disk.used;host=b;dc=east",
            "disk.used;dc=east;host=a",
            "cpu;dc=west;host=a",
            "disk.used;dc=east;host=b",
            "no tags here;=x",
        ] {
            index.insert(key);
        }
        assert_eq!(index.len(), 3, "the same normalised name once, the unreadable left out");
        assert_eq!(index.all()[2].key, "disk.used;host=b;dc=east", "the first key put wins");
        let select = |expressions: &[&str]| {
            paths(&index.select(&TagQuery::parse(expressions.iter().copied()).unwrap()))
        };
        assert_eq!(select(&["dc=east"]), ["disk.used;dc=east;host=a", "disk.used;dc=east;host=b"]);
        assert_eq!(select(&["host=a", "name=cpu"]), ["cpu;dc=west;host=a"]);
        assert_eq!(
            select(&["host=~[ab]", "dc!=west"]),
            ["disk.used;dc=east;host=a", "disk.used;dc=east;host=b"]
        );
        assert_eq!(select(&["host!=", "name!=~disk"]), ["cpu;dc=west;host=a"]);
        assert_eq!(select(&["dc=west", "rack="]), ["cpu;dc=west;host=a"], "rack= asks for no rack");
        assert!(select(&["dc=north"]).is_empty());
        let mut tags: Vec<(&str, Vec<(&str, usize)>)> =
            index.tags().map(|(tag, values)| (tag, values.collect())).collect();
        tags.sort();
        assert_eq!(tags[0], ("dc", vec![("east", 2), ("west", 1)]));
    }

    #[test]
    fn the_index_agrees_with_testing_every_series() {
        let mut index = TagIndex::default();
        for i in 0..500 {
            index.insert(&format!("m{};dc=d{};host=h{};rack=r{}", i % 3, i % 4, i % 37, i % 5));
        }
        for expressions in [
            vec!["dc=d1"],
            vec!["dc=d1", "host=h3"],
            vec!["host=~h1", "rack!=r2"],
            vec!["rack!=~r[01]", "dc=~d"],
            vec!["name=m2", "dc!=d0", "host=~h2.*"],
            vec!["dc=nowhere", "host=h1"],
            vec!["dc=d2", "zone="],
        ] {
            let query = TagQuery::parse(expressions.iter().copied()).unwrap();
            let every: Vec<TaggedSeries> =
                index.all().into_iter().filter(|s| query.matches(&s.name)).collect();
            assert_eq!(paths(&index.select(&query)), paths(&every), "{expressions:?}");
        }
    }
}
