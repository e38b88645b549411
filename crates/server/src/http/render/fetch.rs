//! Reading a series for `/render` from the store's raw points: its step
//! from the first points in the range, then slots as whisper aligns them
//! (see [`eardrum_graphite::series`]), each the average of the points in it.

use eardrum_graphite::series::{slots, step_of, Series, STEP_SAMPLE};
use eardrum_storage::{Backend, Keys, ScanCursor};

/// Points read per hold of the store's lock.
const SCAN_BATCH: usize = 4096;

/// The series stored under `key`, as slots between `from` and `until`.
pub(super) fn read_series(
    store: &dyn Backend,
    key: &str,
    path_expression: &str,
    from: i64,
    until: i64,
) -> eardrum_storage::Result<Series> {
    let (start, step, count) = slots(from, until, native_step(store, key, from)?);
    let end = start + step * count as i64;
    let (mut sums, mut counts) = (vec![0.0; count], vec![0u32; count]);
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
        let series = read_series(&store, "a", "a*", 995, 1060).unwrap();
        assert_eq!((series.start, series.step, series.end()), (1000, 10, 1070));
        let shown: Vec<Option<f64>> = series.values.iter().map(|v| (!v.is_nan()).then_some(*v)).collect();
        assert_eq!(shown, [Some(1.0), Some(2.0), Some(3.0), Some(4.0), None, Some(7.0), Some(9.0)]);
        assert_eq!(series.tags["name"], "a");
        assert_eq!(series.path_expression, "a*");
        // Whisper's slots: the one holding `from` is not returned.
        assert_eq!(read_series(&store, "a", "a", 1000, 1060).unwrap().start, 1010);

        let lonely = read_series(&store, "missing", "missing", 0, 600).unwrap();
        assert_eq!((lonely.step, lonely.values.len()), (eardrum_graphite::series::DEFAULT_STEP, 10));
        assert!(lonely.values.iter().all(|v| v.is_nan()));
    }
}
