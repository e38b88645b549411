//! Reading a series for `/render` from the store's raw points. With a
//! storage schema, as whisper would hold them (see
//! [`eardrum_graphite::schema`]): the archive whisper reads, the last
//! write in each slot, coarser archives rolled up. Without one, the step is
//! read from the first points in the range and each slot is the average of
//! the points in it (see [`eardrum_graphite::series`]); when `maxDataPoints`
//! asks for fewer points than that step gives, slots are the coarsest of the
//! store's rollup steps that still gives at least as many, read from the
//! rollups (as graphite reads a long range from a coarser archive).

use eardrum_graphite::schema::Layout;
use eardrum_graphite::series::{slots, step_of, Series, STEP_SAMPLE};
use eardrum_storage::{Backend, Keys, ScanCursor};

/// The range a series is read over, and the time it is read at.
#[derive(Debug, Clone, Copy)]
pub(super) struct Range {
    pub(super) from: i64,
    pub(super) until: i64,
    /// Slots after the one holding it are not returned.
    pub(super) now: i64,
    /// The request's `maxDataPoints`: without a layout, a range that would
    /// have many more slots is read from rollups.
    pub(super) max_points: Option<usize>,
}

/// The series stored under `key`, named `name`, as slots between `from`
/// and `until` (at most through the slot holding `now`); `None` when the
/// range is wholly after `now` or before the layout's retention, as whisper
/// returns none.
pub(super) fn read_series(
    store: &dyn Backend,
    key: &str,
    name: &str,
    path_expression: &str,
    range: Range,
    layout: Option<&Layout>,
) -> eardrum_storage::Result<Option<Series>> {
    if let Some(layout) = layout {
        let Some(plan) = layout.plan(range.from, range.until, range.now) else { return Ok(None) };
        let mut fold = plan.fold();
        match plan.archive() {
            // The finest archive is the points, the last in each slot.
            0 => store.scan_between(key, plan.start, plan.end(), &mut |timestamp, value| {
                fold.push(timestamp, value)
            })?,
            archive => store.archive(key, layout, archive, plan.start, plan.end(), &mut |slot, value| {
                fold.push_archived(slot, value)
            })?,
        }
        return Ok(Some(Series::new(name, path_expression, plan.start, plan.step, fold.finish())));
    }
    if range.from > range.now {
        return Ok(None);
    }
    let until = range.until.min(range.now);
    let native = native_step(store, key, range.from)?;
    let rolled = rollup_step(store.rollup_steps(), native, until - range.from, range.max_points);
    // `slots` keeps the step a multiple of the rollups'.
    let (start, step, count) = slots(range.from, until, rolled.unwrap_or(native));
    let end = start + step * count as i64;
    // Each slot's sum and count, from the rollups' slots inside it or from
    // its points one by one: 16 bytes a slot either way.
    let (mut sums, mut counts) = (vec![0.0; count], vec![0u64; count]);
    let mut add = |time: i64, sum: f64, points: u64| {
        if let Some(slot) = usize::try_from((time - start) / step).ok().filter(|&slot| slot < count) {
            sums[slot] += sum;
            counts[slot] += points;
        }
    };
    match rolled {
        Some(rolled) => store.rollups(key, rolled, start, end, &mut |time, aggregate| {
            add(time, aggregate.sum, aggregate.count)
        })?,
        None => store.scan_between(key, start, end, &mut |timestamp, value| {
            if !value.is_nan() {
                add(timestamp, value, 1);
            }
        })?,
    }
    let values = sums
        .iter()
        .zip(&counts)
        .map(|(&sum, &count)| if count == 0 { f64::NAN } else { sum / count as f64 })
        .collect();
    Ok(Some(Series::new(name, path_expression, start, step, values)))
}

/// The rollup step a series of `native` step over `span` seconds is read
/// at for `max_points`: the coarsest of `rolled` (finest first) that is
/// coarser than the native step and still gives `max_points` slots or
/// more; `None` to read the points.
fn rollup_step(rolled: &[i64], native: i64, span: i64, max_points: Option<usize>) -> Option<i64> {
    let wanted = span / i64::try_from(max_points?).ok()?.max(1);
    rolled.iter().rev().copied().find(|&step| step > native && step <= wanted)
}

/// The step of `key` from its first points from `from` on.
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
    Ok(step_of(&timestamps))
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
        let read = |key: &str, pattern: &str, from: i64, until: i64| {
            read_series(&store, key, key, pattern, Range { from, until, now: 2000, max_points: None }, None)
                .unwrap()
                .unwrap()
        };
        let series = read("a", "a*", 995, 1060);
        assert_eq!((series.start, series.step, series.end()), (1000, 10, 1070));
        let shown: Vec<Option<f64>> = series.values.iter().map(|v| (!v.is_nan()).then_some(*v)).collect();
        assert_eq!(shown, [Some(1.0), Some(2.0), Some(3.0), Some(4.0), None, Some(7.0), Some(9.0)]);
        assert_eq!(series.tags["name"], "a");
        assert_eq!(series.path_expression, "a*");
        // Whisper's slots: the one holding `from` is not returned.
        assert_eq!(read("a", "a", 1000, 1060).start, 1010);
        assert_eq!(read("a", "a", 1000, 3000).end(), 2010, "through the slot holding now");
        let future = Range { from: 2001, until: 3000, now: 2000, max_points: None };
        assert!(read_series(&store, "a", "a", "a", future, None).unwrap().is_none());

        let lonely = read("missing", "missing", 0, 600);
        assert_eq!((lonely.step, lonely.values.len()), (eardrum_graphite::series::DEFAULT_STEP, 10));
        assert!(lonely.values.iter().all(|v| v.is_nan()));
    }

    #[test]
    fn series_with_a_schema_read_as_whisper_holds_them() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), Options::default()).unwrap();
        // Two points in one 60 s slot, at 10 s apart.
        let points = [(6000, 1.0), (6010, 2.0), (6030, 3.0), (6090, 5.0)];
        let samples: Vec<Sample> =
            points.iter().map(|&(timestamp, value)| Sample { key: "a", timestamp, value }).collect();
        store.put(&samples).unwrap();
        let schemas = eardrum_graphite::schema::StorageSchemas::parse(
            "[a]\npattern = ^a$\nretentions = 60s:1h,5m:1d\n",
            Some("[a]\npattern = .\nxFilesFactor = 0\naggregationMethod = max\n"),
        )
        .unwrap();
        let layout = schemas.layout_for("a").unwrap();
        let read = |from, until, now| {
            read_series(&store, "a", "a", "a", Range { from, until, now, max_points: None }, Some(&layout))
        };
        let fine = read(5990, 6100, 6100).unwrap().unwrap();
        assert_eq!((fine.start, fine.step), (6000, 60));
        assert_eq!(fine.values[..2], [3.0, 5.0], "the last write in each slot");
        let coarse = read(3000, 6100, 6100 + 3600).unwrap().unwrap();
        assert_eq!(coarse.step, 300, "an hour back is past the minute archive");
        assert_eq!(coarse.value_at(6000), 5.0, "the five minutes' maximum");
        assert!(read(0, 100, 6100 + 86_400 * 2).unwrap().is_none(), "past the retention");
    }
}
