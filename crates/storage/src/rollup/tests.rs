use super::encoding::Levels;
use super::*;

fn encode_all(steps: &[i64], written_from: usize, points: impl Iterator<Item = (i64, f64)>) -> Vec<u8> {
    let mut levels = Levels::default();
    encode(steps, written_from, points, &mut levels);
    let mut out = Vec::new();
    levels.write(&mut out);
    out
}

fn rolled(steps: &[i64], points: &[(i64, f64)]) -> Vec<(i64, Aggregate)> {
    let mut slots = Vec::new();
    let mut roller = Roller::new(steps);
    let mut emit = |start, aggregate: &Aggregate| slots.push((start, *aggregate));
    for &(timestamp, value) in points {
        roller.push(timestamp, value, &mut emit);
    }
    roller.flush(&mut emit);
    slots
}

#[test]
fn steps_nest_inside_the_window() {
    assert!(check_steps(&DEFAULT_ROLLUP_STEPS).is_ok());
    assert!(check_steps(&[]).is_ok());
    assert!(check_steps(&[1, 60, 7200]).is_ok());
    for bad in [&[0][..], &[-300], &[7], &[14_400], &[300, 300], &[3600, 300], &[300, 900, 1800, 2400]] {
        let error = check_steps(bad).unwrap_err().to_string();
        assert!(error.contains("rollup step"), "{bad:?}: {error}");
    }
}

#[test]
fn slots_hold_every_aggregate_and_leave_nan_out() {
    let points = [(7200, 2.0), (7210, f64::NAN), (7260, -1.0), (7299, 5.0), (7500, 0.5), (7800, f64::NAN)];
    let slots = rolled(&[300], &points);
    assert_eq!(slots.len(), 2, "a slot of only NaN has no aggregate");
    let (start, first) = slots[0];
    assert_eq!(start, 7200);
    assert_eq!(first, Aggregate { count: 3, sum: 6.0, min: -1.0, max: 5.0, first: 2.0, last: 5.0 });
    assert_eq!(first.mean(), 2.0);
    assert_eq!(slots[1], (7500, Aggregate::of(0.5)));
    // Equal extremes keep the earliest: -0.0 before 0.0.
    let zeros = rolled(&[60], &[(0, -0.0), (1, 0.0)]);
    assert!(zeros[0].1.min.is_sign_negative() && zeros[0].1.max.is_sign_negative());
}

#[test]
fn coarser_slots_add_the_finer_slots_sums() {
    // Sums that differ by grouping: 1e16 + 1 + 1 is 1e16 added in turn,
    // 1e16 + 2 when the ones are added first.
    let points = [(0, 1e16), (300, 1.0), (301, 1.0)];
    let hourly = rolled(&[300, 3600], &points);
    assert_eq!(hourly[0].1.sum, 1e16 + 2.0, "the hour adds its five-minute sums");
    assert_eq!(rolled(&[3600], &points)[0].1.sum, 1e16, "points added in turn");
}

#[test]
fn encoded_rollups_decode_to_what_a_roller_makes() {
    let steps = [60, 300, 3600];
    let window = 3;
    let start = window * WINDOW_SECONDS;
    let points: Vec<(i64, f64)> = (0..700)
        .map(|i| (start + i * 10 + i % 3, if i % 97 == 5 { f64::NAN } else { (i % 50) as f64 / 10.0 - 1.3 }))
        .collect();
    let encoded = encode_all(&steps, 0, points.iter().copied());
    for level in 0..steps.len() {
        let decoded = decode(&encoded, window, steps[level]).unwrap().unwrap();
        assert_eq!(decoded, rolled(&steps[..=level], &points), "level {level}");
    }
    assert_eq!(decode(&encoded, window, 120).unwrap(), None, "a step not rolled up");
    let coarse = encode_all(&steps, 2, points.iter().copied());
    assert_eq!(decode(&coarse, window, 300).unwrap(), None, "only the levels from the one asked");
    assert_eq!(decode(&coarse, window, 3600).unwrap(), decode(&encoded, window, 3600).unwrap());

    let nothing = encode_all(&steps, 0, [(start, f64::NAN)].into_iter());
    assert!(nothing.is_empty());
}

#[test]
fn damaged_rollups_are_refused_never_misread() {
    let steps = [300, 3600];
    let points: Vec<(i64, f64)> = (0..720).map(|i| (i * 10, (i % 17) as f64 * 0.25)).collect();
    let encoded = encode_all(&steps, 0, points.iter().copied());
    let good = decode(&encoded, 0, 3600).unwrap();
    for at in 0..encoded.len() {
        for flip in [0x01u8, 0x80, 0xff] {
            let mut damaged = encoded.clone();
            damaged[at] ^= flip;
            // A flipped value bit may decode to other numbers (the block
            // file's checksum catches those); what must not happen is a
            // panic, or slots that break the window's rules.
            if let Ok(Some(slots)) = decode(&damaged, 0, 3600) {
                assert!(slots
                    .iter()
                    .all(|(start, a)| start % 3600 == 0 && (0..7200).contains(start) && a.count >= 1));
            }
        }
        let _ = decode(&encoded[..at], 0, 3600);
    }
    assert_eq!(decode(&encoded, 0, 3600).unwrap(), good);
}

#[test]
fn levels_are_kept_at_least_as_long_as_the_tier_before() {
    let hours = |hours: u64| Some(Duration::from_secs(hours * 3600));
    let level = |step, retention| RollupLevel { step, retention };
    assert!(check_levels(hours(24), &[level(300, hours(48)), level(3600, None)]).is_ok());
    assert_eq!(
        tier_retention(hours(24), &[level(300, None), level(3600, hours(72))]),
        [hours(24), hours(24), hours(72)]
    );
    let error = check_levels(hours(24), &[level(300, hours(12))]).unwrap_err().to_string();
    assert!(error.contains("the 300s rollups must be kept at least as long as the raw points"), "{error}");
    let error = check_levels(None, &[level(300, hours(12))]).unwrap_err().to_string();
    assert!(error.contains("at least as long as the raw points"), "{error}");
    let error = check_levels(None, &[level(300, None), level(3600, hours(1))]).unwrap_err().to_string();
    assert!(error.contains("the 3600s rollups must be kept at least as long as the 300s rollups"), "{error}");
}

#[test]
fn retained_levels_decode_as_before_and_others_are_gone() {
    let steps = [60, 300, 3600];
    let points: Vec<(i64, f64)> = (0..720).map(|i| (i * 10, (i % 9) as f64)).collect();
    let encoded = encode_all(&steps, 0, points.iter().copied());
    let kept = retain_levels(&encoded, |_, step| step >= 300).unwrap();
    assert!(kept.len() < encoded.len());
    assert_eq!(decode(&kept, 0, 60).unwrap(), None);
    for step in [300, 3600] {
        assert_eq!(decode(&kept, 0, step).unwrap(), decode(&encoded, 0, step).unwrap());
    }
    assert!(retain_levels(&encoded, |_, _| false).unwrap().is_empty());
    assert!(retain_levels(&encoded[..encoded.len() - 1], |_, _| true).is_err());
}
