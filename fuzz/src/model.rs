//! The store against a model: a map of maps, and the order keys first
//! appeared.

use crate::replay::{all_points, options, scratch};
use eardrum_graphite::schema::StorageSchemas;
use eardrum_storage::{Error, Keys, Options, Outcome, RecoveryMode, Sample, Store};
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

const KEYS: [&str; 5] = ["a", "host1.cpu", "ключ", "*", "a.b.c.d"];

/// Below the number of keys, so that some puts meet the series limit.
const MAX_SERIES: usize = 4;

/// Reads the bytes as operations (puts, batches staged by two callers and
/// committed together, gets, checkpoints, reopenings, with timestamps that
/// go backwards and repeat) and checks after each that the store holds
/// exactly what the model does: every key in first-put order, points in
/// timestamp order, the last value put for each timestamp, and new keys
/// beyond the series limit refused (and reported) while others go on; and
/// that each key's archives are what its points make.
pub fn store_model(data: &[u8]) {
    let dir = scratch();
    let mut store = Some(Store::open(dir.path(), limited()).expect("opening"));
    let mut model = Model::default();
    let mut ops = data.chunks_exact(4);
    for op in &mut ops {
        let current = store.as_ref().expect("the store is open between operations");
        let sample = |byte: u8, value: u8| Sample {
            key: KEYS[usize::from(byte) % KEYS.len()],
            // A narrow range, so that puts collide and arrive out of order
            // (windows are 7,200 s wide: some cross into the next), and a
            // few hours later, so that after a checkpoint the first range's
            // windows are read from disk and puts into them merge there.
            timestamp: 7_150 + i64::from(byte / 5) * 3 + if byte >= 200 { 4 * 7_200 } else { 0 },
            value: f64::from(value) / 4.0 - 8.0,
        };
        // Checkpoints and reopenings cost file-system work that puts and
        // gets do not: one op in sixteen each keeps them frequent while
        // the fuzzer runs several times more inputs a second.
        match op[0] % 16 {
            0..=6 => {
                let samples = [sample(op[1], op[2]), sample(op[2], op[3])];
                let refused = model.put(&samples);
                match current.put(&samples) {
                    Ok(()) => assert!(refused.is_empty(), "a put beyond the series limit was taken"),
                    Err(Error::SeriesLimit { refused: count, .. }) => assert_eq!(count, refused.len()),
                    Err(error) => panic!("put: {error}"),
                }
            }
            7..=9 => {
                let (first, second) = ([sample(op[1], op[3])], [sample(op[2], op[1])]);
                let staged = (current.stage(&first), current.stage(&second));
                current.commit().expect("commit");
                assert_eq!(
                    (current.outcome(&staged.0), current.outcome(&staged.1)),
                    (Outcome::Stored, Outcome::Stored)
                );
                assert_eq!(staged.0.refused(), model.put(&first));
                assert_eq!(staged.1.refused(), model.put(&second));
            }
            10..=13 => {
                let key = KEYS[usize::from(op[1]) % KEYS.len()];
                let mut points = Vec::new();
                current
                    .scan(Keys::One(key), |_, timestamp, value| points.push((timestamp, value.to_bits())))
                    .expect("reading the store");
                let expected: Vec<(i64, u64)> = model
                    .points
                    .get(key)
                    .map(|p| p.iter().map(|(&t, &v)| (t, v)).collect())
                    .unwrap_or_default();
                assert_eq!(points, expected, "get {key}");
                check_archives(current, &model, key);
            }
            14 => {
                current.checkpoint().expect("checkpoint");
            }
            _ => {
                store.take().expect("open").close().expect("close");
                store = Some(Store::open(dir.path(), limited()).expect("reopening"));
            }
        }
        let current = store.as_ref().expect("open");
        assert_eq!(all_points(current), model.all(), "after operation {op:?}");
    }
}

/// The fuzzers' store options, with the series limit, and archives of
/// every key stored beside its points (a day's made when read).
fn limited() -> Options {
    Options {
        max_series: Some(MAX_SERIES),
        storage_schemas: Some(Arc::clone(schemas())),
        ..options(RecoveryMode::Strict)
    }
}

/// The schemas, parsed once.
fn schemas() -> &'static Arc<StorageSchemas> {
    static SCHEMAS: OnceLock<Arc<StorageSchemas>> = OnceLock::new();
    SCHEMAS.get_or_init(|| {
        let schemas = StorageSchemas::parse(
            "[all]\npattern = .\nretentions = 1s:1d,60s:7d,600s:30d,86400s:5y\n",
            Some("[all]\npattern = .\nxFilesFactor = 0.1\naggregationMethod = average\n"),
        );
        Arc::new(schemas.expect("a valid schema"))
    })
}

/// Each archive of `key` (but the finest, the points) as the store reads
/// it, against the model's points made into it.
fn check_archives(store: &Store, model: &Model, key: &str) {
    let Some(layout) = schemas().layout_for(key) else { return };
    for archive in 1..layout.archives.len() {
        let mut read = Vec::new();
        store
            .archive(key, &layout, archive, i64::MIN / 2, i64::MAX / 2, |start, value| {
                read.push((start, value.to_bits()))
            })
            .expect("reading an archive");
        let points = model.points.get(key).into_iter().flatten().map(|(&t, &v)| (t, f64::from_bits(v)));
        let made = layout.archive_of(archive, points).expect("an archive of the layout");
        let made: Vec<(i64, u64)> = made.into_iter().map(|(start, value)| (start, value.to_bits())).collect();
        assert_eq!(read, made, "archive {archive} of {key}");
    }
}

#[derive(Default)]
struct Model {
    order: Vec<&'static str>,
    points: BTreeMap<&'static str, BTreeMap<i64, u64>>,
}

impl Model {
    /// Applies the samples the series limit lets in; returns the indices of
    /// those it refuses.
    fn put(&mut self, samples: &[Sample<'static>]) -> Vec<u32> {
        let mut refused = Vec::new();
        for (index, sample) in samples.iter().enumerate() {
            if !self.points.contains_key(sample.key) {
                if self.order.len() >= MAX_SERIES {
                    refused.push(index as u32);
                    continue;
                }
                self.order.push(sample.key);
            }
            self.points.entry(sample.key).or_default().insert(sample.timestamp, sample.value.to_bits());
        }
        refused
    }

    fn all(&self) -> Vec<(String, i64, u64)> {
        self.order
            .iter()
            .flat_map(|&key| self.points[key].iter().map(move |(&t, &v)| (key.to_owned(), t, v)))
            .collect()
    }
}
