//! The points of one series.

/// The points of one series, kept sorted by timestamp with one value per
/// timestamp.
///
/// Metrics arrive almost always in time order, so a put is an append in the
/// common case and a binary search plus insert otherwise. This type is the
/// seam where compressed chunks go: callers only insert and iterate.
#[derive(Debug, Default, Clone)]
pub(crate) struct Series {
    points: Vec<(i64, f64)>,
}

impl Series {
    /// Stores `value` at `timestamp`, replacing any value already there.
    /// Returns whether the timestamp is new to the series.
    pub(crate) fn insert(&mut self, timestamp: i64, value: f64) -> bool {
        match self.points.last() {
            Some(&(last, _)) if last < timestamp => {}
            None => {}
            Some(_) => {
                return match self.points.binary_search_by_key(&timestamp, |&(t, _)| t) {
                    Ok(at) => {
                        self.points[at].1 = value;
                        false
                    }
                    Err(at) => {
                        self.points.insert(at, (timestamp, value));
                        true
                    }
                };
            }
        }
        self.points.push((timestamp, value));
        true
    }

    /// The points in ascending timestamp order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (i64, f64)> + '_ {
        self.points.iter().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    proptest! {
        #[test]
        fn behaves_like_a_sorted_map(puts in proptest::collection::vec((-20i64..20, -5.0f64..5.0), 0..200)) {
            let mut series = Series::default();
            let mut model = BTreeMap::new();
            for (timestamp, value) in puts {
                prop_assert_eq!(series.insert(timestamp, value), model.insert(timestamp, value).is_none());
            }
            let ours: Vec<_> = series.iter().collect();
            let expected: Vec<_> = model.into_iter().collect();
            prop_assert_eq!(ours, expected);
        }
    }
}
