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

use crate::http::range::Aggregation;
use eardrum_storage::{Backend, Keys, ScanCursor};
use serde_json::{Map, Value};

/// The step of a series with fewer than two points in the range.
pub(crate) const DEFAULT_STEP: i64 = 60;
/// The most slots one series may have: a longer range is read at a
/// multiple of the step, each slot the average of the points in it, as a
/// Graphite rollup archive would hold it.
pub(crate) const MAX_SLOTS_PER_SERIES: i64 = 1_000_000;
/// Gaps looked at to find a series' step.
const STEP_SAMPLE: usize = 64;

/// One rendered series.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Series {
    /// The name it is rendered as (`target` in the JSON).
    pub(crate) name: String,
    /// The pattern or expression it came from, for the names of
    /// functions that combine series.
    pub(crate) path_expression: String,
    /// Graphite's tags: `name`, and what functions add.
    pub(crate) tags: Map<String, Value>,
    /// The timestamp of the first slot.
    pub(crate) start: i64,
    /// Seconds between slots.
    pub(crate) step: i64,
    /// One value per slot; NaN is Graphite's `None`.
    pub(crate) values: Vec<f64>,
    /// How slots are merged when the series is shown at a coarser step.
    pub(crate) consolidate_by: Aggregation,
}

impl Series {
    /// A series named `name` from `path_expression`, tagged with its name.
    pub(crate) fn new(name: &str, path_expression: &str, start: i64, step: i64, values: Vec<f64>) -> Series {
        let mut tags = Map::new();
        tags.insert("name".to_owned(), Value::String(name.to_owned()));
        Series {
            name: name.to_owned(),
            path_expression: path_expression.to_owned(),
            tags,
            start,
            step,
            values,
            consolidate_by: Aggregation::Avg,
        }
    }

    /// The timestamp just after the last slot.
    pub(crate) fn end(&self) -> i64 {
        self.start + self.step * self.values.len() as i64
    }

    /// The series at `step` (a multiple of its own): slots aligned to
    /// multiples of `step`, so that a refreshed chart keeps its buckets,
    /// each the `consolidate_by` of the slots inside it.
    pub(crate) fn resampled(&self, step: i64) -> Series {
        if step == self.step {
            return self.clone();
        }
        let start = self.start.div_euclid(step) * step;
        let slots = (self.end() - start + step - 1) / step;
        Series {
            name: self.name.clone(),
            path_expression: self.path_expression.clone(),
            tags: self.tags.clone(),
            start,
            step,
            values: self.bucketed(start, step, slots, self.consolidate_by),
            consolidate_by: self.consolidate_by,
        }
    }

    /// `buckets` values, the first for `[start, start + step)` (`start` at
    /// or before the series' start), each `by` of the values of the slots
    /// starting inside it, NaN if there are none.
    pub(crate) fn bucketed(&self, start: i64, step: i64, buckets: i64, by: Aggregation) -> Vec<f64> {
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
            values.push(if bucket.is_empty() { f64::NAN } else { by.of(&bucket) });
        }
        values
    }

    /// The value in the slot holding `timestamp`, NaN outside the series.
    pub(crate) fn value_at(&self, timestamp: i64) -> f64 {
        if timestamp < self.start {
            return f64::NAN;
        }
        let slot = ((timestamp - self.start) / self.step) as usize;
        self.values.get(slot).copied().unwrap_or(f64::NAN)
    }
}

/// Points read per hold of the store's lock.
const SCAN_BATCH: usize = 4096;

