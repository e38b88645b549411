//! The store against a model: random puts, reads, checkpoints and restarts
//! must answer exactly as a map of sorted maps with first-put key order.

#![expect(clippy::unwrap_used, reason = "test helpers: a failure is a panic")]

use eardrum_graphite::schema::{Layout, StorageSchemas};
use eardrum_storage::rollup::{Aggregate, Roller};
use eardrum_storage::{Keys, Options, Sample, ScanCursor, Store, SyncMode};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::sync::Arc;

#[derive(Debug, Clone)]
enum Op {
    /// Scattered points, often out of order and overwriting.
    Put(Vec<(u8, i64, i16)>),
    /// An in-order run for one key: fills heads and seals chunks.
    Run {
        key: u8,
        start: i64,
        count: usize,
        step: i64,
        base: i16,
    },
    Get(u8),
    /// A read of one key's rollups at the first `level + 1` steps.
    Rollups {
        key: u8,
        level: usize,
        from: i64,
        span: i64,
    },
    /// A read of one key's archive `archive` of the layout the schemas
    /// give it.
    Archive {
        key: u8,
        archive: usize,
        from: i64,
        span: i64,
    },
    /// A read of everything a few points at a time.
    GetPages(usize),
    Checkpoint,
    Restart,
}

fn op() -> impl Strategy<Value = Op> {
    let sample = (0u8..6, -30_000i64..30_000, any::<i16>());
    prop_oneof![
        3 => proptest::collection::vec(sample, 1..8).prop_map(Op::Put),
        3 => (0u8..6, -30_000i64..30_000, 1usize..300, 1i64..60, any::<i16>())
            .prop_map(|(key, start, count, step, base)| Op::Run { key, start, count, step, base }),
        2 => (0u8..6).prop_map(Op::Get),
        2 => (0u8..6, 0usize..2, -32_000i64..32_000, 1i64..70_000)
            .prop_map(|(key, level, from, span)| Op::Rollups { key, level, from, span }),
        2 => (0u8..6, 1usize..4, -32_000i64..32_000, 1i64..200_000)
            .prop_map(|(key, archive, from, span)| Op::Archive { key, archive, from, span }),
        1 => (1usize..9).prop_map(Op::GetPages),
        1 => Just(Op::Checkpoint),
        1 => Just(Op::Restart),
    ]
}

#[derive(Default)]
struct Model {
    order: Vec<String>,
    series: BTreeMap<String, BTreeMap<i64, u64>>,
}

impl Model {
    fn put(&mut self, key: &str, timestamp: i64, value: f64) {
        if !self.series.contains_key(key) {
            self.order.push(key.to_owned());
        }
        self.series.entry(key.to_owned()).or_default().insert(timestamp, value.to_bits());
    }

    fn get(&self, key: Option<&str>) -> Vec<(String, i64, u64)> {
        self.order
            .iter()
            .filter(|k| key.is_none_or(|key| *k == key))
            .flat_map(|k| self.series[k].iter().map(move |(t, v)| (k.clone(), *t, *v)))
            .collect()
    }

    /// `key`'s slots at `steps`' last, rolled up from its points.
    fn rollups(&self, key: &str, steps: &[i64], from: i64, until: i64) -> Vec<(i64, [u64; 6])> {
        let step = steps[steps.len() - 1];
        let (from, until) = (from.div_euclid(step) * step, (until + step - 1).div_euclid(step) * step);
        let mut slots = Vec::new();
        let mut roller = Roller::new(steps);
        let mut emit = |start, aggregate: &Aggregate| slots.push((start, aggregate_bits(aggregate)));
        for (&timestamp, &value) in self.series.get(key).into_iter().flat_map(|s| s.range(from..until)) {
            roller.push(timestamp, f64::from_bits(value), &mut emit);
        }
        roller.flush(&mut emit);
        slots
    }

    /// `key`'s slots of `layout`'s archive `archive`, made from its
    /// points as carbon and whisper would.
    fn archive(&self, key: &str, layout: &Layout, archive: usize, from: i64, until: i64) -> Vec<(i64, u64)> {
        let step = layout.archives[archive].step;
        let (from, until) = (from.div_euclid(step) * step, (until + step - 1).div_euclid(step) * step);
        let points = self.series.get(key).into_iter().flat_map(|s| s.range(from..until));
        let slots = layout.archive_of(archive, points.map(|(&t, &v)| (t, f64::from_bits(v)))).unwrap();
        slots.into_iter().map(|(start, value)| (start, value_bits(value))).collect()
    }

    fn points(&self) -> u64 {
        self.series.values().map(|s| s.len() as u64).sum()
    }
}

/// A value to compare, every NaN alike (a sum of opposite infinities).
fn value_bits(value: f64) -> u64 {
    if value.is_nan() {
        f64::NAN.to_bits()
    } else {
        value.to_bits()
    }
}

/// An aggregate's values to compare.
fn aggregate_bits(aggregate: &Aggregate) -> [u64; 6] {
    let Aggregate { count, sum, min, max, first, last } = *aggregate;
    [count, value_bits(sum), value_bits(min), value_bits(max), value_bits(first), value_bits(last)]
}

