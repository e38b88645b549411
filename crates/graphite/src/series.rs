//! Series as Graphite renders them: values at a fixed step, `None` where
//! nothing was stored, read from the store's raw points.
//!
//! Graphite's storage has a step per series (its retention); eardrum keeps
//! points at whatever times they came. A series' step is therefore read
//! from its data: the median gap between its first points in the range,
//! which is the interval its agent sends at, robust to the odd missed or
//! doubled point. Slots are aligned to the step as Whisper aligns them:
//! a point belongs to the slot starting at `t - t % step`, and the slots
//! returned are those after the one holding `from`, through the one
//! holding `until`.

use crate::time::Aggregation;
use serde_json::{Map, Value};

/// The step of a series with fewer than two points in the range.
pub const DEFAULT_STEP: i64 = 60;
/// The most slots one series may have: a longer range is read at a
/// multiple of the step, each slot the average of the points in it, as a
/// Graphite rollup archive would hold it.
pub const MAX_SLOTS_PER_SERIES: i64 = 1_000_000;
/// Gaps looked at to find a series' step.
pub const STEP_SAMPLE: usize = 64;

/// One rendered series.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The name it is rendered as (`target` in the JSON).
    pub name: String,
    /// The pattern or expression it came from, for the names of
    /// functions that combine series.
    pub path_expression: String,
    /// Graphite's tags: `name`, and what functions add.
    pub tags: Map<String, Value>,
    /// The timestamp of the first slot.
    pub start: i64,
    /// Seconds between slots.
    pub step: i64,
    /// One value per slot; NaN is Graphite's `None`.
    pub values: Vec<f64>,
    /// How slots are merged when the series is shown at a coarser step.
    pub consolidate_by: Aggregation,
    /// The share of a group's slots that must have values for the group
    /// to have one when the series is consolidated; `None`: the request's
    /// (see [`crate::functions::Context`]).
    pub x_files_factor: Option<f64>,
}

impl Series {
    /// A series named `name` from `path_expression`, tagged as graphite-web
    /// tags a new series: with the tags its name holds (`a;dc=east`), or
    /// with its name alone (a function's result, `sumSeries(…)`).
    pub fn new(name: &str, path_expression: &str, start: i64, step: i64, values: Vec<f64>) -> Series {
        let tags = tags_of(name);
        Series {
            name: name.to_owned(),
            path_expression: path_expression.to_owned(),
            tags,
            start,
            step,
            values,
            consolidate_by: Aggregation::Avg,
            x_files_factor: None,
        }
    }

    /// The timestamp just after the last slot.
    pub fn end(&self) -> i64 {
        self.start + self.step * self.values.len() as i64
    }

    /// `buckets` values, the first for `[start, start + step)` (`start` at
    /// or before the series' start), each `by` of the values of the slots
    /// starting inside it, NaN if there are none or fewer than
    /// `x_files_factor` of the slots a bucket spans (graphite's
    /// `summarize`).
    pub fn bucketed(
        &self,
        start: i64,
        step: i64,
        buckets: i64,
        by: Aggregation,
        x_files_factor: f64,
    ) -> Vec<f64> {
        let slots_per_bucket = step as f64 / self.step.max(1) as f64;
        let mut values = Vec::with_capacity(buckets.max(0) as usize);
        let mut bucket = Vec::new();
        let mut next = 0;
        for index in 0..buckets {
            let bucket_end = start + (index + 1) * step;
            bucket.clear();
            while next < self.values.len() && self.start + next as i64 * self.step < bucket_end {
                if !self.values[next].is_nan() {
                    bucket.push(self.values[next]);
                }
                next += 1;
            }
            let enough = !bucket.is_empty() && bucket.len() as f64 / slots_per_bucket >= x_files_factor;
            values.push(if enough { by.of(&bucket) } else { f64::NAN });
        }
        values
    }

    /// The values taken `values_per_point` at a time from the first, each
    /// group `consolidate_by` of its values (NaN without any, or with fewer
    /// than `x_files_factor` of `values_per_point`; a last group of what is
    /// left): graphite's `TimeSeries.consolidate`.
    pub fn consolidated_values(&self, values_per_point: usize, x_files_factor: f64) -> Vec<f64> {
        consolidate(&self.values, values_per_point, self.consolidate_by, x_files_factor)
    }

    /// The value in the slot holding `timestamp`, NaN outside the series.
    pub fn value_at(&self, timestamp: i64) -> f64 {
        if timestamp < self.start {
            return f64::NAN;
        }
        let slot = ((timestamp - self.start) / self.step) as usize;
        self.values.get(slot).copied().unwrap_or(f64::NAN)
    }
}

/// `values` taken `values_per_point` at a time from the first, each group
/// `by` of its values: see [`Series::consolidated_values`].
pub fn consolidate(
    values: &[f64],
    values_per_point: usize,
    by: Aggregation,
    x_files_factor: f64,
) -> Vec<f64> {
    let values_per_point = values_per_point.max(1);
    let mut present = Vec::with_capacity(values_per_point);
    values
        .chunks(values_per_point)
        .map(|chunk| {
            present.clear();
            present.extend(chunk.iter().copied().filter(|value| !value.is_nan()));
            if present.is_empty() || (present.len() as f64 / values_per_point as f64) < x_files_factor {
                f64::NAN
            } else {
                by.of(&present)
            }
        })
        .collect()
}