/// The series stored under `key`, as slots between `from` and `until`.
pub(crate) fn read_series(
    store: &dyn Backend,
    key: &str,
    path_expression: &str,
    from: i64,
    until: i64,
) -> eardrum_storage::Result<Series> {
    let mut step = native_step(store, key, from)?;
    let span = until.saturating_sub(from).max(1);
    if span / step > MAX_SLOTS_PER_SERIES {
        step *= (span / step + MAX_SLOTS_PER_SERIES - 1) / MAX_SLOTS_PER_SERIES;
    }
    let start = from.div_euclid(step) * step + step;
    let end = until.div_euclid(step) * step + step;
    let slots = ((end - start) / step).max(0) as usize;
    let (mut sums, mut counts) = (vec![0.0; slots], vec![0u32; slots]);
    let mut cursor = ScanCursor::starting_at(start);
    let mut past_end = false;
    while !cursor.is_done() && !past_end {
        store.scan_some(Keys::One(key), &mut cursor, SCAN_BATCH, &mut |_, timestamp, value| {
            if timestamp >= end {
                past_end = true;
            } else if timestamp >= start && !value.is_nan() {
                let slot = ((timestamp - start) / step) as usize;
                sums[slot] += value;
                counts[slot] += 1;
            }
        })?;
    }
    let values = sums
        .iter()
        .zip(&counts)
        .map(|(&sum, &count)| if count == 0 { f64::NAN } else { sum / f64::from(count) })
        .collect();
    Ok(Series::new(key, path_expression, start, step, values))
}

/// The (lower) median gap between the first points of `key` from `from`
/// on.
fn native_step(store: &dyn Backend, key: &str, from: i64) -> eardrum_storage::Result<i64> {
    let mut timestamps = Vec::with_capacity(STEP_SAMPLE + 1);
    let mut cursor = ScanCursor::starting_at(from);
    while !cursor.is_done() && timestamps.len() <= STEP_SAMPLE {
        store.scan_some(Keys::One(key), &mut cursor, STEP_SAMPLE + 1, &mut |_, timestamp, _| {
            if timestamps.len() <= STEP_SAMPLE {
                timestamps.push(timestamp);
            }
        })?;
    }
    let mut gaps: Vec<i64> =
        timestamps.windows(2).map(|pair| pair[1] - pair[0]).filter(|&gap| gap > 0).collect();
    if gaps.is_empty() {
        return Ok(DEFAULT_STEP);
    }
    // The lower median: with two gaps, a missed point is no reason to
    // double the step.
    let middle = (gaps.len() - 1) / 2;
    Ok(*gaps.select_nth_unstable(middle).1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use eardrum_storage::{Options, Sample, Store};

    #[test]
    fn series_read_at_the_step_their_points_arrive() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), Options::default()).unwrap();
        // Every 10 s from 1000, one missed (1040) and one doubled (1051).
        let points =
            [(1000, 1.0), (1010, 2.0), (1020, 3.0), (1030, 4.0), (1050, 6.0), (1051, 8.0), (1060, 9.0)];
        let samples: Vec<Sample> =
            points.iter().map(|&(timestamp, value)| Sample { key: "a", timestamp, value }).collect();
        store.put(&samples).unwrap();
        let series = read_series(&store, "a", "a*", 995, 1060).unwrap();
        assert_eq!((series.start, series.step, series.end()), (1000, 10, 1070));
        let shown: Vec<Option<f64>> = series.values.iter().map(|v| (!v.is_nan()).then_some(*v)).collect();
        assert_eq!(shown, [Some(1.0), Some(2.0), Some(3.0), Some(4.0), None, Some(7.0), Some(9.0)]);
        assert_eq!(series.tags["name"], "a");
        assert_eq!(series.path_expression, "a*");
        // Whisper's slots: the one holding `from` is not returned.
        assert_eq!(read_series(&store, "a", "a", 1000, 1060).unwrap().start, 1010);

        let coarse = series.resampled(30);
        assert_eq!((coarse.start, coarse.step), (990, 30));
        assert_eq!(coarse.values, [1.5, 3.5, 8.0]);
        assert_eq!((coarse.value_at(1019), coarse.value_at(1020)), (1.5, 3.5));
        assert!(coarse.value_at(989).is_nan() && coarse.value_at(1080).is_nan());

        let lonely = read_series(&store, "missing", "missing", 0, 600).unwrap();
        assert_eq!((lonely.step, lonely.values.len()), (DEFAULT_STEP, 10));
        assert!(lonely.values.iter().all(|v| v.is_nan()));
    }
}