/// Two layouts: archives every window stores, and a day's made from them
/// when read.
const SCHEMAS: &str = "[low]\npattern = \\.[012]$\nretentions = 1s:1d,60s:7d,600s:30d,86400s:5y\n\n\
                       [rest]\npattern = .\nretentions = 10s:1d,300s:30d,7200s:1y,86400s:5y\n";
const AGGREGATION: &str = "[low]\npattern = \\.[012]$\nxFilesFactor = 0.5\naggregationMethod = average\n\n\
                           [rest]\npattern = .\nxFilesFactor = 0.1\naggregationMethod = sum\n";

fn read(store: &Store, key: Option<&str>) -> Vec<(String, i64, u64)> {
    let mut points = Vec::new();
    let keys = key.map_or(Keys::All, Keys::One);
    store.scan(keys, |k, t, v| points.push((k.to_owned(), t, v.to_bits()))).unwrap();
    points
}

/// As [`read`], a few points per call: resumes cross the line between the
/// windows on disk and those in memory at every offset.
fn read_in_pages(store: &Store, key: Option<&str>, page: usize) -> Vec<(String, i64, u64)> {
    let mut points = Vec::new();
    let keys = key.map_or(Keys::All, Keys::One);
    let mut cursor = ScanCursor::default();
    while !cursor.is_done() {
        store
            .scan_some(keys, &mut cursor, page, |k, t, v| points.push((k.to_owned(), t, v.to_bits())))
            .unwrap();
    }
    points
}

/// Values with one decimal, like most metrics, and the odd special value.
fn value(raw: i16) -> f64 {
    match raw {
        0 => -0.0,
        1 => f64::NAN,
        2 => f64::INFINITY,
        _ => f64::from(raw) / 10.0,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn store_answers_like_the_model(ops in proptest::collection::vec(op(), 1..40)) {
        let dir = tempfile::tempdir().unwrap();
        let options = Options {
            sync: SyncMode::Never,
            segment_max_bytes: 4096,
            checkpoint_interval: None,
            checkpoint_on_close: false,
            storage_schemas: Some(Arc::new(StorageSchemas::parse(SCHEMAS, Some(AGGREGATION)).unwrap())),
            ..Options::default()
        };
        let mut store = Store::open(dir.path(), options.clone()).unwrap();
        let mut model = Model::default();
        for op in ops {
            match op {
                Op::Put(samples) => {
                    let keys: Vec<String> = samples.iter().map(|(k, _, _)| format!("key.{k}")).collect();
                    let batch: Vec<Sample<'_>> = samples
                        .iter()
                        .zip(&keys)
                        .map(|(&(_, timestamp, raw), key)| Sample { key, timestamp, value: value(raw) })
                        .collect();
                    store.put(&batch).unwrap();
                    batch.iter().for_each(|s| model.put(s.key, s.timestamp, s.value));
                }
                Op::Run { key, start, count, step, base } => {
                    let key = format!("key.{key}");
                    let batch: Vec<Sample<'_>> = (0..count as i64)
                        .map(|i| Sample { key: &key, timestamp: start + i * step, value: value(base.wrapping_add(i as i16)) })
                        .collect();
                    store.put(&batch).unwrap();
                    batch.iter().for_each(|s| model.put(s.key, s.timestamp, s.value));
                }
                Op::Get(key) => {
                    let key = format!("key.{key}");
                    prop_assert_eq!(read(&store, Some(&key)), model.get(Some(&key)));
                }
                Op::Rollups { key, level, from, span } => {
                    let key = format!("key.{key}");
                    let steps = &store.rollup_steps()[..=level];
                    let mut slots = Vec::new();
                    store
                        .rollups(&key, steps[level], from, from + span, |start, aggregate| {
                            slots.push((start, aggregate_bits(aggregate)));
                        })
                        .unwrap();
                    prop_assert_eq!(slots, model.rollups(&key, steps, from, from + span));
                }
                Op::Archive { key, archive, from, span } => {
                    let key = format!("key.{key}");
                    let layout = options.storage_schemas.as_ref().unwrap().layout_for(&key).unwrap();
                    let mut slots = Vec::new();
                    store
                        .archive(&key, &layout, archive, from, from + span, |start, value| {
                            slots.push((start, value_bits(value)));
                        })
                        .unwrap();
                    prop_assert_eq!(slots, model.archive(&key, &layout, archive, from, from + span));
                }
                Op::GetPages(page) => {
                    prop_assert_eq!(read_in_pages(&store, None, page), model.get(None));
                }
                Op::Checkpoint => {
                    store.checkpoint().unwrap();
                    // Exact once a checkpoint has merged the points put
                    // into windows on disk.
                    prop_assert_eq!(store.stats().points, model.points());
                }
                Op::Restart => {
                    store.close().unwrap();
                    store = Store::open(dir.path(), options.clone()).unwrap();
                }
            }
            prop_assert_eq!(read(&store, None), model.get(None));
            // A point put into a window on disk counts as new until then.
            prop_assert!(store.stats().points >= model.points());
        }
    }
}
