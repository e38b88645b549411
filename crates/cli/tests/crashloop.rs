//! The crash loop: writers pipeline puts while the server is killed with
//! SIGKILL at random moments and restarted; the writers reconnect and go
//! on. At the end every point ever answered `ok` is read back, each
//! series' points are in timestamp order with nothing that was never sent,
//! and each writer's series come in the order it first put them.
//!
//! `cargo test` runs 10 cycles with the default `--fsync`; for the long
//! runs RELIABILITY.md records:
//!
//! ```text
//! EARDRUM_CRASHLOOP_CYCLES=100 EARDRUM_CRASHLOOP_FSYNC=always \
//!     cargo test --release -p eardrum --test crashloop -- --nocapture
//! ```

#![expect(clippy::unwrap_used, reason = "test helpers: a failure is a panic")]

mod common;

use common::writers::{SplitMix, Writers};
use common::ServerProcess;
use eardrum_graphite::schema::StorageSchemas;
use eardrum_storage::{Keys, Options, Store};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Storage schemas whose archives (but the day's) every window stores,
/// so that kills land in their writes too; kept for decades, so that
/// retention takes no point the check reads back.
const SCHEMAS: &str = "[all]\npattern = .*\nretentions = 1s:40y,1m:50y,1h:60y,1d:70y\n";
/// Every slot with a point has a value, however sparse the points.
const AGGREGATION: &str = "[all]\npattern = .*\nxFilesFactor = 0\naggregationMethod = max\n";

fn crash_loop(fsync: &str, cycles: usize) {
    let dir = tempfile::tempdir().unwrap();
    let config = tempfile::tempdir().unwrap();
    let (schemas, aggregation) =
        (config.path().join("storage-schemas.conf"), config.path().join("storage-aggregation.conf"));
    std::fs::write(&schemas, SCHEMAS).unwrap();
    std::fs::write(&aggregation, AGGREGATION).unwrap();
    let (schemas, aggregation) = (schemas.to_str().unwrap(), aggregation.to_str().unwrap());
    let mut writers = Writers::start(4);
    let mut random = SplitMix(cycles as u64);
    let started = Instant::now();
    let mut merged_late_puts = false;
    for _ in 0..cycles {
        // Checkpoints five times a second, so that kills land in them and
        // in the merges of late puts into windows on disk.
        let flags = [
            ["--fsync", fsync],
            ["--checkpoint-interval", "200ms"],
            ["--storage-schemas", schemas],
            ["--storage-aggregation", aggregation],
        ];
        let flags = flags.concat();
        let mut server = ServerProcess::start(dir.path(), &flags);
        writers.point_at(server.port);
        std::thread::sleep(Duration::from_millis(100 + random.below(600)));
        server.kill();
        // Sampled after every kill: a later checkpoint may write a window
        // whole again, leaving one file where there were several.
        merged_late_puts |= block_files_per_window(dir.path()).values().any(|&files| files > 1);
    }
    writers.stop();

    let flags = ["--fsync", fsync, "--storage-schemas", schemas, "--storage-aggregation", aggregation];
    let server = ServerProcess::start(dir.path(), &flags);
    let (acked_points, _) = writers.check(server.port, |_| false);
    // The loop covered history on disk: windows beyond the newest two, and
    // puts into them merged as files over their windows'.
    let files_per_window = block_files_per_window(dir.path());
    assert!(files_per_window.len() >= 4, "{files_per_window:?}");
    assert!(merged_late_puts, "no window had a file of changes after any kill");
    let mut server = server;
    assert!(server.terminate().success());
    let archived = archives_are_what_the_points_make(dir.path());
    eprintln!(
        "crash loop, --fsync {fsync}: {cycles} SIGKILLs in {:.1} s, {acked_points} acknowledged points all \
         read back, none extra, series and points in order; {archived} archive slots as the points make them",
        started.elapsed().as_secs_f64()
    );
}

/// How many block files each window has in the data folder `dir`.
fn block_files_per_window(dir: &std::path::Path) -> BTreeMap<String, usize> {
    let mut files_per_window = BTreeMap::new();
    for entry in std::fs::read_dir(dir.join("blocks")).into_iter().flatten() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if let Some((window, _)) = name.split_once("_gen_") {
            *files_per_window.entry(window.to_owned()).or_default() += 1;
        }
    }
    files_per_window
}

/// Every series' archives in the store in `dir`, read as the server reads
/// them, against what its points make; returns how many slots.
fn archives_are_what_the_points_make(dir: &std::path::Path) -> usize {
    let schemas = StorageSchemas::parse(SCHEMAS, Some(AGGREGATION)).unwrap();
    let options = Options { storage_schemas: Some(Arc::new(schemas.clone())), ..Options::default() };
    let store = Store::open(dir, options).unwrap();
    let mut points: BTreeMap<String, Vec<(i64, f64)>> = BTreeMap::new();
    store
        .scan(Keys::All, |key, timestamp, value| {
            points.entry(key.to_owned()).or_default().push((timestamp, value))
        })
        .unwrap();
    let mut slots = 0;
    for (key, points) in &points {
        let layout = schemas.layout_for(key).unwrap();
        for archive in 1..layout.archives.len() {
            let mut read = Vec::new();
            store
                .archive(key, &layout, archive, i64::MIN / 2, i64::MAX / 2, |start, value| {
                    read.push((start, value.to_bits()))
                })
                .unwrap();
            let made = layout.archive_of(archive, points.iter().copied()).unwrap();
            let made: Vec<(i64, u64)> =
                made.into_iter().map(|(start, value)| (start, value.to_bits())).collect();
            assert!(read == made, "{key}: archive {archive} is not what its points make");
            slots += read.len();
        }
    }
    slots
}

#[test]
fn a_crash_loop_loses_no_acknowledged_point() {
    let cycles = std::env::var("EARDRUM_CRASHLOOP_CYCLES").ok().and_then(|c| c.parse().ok()).unwrap_or(10);
    let fsync = std::env::var("EARDRUM_CRASHLOOP_FSYNC").unwrap_or_else(|_| "everysec".to_owned());
    crash_loop(&fsync, cycles);
}