/// The tags graphite-web gives a series of this name: those the name
/// holds, unless it looks like a function's result (`letters(…)`) or does
/// not read as a tagged name, when only `name`.
fn tags_of(name: &str) -> Map<String, Value> {
    let letters = name.bytes().take_while(u8::is_ascii_alphabetic).count();
    let called =
        letters > 0 && name[letters..].starts_with('(') && name.len() > letters + 2 && name.ends_with(')');
    match called {
        false => crate::tags::TaggedName::parse(name).ok().map(|tagged| tagged.tag_map()),
        true => None,
    }
    .unwrap_or_else(|| Map::from_iter([("name".to_owned(), Value::String(name.to_owned()))]))
}

/// The slots of a series read at `step` between `from` and `until`, as
/// whisper aligns them: the first starts after the slot holding `from`,
/// the last is the one holding `until` (and when that is the first, it is
/// still returned, as whisper returns it). A range of more than
/// [`MAX_SLOTS_PER_SERIES`] is read at a multiple of `step`. Returns the
/// first slot's time, the step, and the number of slots.
pub fn slots(from: i64, until: i64, step: i64) -> (i64, i64, usize) {
    let mut step = step.max(1);
    let span = until.saturating_sub(from).max(1);
    if span / step > MAX_SLOTS_PER_SERIES {
        step *= (span / step + MAX_SLOTS_PER_SERIES - 1) / MAX_SLOTS_PER_SERIES;
    }
    let start = from.div_euclid(step) * step + step;
    let mut end = until.div_euclid(step) * step + step;
    if end == start {
        end += step;
    }
    (start, step, usize::try_from((end - start) / step).unwrap_or(0))
}

/// A series' step from the first timestamps of its points (ascending, at
/// most [`STEP_SAMPLE`] + 1 of them): the lower median gap, so that a
/// missed or doubled point changes nothing; [`DEFAULT_STEP`] with fewer
/// than two.
pub fn step_of(timestamps: &[i64]) -> i64 {
    let mut gaps: Vec<i64> =
        timestamps.windows(2).map(|pair| pair[1] - pair[0]).filter(|&gap| gap > 0).collect();
    if gaps.is_empty() {
        return DEFAULT_STEP;
    }
    // The lower median: with two gaps, a missed point is no reason to
    // double the step.
    let middle = (gaps.len() - 1) / 2;
    *gaps.select_nth_unstable(middle).1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_follow_whisper_and_steps_the_points() {
        assert_eq!(slots(995, 1060, 10), (1000, 10, 7));
        assert_eq!(slots(1000, 1060, 10), (1010, 10, 6), "the slot holding `from` is not returned");
        assert_eq!(slots(1001, 1005, 10), (1010, 10, 1), "a range within one slot returns the next");
        let (_, step, count) = slots(0, 100_000_000, 1);
        assert_eq!((step, count), (100, 1_000_000), "coarser beyond a million slots");
        // Every 10 s, one missed and one doubled.
        assert_eq!(step_of(&[1000, 1010, 1020, 1030, 1050, 1051, 1060]), 10);
        assert_eq!(step_of(&[1000]), DEFAULT_STEP);
        assert_eq!(step_of(&[1000, 1000]), DEFAULT_STEP);
    }

    #[test]
    fn consolidation_groups_values_from_the_first() {
        let nan = f64::NAN;
        let mut series = Series::new("a", "a*", 1000, 10, vec![1.0, 2.0, 3.0, 4.0, nan, nan, 9.0]);
        assert_eq!(series.end(), 1070);
        assert_eq!(series.consolidated_values(2, 0.0)[..2], [1.5, 3.5]);
        assert!(series.consolidated_values(2, 0.0)[2].is_nan());
        assert_eq!(series.consolidated_values(2, 0.0)[3], 9.0, "a last group of what is left");
        assert!(series.consolidated_values(2, 0.6)[3].is_nan(), "one of two is below 0.6");
        series.consolidate_by = Aggregation::Max;
        assert_eq!(series.consolidated_values(3, 0.0), [3.0, 4.0, 9.0]);
        let known: Vec<bool> = series.consolidated_values(3, 0.5).iter().map(|v| !v.is_nan()).collect();
        assert_eq!(known, [true, false, false], "one of three is too few, even at the end");
        let buckets = series.bucketed(990, 30, 3, Aggregation::Sum, 0.0);
        assert_eq!(buckets[..2], [3.0, 7.0]);
        let buckets = series.bucketed(990, 30, 3, Aggregation::Sum, 0.6);
        assert_eq!(buckets[..2], [3.0, 7.0], "two of three slots are enough");
        assert!(buckets[2].is_nan(), "one of three is too few");
        assert_eq!((series.value_at(1019), series.value_at(1020)), (2.0, 3.0));
        assert!(series.value_at(999).is_nan() && series.value_at(1070).is_nan());
        assert_eq!(series.tags["name"], "a");
    }
}
