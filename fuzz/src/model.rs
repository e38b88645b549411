//! The store against a model: a map of maps, and the order keys first
//! appeared.

use crate::replay::{all_points, options, scratch};
use eardrum_storage::{Keys, RecoveryMode, Sample, Store};
use std::collections::BTreeMap;

const KEYS: [&str; 5] = ["a", "host1.cpu", "ключ", "*", "a.b.c.d"];

/// Reads the bytes as operations (puts, batches staged by two callers and
/// committed together, gets, checkpoints, reopenings, with timestamps that
/// go backwards and repeat) and checks after each that the store holds
/// exactly what the model does: every key in first-put order, points in
/// timestamp order, the last value put for each timestamp.
pub fn store_model(data: &[u8]) {
    let dir = scratch();
    let mut store = Some(Store::open(dir.path(), options(RecoveryMode::Strict)).expect("opening"));
    let mut model = Model::default();
    let mut ops = data.chunks_exact(4);
    for op in &mut ops {
        let current = store.as_ref().expect("the store is open between operations");
        let sample = |byte: u8, value: u8| Sample {
            key: KEYS[usize::from(byte) % KEYS.len()],
            // A narrow range, so that puts collide and arrive out of order
            // (windows are 7,200 s wide: some cross into the next).
            timestamp: 7_150 + i64::from(byte / 5) * 3,
            value: f64::from(value) / 4.0 - 8.0,
        };
        match op[0] % 6 {
            0 | 1 => {
                let samples = [sample(op[1], op[2]), sample(op[2], op[3])];
                current.put(&samples).expect("put");
                model.put(&samples);
            }
            2 => {
                let (first, second) = ([sample(op[1], op[3])], [sample(op[2], op[1])]);
                let staged = (current.stage(&first), current.stage(&second));
                current.commit().expect("commit");
                assert_eq!(
                    (current.outcome(&staged.0), current.outcome(&staged.1)),
                    (Some(true), Some(true))
                );
                model.put(&first);
                model.put(&second);
            }
            3 => {
                let key = KEYS[usize::from(op[1]) % KEYS.len()];
                let mut points = Vec::new();
                current.scan(Keys::One(key), |_, timestamp, value| points.push((timestamp, value.to_bits())));
                let expected: Vec<(i64, u64)> = model
                    .points
                    .get(key)
                    .map(|p| p.iter().map(|(&t, &v)| (t, v)).collect())
                    .unwrap_or_default();
                assert_eq!(points, expected, "get {key}");
            }
            4 => {
                current.checkpoint().expect("checkpoint");
            }
            _ => {
                store.take().expect("open").close().expect("close");
                store = Some(Store::open(dir.path(), options(RecoveryMode::Strict)).expect("reopening"));
            }
        }
        let current = store.as_ref().expect("open");
        assert_eq!(all_points(current), model.all(), "after operation {op:?}");
    }
}

#[derive(Default)]
struct Model {
    order: Vec<&'static str>,
    points: BTreeMap<&'static str, BTreeMap<i64, u64>>,
}

impl Model {
    fn put(&mut self, samples: &[Sample<'static>]) {
        for sample in samples {
            if !self.points.contains_key(sample.key) {
                self.order.push(sample.key);
            }
            self.points.entry(sample.key).or_default().insert(sample.timestamp, sample.value.to_bits());
        }
    }

    fn all(&self) -> Vec<(String, i64, u64)> {
        self.order
            .iter()
            .flat_map(|&key| self.points[key].iter().map(move |(&t, &v)| (key.to_owned(), t, v)))
            .collect()
    }
}
