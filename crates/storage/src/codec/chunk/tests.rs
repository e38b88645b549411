//! Chunk codec tests: named cases that check the round trip to the bit and
//! the encoding chosen, property tests, and damage that must never panic.

use super::*;
use proptest::prelude::*;

fn round_trip(points: &[(i64, f64)]) -> Vec<u8> {
    let mut chunk = Vec::new();
    encode(points, &mut chunk);
    let decoded: Vec<(i64, u64)> = Decoder::new(&chunk)
        .unwrap()
        .map(|p| p.map(|(t, v)| (t, v.to_bits())))
        .collect::<Result<_, _>>()
        .unwrap();
    let expected: Vec<(i64, u64)> = points.iter().map(|&(t, v)| (t, v.to_bits())).collect();
    assert_eq!(decoded, expected);
    let summary = summary(&chunk).unwrap();
    assert_eq!(summary.count as usize, points.len());
    assert_eq!((summary.first_ts, summary.last_ts), (points[0].0, points[points.len() - 1].0));
    chunk
}

fn value_encoding(chunk: &[u8]) -> u8 {
    let mut input = chunk;
    read_summary(&mut input).unwrap();
    let ts_len = varint::read_u64(&mut input).unwrap() as usize;
    input[ts_len]
}

fn regular(n: i64, mut value: impl FnMut(i64) -> f64) -> Vec<(i64, f64)> {
    (0..n).map(|i| (1_700_000_000 + 10 * i, value(i))).collect()
}

/// A cheap deterministic pseudo-random sequence for the cases.
fn noise(i: i64) -> u64 {
    (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17).wrapping_mul(0xBF58_476D_1CE4_E5B9)
}

struct Case {
    name: &'static str,
    points: Vec<(i64, f64)>,
    encoding: u8,
    /// Upper bound on the chunk's bytes per point.
    max_bytes_per_point: f64,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "constant",
            points: regular(120, |_| 64.0),
            encoding: DECIMAL_PACKED,
            max_bytes_per_point: 0.3,
        },
        Case {
            name: "gauge wandering by tenths, often unchanged",
            points: {
                let mut tenths = 200i64;
                regular(120, |i| {
                    tenths += [0, 0, 0, 1, -1, 2, -3, 0][(noise(i) % 8) as usize];
                    tenths as f64 / 10.0
                })
            },
            encoding: DECIMAL_PACKED,
            max_bytes_per_point: 0.9,
        },
        Case {
            name: "gauge mostly unchanged with rare jumps",
            points: regular(120, |i| {
                if i < 60 {
                    12.5
                } else if i < 100 {
                    97.25
                } else {
                    12.5
                }
            }),
            encoding: DECIMAL_BUCKETED,
            max_bytes_per_point: 0.5,
        },
        Case {
            name: "gauge jumping within a band, two decimals",
            points: regular(120, |i| (2000 + noise(i) % 500) as f64 / 100.0),
            encoding: DECIMAL_PACKED,
            max_bytes_per_point: 1.6,
        },
        Case {
            name: "jittered timestamps",
            points: (0..120).map(|i| (1_700_000_000 + 10 * i + (noise(i) % 3) as i64, 1.5)).collect(),
            encoding: DECIMAL_PACKED,
            max_bytes_per_point: 1.0,
        },
        Case {
            name: "counter with varying increments",
            points: {
                let mut total = 0i64;
                regular(120, |i| {
                    total += 1000 + (noise(i) % 4000) as i64;
                    total as f64
                })
            },
            encoding: DECIMAL_PACKED,
            max_bytes_per_point: 1.8,
        },
        Case {
            name: "counter at a steady rate",
            points: regular(120, |i| (i * 250) as f64),
            encoding: DECIMAL_PACKED,
            max_bytes_per_point: 0.3,
        },
        Case {
            name: "random doubles",
            points: regular(120, |i| f64::from_bits(noise(i) >> 2)),
            encoding: XOR,
            max_bytes_per_point: 10.0,
        },
        Case {
            name: "NaN, infinities and negative zero",
            points: regular(6, |i| [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0, 0.0, 1.0][i as usize]),
            encoding: XOR,
            max_bytes_per_point: 10.0,
        },
        Case {
            name: "negative and huge timestamps",
            points: vec![(i64::MIN, 1.0), (-5, 2.0), (0, 3.0), (i64::MAX - 1, 4.0), (i64::MAX, 5.0)],
            encoding: DECIMAL_BUCKETED,
            max_bytes_per_point: 20.0,
        },
        Case {
            name: "one point",
            points: vec![(42, 0.25)],
            encoding: DECIMAL_BUCKETED,
            max_bytes_per_point: 12.0,
        },
        Case {
            name: "out of order input, sorted by the store first",
            points: {
                let mut points: Vec<(i64, f64)> =
                    (0..50).map(|i| ((noise(i) % 1000) as i64, i as f64)).collect();
                points.sort_by_key(|&(t, _)| t);
                points.dedup_by_key(|p| p.0);
                points
            },
            encoding: DECIMAL_PACKED,
            max_bytes_per_point: 4.0,
        },
        Case {
            name: "values too precise for decimals",
            points: regular(120, |i| 0.1 + 0.2 * i as f64 + 1e-13),
            encoding: XOR,
            max_bytes_per_point: 10.0,
        },
    ]
}

#[test]
fn named_cases_round_trip_and_choose_their_encoding() {
    for case in cases() {
        let chunk = round_trip(&case.points);
        assert_eq!(value_encoding(&chunk), case.encoding, "{}: encoding", case.name);
        let per_point = chunk.len() as f64 / case.points.len() as f64;
        assert!(per_point <= case.max_bytes_per_point, "{}: {per_point:.2} bytes/point", case.name);
    }
}

