//! Storage hot paths: chunk encode and decode across data shapes, the
//! write path (log append plus memory insert) across batch sizes, and its
//! two halves apart (staging: registry and log entries; committing: the
//! log write and the insert into heads).

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use eardrum_storage::codec::{decode_chunk, encode_chunk};
use eardrum_storage::{Options, Sample, Store, SyncMode};
use eardrum_workload::Fleet;
use std::hint::black_box;

/// 120 points (one chunk) of each shape in the benchmark fleet, and random
/// doubles for the XOR path.
fn shapes() -> Vec<(&'static str, Vec<(i64, f64)>)> {
    let mut fleet = Fleet::new(10, 42);
    let mut series =
        |index: usize| -> Vec<(i64, f64)> { (0..120).map(|step| fleet.next_point(index, step)).collect() };
    let gauge = series(0);
    let counter = series(4);
    let constant = series(8);
    let random = (0..120i64)
        .map(|i| {
            (1_700_000_000 + 10 * i, f64::from_bits((i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 2))
        })
        .collect();
    vec![("gauge", gauge), ("counter", counter), ("constant", constant), ("random_doubles", random)]
}

fn codec(c: &mut Criterion) {
    let mut group = c.benchmark_group("chunk");
    group.throughput(Throughput::Elements(120));
    for (name, points) in shapes() {
        let mut chunk = Vec::new();
        encode_chunk(&points, &mut chunk);
        eprintln!("chunk/{name}: {:.2} bytes/point", chunk.len() as f64 / points.len() as f64);
        group.bench_function(format!("encode/{name}"), |b| {
            b.iter_batched_ref(Vec::new, |out| encode_chunk(black_box(&points), out), BatchSize::SmallInput)
        });
        group.bench_function(format!("decode/{name}"), |b| {
            b.iter(|| decode_chunk(black_box(&chunk)).map(|points| points.count()).unwrap_or(0))
        });
    }
    group.finish();
}

/// An empty store that never syncs, in a temporary folder (kept alive by
/// the returned guard), and a 10,000-series fleet with its keys.
fn fleet_store(seed: u64) -> (tempfile::TempDir, Store, Fleet, Vec<String>) {
    let dir = tempfile::tempdir().expect("temporary folder");
    let options = Options { sync: SyncMode::Never, checkpoint_interval: None, ..Options::default() };
    let store = Store::open(dir.path(), options).expect("opening the store");
    let fleet = Fleet::new(10_000, seed);
    let keys = (0..fleet.len()).map(|i| fleet.key(i).to_owned()).collect();
    (dir, store, fleet, keys)
}

fn write_path(c: &mut Criterion) {
    let mut group = c.benchmark_group("store_put");
    let (_dir, store, mut fleet, keys) = fleet_store(7);
    let mut step = 0u64;
    for batch in [1usize, 64, 1000] {
        group.throughput(Throughput::Elements(batch as u64));
        group.bench_function(format!("batch_{batch}"), |b| {
            b.iter_batched(
                || {
                    // Fresh, in-order points each time, as a fleet sends them.
                    step += 1;
                    (0..batch)
                        .map(|i| {
                            let (timestamp, value) = fleet.next_point(i, step);
                            (i, timestamp, value)
                        })
                        .collect::<Vec<_>>()
                },
                |points| {
                    let samples: Vec<Sample<'_>> = points
                        .iter()
                        .map(|&(i, timestamp, value)| Sample { key: &keys[i], timestamp, value })
                        .collect();
                    store.put(&samples).expect("put")
                },
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

/// The two halves of a put, apart: `stage` (registry lookup and the log
/// entries, in memory) and `commit` (one log write, then the memory insert
/// into heads), for batches of 64.
fn stage_and_commit(c: &mut Criterion) {
    const BATCH: usize = 64;
    let mut group = c.benchmark_group("store");
    group.throughput(Throughput::Elements(BATCH as u64));
    let (_dir, store, mut fleet, keys) = fleet_store(11);
    let mut step = 0u64;
    let mut next_batch = || {
        step += 1;
        (0..BATCH)
            .map(|i| {
                let (timestamp, value) = fleet.next_point(i, step);
                Sample { key: &keys[i], timestamp, value }
            })
            .collect::<Vec<_>>()
    };
    group.bench_function("stage_64", |b| {
        b.iter_batched(
            || {
                // Commits what the previous iteration staged, untimed.
                store.commit().expect("commit");
                next_batch()
            },
            |samples| store.stage(&samples),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("commit_64", |b| {
        b.iter_batched(
            || {
                let _staged = store.stage(&next_batch());
            },
            |()| store.commit().expect("commit"),
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

/// Graphite pattern lookups over 100,000 fleet-shaped keys (10,000 hosts
/// of 10 metrics): one exact level then a glob, a glob at every level,
/// and braces.
fn name_index(c: &mut Criterion) {
    use eardrum_graphite::pattern::Pattern;
    use eardrum_storage::names::NameIndex;
    let fleet = Fleet::new(100_000, 1);
    let mut index = NameIndex::default();
    for id in 0..fleet.len() {
        index.add(id as u32, fleet.key(id));
    }
    let mut group = c.benchmark_group("names");
    for pattern in ["host4242.*", "host42*.cpu.*", "*.*.user", "host{1,2,3}.{cpu,mem}.*"] {
        let parsed = Pattern::parse(pattern).expect("a valid pattern");
        group.bench_function(format!("find/{pattern}"), |b| b.iter(|| index.find(&parsed)));
    }
    group.finish();
}

criterion_group!(benches, codec, write_path, stage_and_commit, name_index);
criterion_main!(benches);
