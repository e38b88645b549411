//! Tagged series indexed by tag and value, so that `seriesByTag('dc=east')`
//! reads the series with that value instead of parsing every tagged name
//! in the store, as graphite's tag database indexes them.

use super::{TagQuery, TaggedName};
use std::collections::{BTreeMap, HashMap};

/// One tagged series of a [`TagIndex`].
#[derive(Debug, Clone)]
pub struct TaggedSeries {
    /// The normalised name graphite shows it under (tags sorted).
    pub path: String,
    /// The key it is stored under: the first one put with this path.
    pub key: String,
    /// The name read as graphite reads it.
    pub name: TaggedName,
}

/// Tagged series, each once under its normalised name, and for every tag
/// the series that have each of its values.
#[derive(Debug, Clone, Default)]
pub struct TagIndex {
    /// In first-put order.
    series: Vec<TaggedSeries>,
    /// Each normalised name's place in `series`.
    by_path: HashMap<String, u32>,
    /// Tag, then value, then the places of the series with it, ascending.
    by_tag: HashMap<String, BTreeMap<String, Vec<u32>>>,
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
        if self.by_path.contains_key(&path) {
            return false;
        }
        let Ok(place) = u32::try_from(self.series.len()) else {
            return false;
        };
        for (tag, value) in &name.tags {
            self.by_tag.entry(tag.clone()).or_default().entry(value.clone()).or_default().push(place);
        }
        self.by_path.insert(path.clone(), place);
        self.series.push(TaggedSeries { path, key: key.to_owned(), name });
        true
    }

    /// How many tagged series there are.
    pub fn len(&self) -> usize {
        self.series.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    /// Every tagged series, sorted by normalised name.
    pub fn all(&self) -> Vec<&TaggedSeries> {
        let mut all: Vec<&TaggedSeries> = self.series.iter().collect();
        all.sort_unstable_by(|a, b| a.path.cmp(&b.path));
        all
    }

    /// The series `query` selects, sorted by normalised name. Only the
    /// series that have a value one expression requires are tested: those
    /// of its value when it asks for one (the fewest such), else those of
    /// every value of its tag it accepts.
    pub fn select(&self, query: &TagQuery) -> Vec<&TaggedSeries> {
        let places = |tag: &str, value: &str| -> &[u32] {
            self.by_tag.get(tag).and_then(|values| values.get(value)).map_or(&[], Vec::as_slice)
        };
        let narrowest = query
            .expressions()
            .iter()
            .filter(|expression| !expression.accepts(""))
            .filter_map(|expression| expression.equal_to().map(|value| places(&expression.tag, value)))
            .min_by_key(|places| places.len());
        let candidates: Vec<u32> = match narrowest {
            Some(places) => places.to_vec(),
            None => {
                // A valid query has an expression that no series without
                // its tag passes: the series with an accepted value.
                let Some(expression) = query.expressions().iter().find(|expression| !expression.accepts(""))
                else {
                    return Vec::new();
                };
                let values = self.by_tag.get(&expression.tag).into_iter().flatten();
                let mut places: Vec<u32> = values
                    .filter(|(value, _)| expression.accepts(value))
                    .flat_map(|(_, places)| places.iter().copied())
                    .collect();
                places.sort_unstable();
                places
            }
        };
        let mut selected: Vec<&TaggedSeries> = candidates
            .into_iter()
            .filter_map(|place| self.series.get(place as usize))
            .filter(|series| query.matches(&series.name))
            .collect();
        selected.sort_unstable_by(|a, b| a.path.cmp(&b.path));
        selected
    }

    /// Every tag, and for each its values with how many series have them.
    pub fn tags(&self) -> impl Iterator<Item = (&str, impl Iterator<Item = (&str, usize)>)> {
        self.by_tag.iter().map(|(tag, values)| {
            (tag.as_str(), values.iter().map(|(value, places)| (value.as_str(), places.len())))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(found: &[&TaggedSeries]) -> Vec<String> {
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
            let every: Vec<&TaggedSeries> =
                index.all().into_iter().filter(|s| query.matches(&s.name)).collect();
            assert_eq!(paths(&index.select(&query)), paths(&every), "{expressions:?}");
        }
    }
}