/// Sealing a head built point by point must give exactly the bytes
/// `encode` writes for the same points: a block written from either reads
/// the same, and size figures hold for both.
fn assert_head_seals_like_encode(points: &[(i64, f64)]) {
    let mut head = Head::new(points[0].0, points[0].1);
    for &(t, v) in &points[1..] {
        head.push(t, v);
    }
    let (mut sealed, mut encoded) = (Vec::new(), Vec::new());
    head.seal(&mut sealed);
    encode(points, &mut encoded);
    assert_eq!(sealed, encoded, "{} points", points.len());
}

#[test]
fn heads_seal_to_the_bytes_encode_writes() {
    for case in cases() {
        for len in [1, 2, case.points.len()] {
            assert_head_seals_like_encode(&case.points[..len.min(case.points.len())]);
        }
    }
}

#[test]
fn a_head_decodes_what_was_pushed_and_seals_to_the_same_points() {
    let points = regular(120, |i| 20.0 + ((noise(i) % 50) as f64) / 10.0);
    let mut head = Head::new(points[0].0, points[0].1);
    for &(t, v) in &points[1..] {
        head.push(t, v);
    }
    assert_eq!(head.points(), points);
    assert_eq!((head.first_ts(), head.last_ts(), head.len()), (points[0].0, points[119].0, 120));
}

#[test]
fn a_head_switches_encoding_when_values_need_it_and_keeps_every_point() {
    let values = [23.7, 23.7, 24.0, 24.25, 24.125, 1e300, -0.0, f64::NAN, 3.0];
    let mut expected = Vec::new();
    let mut head = Head::new(0, 1.0);
    expected.push((0, 1f64.to_bits()));
    for (i, &value) in values.iter().enumerate() {
        let timestamp = 10 * (i as i64 + 1);
        head.push(timestamp, value);
        expected.push((timestamp, value.to_bits()));
        let held: Vec<(i64, u64)> = head.points().into_iter().map(|(t, v)| (t, v.to_bits())).collect();
        assert_eq!(held, expected, "after pushing {value}");
    }
}

#[test]
fn truncated_or_flipped_chunks_are_errors_not_panics() {
    for case in cases() {
        let mut chunk = Vec::new();
        encode(&case.points, &mut chunk);
        for cut in 0..chunk.len() {
            drain(&chunk[..cut]);
        }
        for byte in 0..chunk.len() {
            for bit in 0..8 {
                let mut damaged = chunk.clone();
                damaged[byte] ^= 1 << bit;
                drain(&damaged);
            }
        }
    }
}

/// Decodes whatever it can; only a panic fails.
#[test]
fn holds_timestamp_steps_over_runs_of_regular_points() {
    // Runs of one interval (runs longer than one 56-bit read included),
    // a change of interval, and jitter.
    let mut timestamps: Vec<i64> = (0..130).map(|i| 1_700_000_000 + 10 * i).collect();
    let last = timestamps[timestamps.len() - 1];
    timestamps.extend((1..40).map(|i| last + 15 * i));
    let last = timestamps[timestamps.len() - 1];
    timestamps.extend([last + 9, last + 20, last + 31, last + 41]);
    let points: Vec<(i64, f64)> = timestamps.iter().map(|&t| (t, 1.5)).collect();
    let mut chunk = Vec::new();
    encode(&points, &mut chunk);
    let mut head = Head::new(points[0].0, points[0].1);
    for &(timestamp, value) in &points[1..] {
        head.push(timestamp, value);
    }
    let (first, last) = (timestamps[0], timestamps[timestamps.len() - 1]);
    for probe in first - 20..=last + 20 {
        let expected = timestamps.binary_search(&probe).is_ok();
        assert_eq!(Decoder::new(&chunk).unwrap().holds_timestamp(probe), expected, "chunk, {probe}");
        assert_eq!(head.decoder().holds_timestamp(probe), expected, "head, {probe}");
    }
}

fn drain(bytes: &[u8]) {
    if let Ok(decoder) = Decoder::new(bytes) {
        for point in decoder {
            if point.is_err() {
                break;
            }
        }
    }
}

fn points_strategy() -> impl Strategy<Value = Vec<(i64, f64)>> {
    let value = prop_oneof![
        any::<f64>(),
        (-100_000i64..100_000).prop_map(|v| v as f64 / 100.0),
        Just(f64::NAN),
        Just(-0.0),
    ];
    proptest::collection::btree_map(any::<i64>(), value, 1..200).prop_map(|map| map.into_iter().collect())
}

proptest! {
    #[test]
    fn any_sorted_points_round_trip_to_the_bit(points in points_strategy()) {
        round_trip(&points);
    }

    #[test]
    fn any_sorted_points_seal_from_a_head_as_they_encode(points in points_strategy()) {
        assert_head_seals_like_encode(&points);
    }

    #[test]
    fn holds_timestamp_finds_exactly_the_points_timestamps(points in points_strategy(), other in any::<i64>()) {
        let mut chunk = Vec::new();
        encode(&points, &mut chunk);
        let mut head = Head::new(points[0].0, points[0].1);
        for &(timestamp, value) in &points[1..] {
            head.push(timestamp, value);
        }
        let probes = points.iter().flat_map(|&(t, _)| [t.wrapping_sub(1), t, t.wrapping_add(1)]);
        for probe in probes.chain([other, i64::MIN, i64::MAX]) {
            let expected = points.iter().any(|&(t, _)| t == probe);
            prop_assert_eq!(Decoder::new(&chunk).unwrap().holds_timestamp(probe), expected, "chunk, {}", probe);
            prop_assert_eq!(head.decoder().holds_timestamp(probe), expected, "head, {}", probe);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        drain(&bytes);
    }
}
