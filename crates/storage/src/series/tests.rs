use super::*;
use proptest::prelude::*;

fn points(series: &Series) -> Vec<(i64, u64)> {
    let mut out = Vec::new();
    series.for_each(|t, v| out.push((t, v.to_bits())));
    out
}

proptest! {
    #[test]
    fn behaves_like_a_sorted_map(
        puts in proptest::collection::vec((-30_000i64..30_000, -500i64..500), 0..600),
        fold_at in 0usize..600,
    ) {
        let mut series = Series::default();
        let mut model = BTreeMap::new();
        for (index, (timestamp, tenths)) in puts.into_iter().enumerate() {
            let value = tenths as f64 / 10.0;
            let new = series.insert(timestamp, value, Bounds::IN_MEMORY);
            prop_assert_eq!(new, model.insert(timestamp, value.to_bits()).is_none());
            if index == fold_at {
                series.fold(i64::MIN);
            }
        }
        let expected: Vec<_> = model.into_iter().collect();
        prop_assert_eq!(points(&series), expected.clone());
        series.fold(i64::MIN);
        prop_assert!(!series.has_overlay(i64::MIN));
        prop_assert_eq!(points(&series), expected.clone());
    }
}

proptest! {
    #[test]
    fn a_scan_resumed_anywhere_visits_each_point_once(
        puts in proptest::collection::vec((-20_000i64..20_000, -50i64..50), 1..400),
        limit in 1usize..50,
    ) {
        let mut series = Series::default();
        for (timestamp, tenths) in puts {
            series.insert(timestamp, tenths as f64 / 10.0, Bounds::IN_MEMORY);
        }
        let mut resumed = Vec::new();
        let mut after = None;
        loop {
            let visited = series.scan(after, limit, |t, v| resumed.push((t, v.as_f64().to_bits())));
            after = resumed.last().map(|p| p.0);
            if visited < limit {
                break;
            }
        }
        prop_assert_eq!(resumed, points(&series));
    }
}

#[test]
fn in_order_points_seal_into_chunks_per_window() {
    let mut series = Series::default();
    for i in 0..1000 {
        series.insert(i * 10, (i % 7) as f64, Bounds::IN_MEMORY);
    }
    assert!(!series.has_overlay(i64::MIN));
    // 10,000 s span two windows of 7,200 s; chunks of 120 points.
    let in_first: usize = series.parts_in(0).len();
    let in_second: usize = series.parts_in(1).len();
    assert_eq!((in_first, in_second), (6, 3));
    assert_eq!(series.sealed_len(), 1000 - 40);
}

#[test]
fn drop_before_removes_whole_windows() {
    let mut series = Series::default();
    for i in 0..3000 {
        series.insert(i * 10, 1.0, Bounds::IN_MEMORY);
    }
    series.insert(5, 2.0, Bounds::IN_MEMORY);
    series.drop_before(2);
    let kept = points(&series);
    assert_eq!(kept.first().map(|p| p.0), Some(2 * WINDOW_SECONDS));
    assert_eq!(kept.len(), 3000 - 1440);
}
