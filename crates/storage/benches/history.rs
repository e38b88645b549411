//! History read back from disk: how a series' run is best read from a
//! block file (`pread` into a buffer, as the store does, against copying
//! it out of a memory mapping), a whole series read through the store
//! once its windows have left memory, and a year of one series' hourly
//! rollups (4,380 windows on disk).
//!
//! ```text
//! cargo bench -p eardrum-storage --bench history -- --warm-up-time 1 --measurement-time 3
//! ```

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use eardrum_storage::{Keys, Options, Sample, Store};
use eardrum_workload::Fleet;
use std::fs::File;
use std::hint::black_box;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;

const SERIES: usize = 1_000;
/// Twelve hours at 10 s: six windows, four of them on disk.
const STEPS: u64 = 4_320;

/// A store of the fleet's history, checkpointed and reopened, so that its
/// older windows are read from their block files.
fn history() -> (tempfile::TempDir, Store, Fleet) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let options = Options { checkpoint_interval: None, ..Options::default() };
    let store = Store::open(dir.path(), options.clone()).expect("opening");
    let mut fleet = Fleet::new(SERIES, 7);
    let keys: Vec<String> = (0..SERIES).map(|i| fleet.key(i).to_owned()).collect();
    for step in 0..STEPS {
        let batch: Vec<Sample<'_>> = (0..SERIES)
            .map(|i| {
                let (timestamp, value) = fleet.next_point(i, step);
                Sample { key: &keys[i], timestamp, value }
            })
            .collect();
        store.put(&batch).expect("put");
    }
    store.close().expect("close");
    let store = Store::open(dir.path(), options).expect("reopening");
    (dir, store, fleet)
}

/// Every run of the largest block file, as (offset, length of the framed
/// run), read from its index as the module documentation of
/// `checkpoint::block` lays the file out.
fn runs(dir: &std::path::Path) -> (PathBuf, Vec<(u64, usize)>) {
    let blocks = std::fs::read_dir(dir.join("blocks")).expect("the blocks folder");
    let path = blocks
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .max_by_key(|path| std::fs::metadata(path).map(|m| m.len()).unwrap_or(0))
        .expect("a block file");
    let bytes = std::fs::read(&path).expect("reading the block file");
    let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("eight bytes"));
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().expect("four bytes"));
    let index_offset = u64_at(bytes.len() - 16) as usize;
    let index_len = u32_at(index_offset) as usize;
    let entries = &bytes[index_offset + 8..index_offset + 8 + index_len];
    let runs = entries
        .chunks_exact(24)
        .map(|entry| {
            let offset = u64::from_le_bytes(entry[4..12].try_into().expect("eight bytes"));
            let length = u32::from_le_bytes(entry[12..16].try_into().expect("four bytes")) as usize;
            (offset, length + 8)
        })
        .collect();
    (path, runs)
}

#[expect(unsafe_code, reason = "mapping a file is unsafe; the store does not, this measures why not")]
fn block_reads(c: &mut Criterion) {
    let (dir, _store, _) = history();
    let (path, runs) = runs(dir.path());
    let file = File::open(&path).expect("opening the block file");
    // SAFETY: the benchmark's own file, not changed while mapped.
    let mapping = unsafe { memmap2::Mmap::map(&file) }.expect("mapping the block file");
    let mut group = c.benchmark_group("block_reads");
    group.throughput(Throughput::Elements(runs.len() as u64));
    // Each run is read into a buffer of its own and its checksum taken, as
    // a read of one series' window does.
    group.bench_function("pread", |b| {
        b.iter(|| {
            runs.iter()
                .map(|&(offset, length)| {
                    let mut run = vec![0u8; length];
                    file.read_exact_at(&mut run, offset).expect("reading a run");
                    crc32fast::hash(&run[8..])
                })
                .fold(0u32, |sum, crc| sum ^ black_box(crc))
        })
    });
    group.bench_function("mmap", |b| {
        b.iter(|| {
            runs.iter()
                .map(|&(offset, length)| {
                    let run = mapping[offset as usize..offset as usize + length].to_vec();
                    crc32fast::hash(&run[8..])
                })
                .fold(0u32, |sum, crc| sum ^ black_box(crc))
        })
    });
    group.finish();
}

fn series_reads(c: &mut Criterion) {
    let (_dir, store, fleet) = history();
    let key = fleet.key(17).to_owned();
    let mut group = c.benchmark_group("history");
    group.throughput(Throughput::Elements(STEPS));
    group.bench_function("one_series_twelve_hours", |b| {
        b.iter(|| {
            let mut points = 0u64;
            store.scan(Keys::One(&key), |_, _, _| points += 1).expect("reading");
            points
        })
    });
    group.finish();
}

/// A year of one series every 10 s, checkpointed and reopened.
fn year() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let options = Options { checkpoint_interval: None, ..Options::default() };
    let store = Store::open(dir.path(), options.clone()).expect("opening");
    let points = YEAR / 10;
    for first in (0..points).step_by(10_000) {
        let batch: Vec<Sample<'_>> = (first..(first + 10_000).min(points))
            .map(|i| Sample {
                key: "year.cpu",
                timestamp: YEAR_START + i * 10,
                value: ((i * 7) % 500) as f64 / 10.0,
            })
            .collect();
        store.put(&batch).expect("put");
    }
    store.close().expect("close");
    let store = Store::open(dir.path(), options).expect("reopening");
    (dir, store)
}

const YEAR: i64 = 365 * 86_400;
const YEAR_START: i64 = 1_672_531_200;

fn year_of_rollups(c: &mut Criterion) {
    let (_dir, store) = year();
    let mut group = c.benchmark_group("history");
    group.throughput(Throughput::Elements(8_760));
    group.bench_function("one_series_year_hourly_rollups", |b| {
        b.iter(|| {
            let mut slots = 0u64;
            store
                .rollups("year.cpu", 3600, YEAR_START, YEAR_START + YEAR, |_, _| slots += 1)
                .expect("reading");
            assert_eq!(slots, 8_760);
            slots
        })
    });
    group.finish();
}

criterion_group!(benches, block_reads, series_reads, year_of_rollups);
criterion_main!(benches);
