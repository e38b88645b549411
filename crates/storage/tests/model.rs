//! The store against a model: random puts, reads and restarts must answer
//! exactly as a map of sorted maps with first-put key order does.

use eardrum_storage::{Keys, Options, Sample, Store, SyncMode};
use proptest::prelude::*;
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
enum Op {
    Put(Vec<(u8, i64, f64)>),
    Get(u8),
    Restart,
}

fn op() -> impl Strategy<Value = Op> {
    let sample = (0u8..6, -5i64..5, prop_oneof![Just(f64::NAN), Just(-0.0), -10.0f64..10.0]);
    prop_oneof![
        4 => proptest::collection::vec(sample, 1..6).prop_map(Op::Put),
        2 => (0u8..6).prop_map(Op::Get),
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
        let keys: Vec<&String> = match key {
            Some(key) => self.order.iter().filter(|k| *k == key).collect(),
            None => self.order.iter().collect(),
        };
        keys.into_iter().flat_map(|k| self.series[k].iter().map(move |(t, v)| (k.clone(), *t, *v))).collect()
    }
}

fn read(store: &Store, key: Option<&str>) -> Vec<(String, i64, u64)> {
    let mut points = Vec::new();
    let keys = key.map_or(Keys::All, Keys::One);
    store.scan(keys, |k, t, v| points.push((k.to_owned(), t, v.to_bits())));
    points
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn store_answers_like_the_model(ops in proptest::collection::vec(op(), 1..40)) {
        let dir = tempfile::tempdir().unwrap();
        let options = Options { sync: SyncMode::Never, segment_max_bytes: 512, ..Options::default() };
        let mut store = Store::open(dir.path(), options.clone()).unwrap();
        let mut model = Model::default();
        for op in ops {
            match op {
                Op::Put(samples) => {
                    let keys: Vec<String> = samples.iter().map(|(k, _, _)| format!("key.{k}")).collect();
                    let batch: Vec<Sample<'_>> = samples
                        .iter()
                        .zip(&keys)
                        .map(|(&(_, timestamp, value), key)| Sample { key, timestamp, value })
                        .collect();
                    store.put(&batch).unwrap();
                    for sample in &batch {
                        model.put(sample.key, sample.timestamp, sample.value);
                    }
                }
                Op::Get(key) => {
                    let key = format!("key.{key}");
                    prop_assert_eq!(read(&store, Some(&key)), model.get(Some(&key)));
                }
                Op::Restart => {
                    store.close().unwrap();
                    store = Store::open(dir.path(), options.clone()).unwrap();
                }
            }
            prop_assert_eq!(read(&store, None), model.get(None));
        }
    }
}
