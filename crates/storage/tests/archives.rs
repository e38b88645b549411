//! Archives of storage schemas' layouts: stored as windows leave memory,
//! read as whisper would hold them whether stored, made from points, put
//! into late or left after retention took the points.

#![expect(clippy::unwrap_used, reason = "test helpers: a failure is a panic")]

use eardrum_graphite::schema::{Layout, StorageSchemas};
use eardrum_storage::{Keys, Options, Sample, Store, SyncMode};
use std::sync::Arc;
use std::time::Duration;

const HOUR: i64 = 3600;

/// Every key in a layout of 10 s, minutes, ten minutes and days, kept
/// long enough that retention takes nothing here, rolled up by `method`.
fn schemas(method: &str) -> Arc<StorageSchemas> {
    schemas_with("[all]\npattern = .\nretentions = 10s:30d,60s:60d,600s:90d,86400s:5y\n", method)
}

/// The sections of `storage_schemas`, every key rolled up by `method`
/// with an xFilesFactor of 0.5.
fn schemas_with(storage_schemas: &str, method: &str) -> Arc<StorageSchemas> {
    let aggregation = format!("[all]\npattern = .\nxFilesFactor = 0.5\naggregationMethod = {method}\n");
    Arc::new(StorageSchemas::parse(storage_schemas, Some(&aggregation)).unwrap())
}

fn options(schemas: &Arc<StorageSchemas>) -> Options {
    Options {
        sync: SyncMode::Never,
        checkpoint_interval: None,
        storage_schemas: Some(Arc::clone(schemas)),
        ..Options::default()
    }
}

/// Every 10 s for `hours` from `start`, with gaps (a slot in seven has no
/// point, so the xFilesFactor decides some coarse slots) and a value of
/// one decimal.
fn put_hours(store: &Store, key: &str, start: i64, hours: i64, offset: f64) {
    let samples: Vec<Sample<'_>> = (0..hours * 360)
        .filter(|i| i % 7 != 3 && (i / 90) % 5 != 4)
        .map(|i| Sample { key, timestamp: start + i * 10, value: offset + (i % 37) as f64 / 10.0 })
        .collect();
    store.put(&samples).unwrap();
}

/// Archive `archive` of `key` as the store reads it.
fn read(store: &Store, key: &str, layout: &Layout, archive: usize) -> Vec<(i64, u64)> {
    let mut slots = Vec::new();
    store
        .archive(key, layout, archive, i64::MIN / 2, i64::MAX / 2, |start, value| {
            slots.push((start, value.to_bits()))
        })
        .unwrap();
    slots
}

/// Archive `archive` of `key` made from the points `get` returns.
fn made_from_points(store: &Store, key: &str, layout: &Layout, archive: usize) -> Vec<(i64, u64)> {
    let mut points = Vec::new();
    store.scan(Keys::One(key), |_, timestamp, value| points.push((timestamp, value))).unwrap();
    let slots = layout.archive_of(archive, points).unwrap();
    slots.into_iter().map(|(start, value)| (start, value.to_bits())).collect()
}

#[test]
fn stored_archives_read_as_the_points_make_them_late_points_and_a_changed_layout_too() {
    let dir = tempfile::tempdir().unwrap();
    let average = schemas("average");
    let layout = average.layout_for("web.cpu").unwrap();
    let store = Store::open(dir.path(), options(&average)).unwrap();
    put_hours(&store, "web.cpu", 0, 30, 0.0);
    store.checkpoint().unwrap();
    assert!(store.stats().windows_on_disk >= 10, "{:?}", store.stats());
    let disk_bytes_before = store.stats().cache_misses;
    for archive in 1..4 {
        let stored = read(&store, "web.cpu", &layout, archive);
        assert!(!stored.is_empty(), "archive {archive}");
        assert_eq!(stored, made_from_points(&store, "web.cpu", &layout, archive), "archive {archive}");
    }
    assert!(store.stats().cache_misses > disk_bytes_before, "read from the block files");

    // Late points into windows on disk, read before and after the
    // checkpoint that merges them: a window made from its points beside
    // stored ones, in time order.
    put_hours(&store, "web.cpu", 3 * HOUR, 1, 100.0);
    put_hours(&store, "web.cpu", 9 * HOUR, 1, -50.0);
    for _ in 0..2 {
        for archive in 1..4 {
            let read = read(&store, "web.cpu", &layout, archive);
            assert_eq!(read, made_from_points(&store, "web.cpu", &layout, archive), "archive {archive}");
        }
        store.checkpoint().unwrap();
    }
    store.close().unwrap();

    // Another method: the stored archives were made by the old layout, so
    // the new one's are made from the points.
    let maximum = schemas("max");
    let store = Store::open(dir.path(), options(&maximum)).unwrap();
    let layout = maximum.layout_for("web.cpu").unwrap();
    for archive in 1..4 {
        assert_eq!(
            read(&store, "web.cpu", &layout, archive),
            made_from_points(&store, "web.cpu", &layout, archive)
        );
    }
}

#[test]
fn each_series_keeps_what_its_layout_says_and_archives_outlive_the_raw_points() {
    let dir = tempfile::tempdir().unwrap();
    // Long enough to keep everything at first, to learn what it was.
    let long = schemas("avg_zero");
    // Then `web.*`: raw points 6 h, minutes 12 h, ten minutes 27 h, hours
    // 60 h (kept as long as the days made from them), days 5 y, back from
    // the newest point (30 h - 10 s), in whole two-hour windows;
    // everything else keeps its points for a year.
    let short = schemas_with(
        "[web]\npattern = ^web\\.\nretentions = 10s:6h,60s:12h,600s:27h,3600s:60h,86400s:5y\n\n\
         [rest]\npattern = .*\nretentions = 10s:365d\n",
        "avg_zero",
    );
    let layout = short.layout_for("web.cpu").unwrap();
    let store = Store::open(dir.path(), options(&long)).unwrap();
    put_hours(&store, "web.cpu", 0, 30, 0.0);
    put_hours(&store, "db.cpu", 0, 30, 5.0);
    store.checkpoint().unwrap();
    let before: Vec<Vec<(i64, u64)>> =
        (0..5).map(|archive| made_from_points(&store, "web.cpu", &layout, archive)).collect();
    let db_points = store.stats().points / 2;
    store.close().unwrap();

    let retention = Options { retention: Some(Duration::from_secs(3600)), ..options(&short) };
    let refused = Store::open(dir.path(), retention).unwrap_err().to_string();
    assert!(refused.contains("retention comes from the storage schemas"), "{refused}");
    let store = Store::open(dir.path(), options(&short)).unwrap();
    store.checkpoint().unwrap();
    let mut oldest = None;
    store.scan(Keys::One("web.cpu"), |_, timestamp, _| _ = *oldest.get_or_insert(timestamp)).unwrap();
    assert!(
        oldest.is_some_and(|oldest| (22 * HOUR..22 * HOUR + 60).contains(&oldest)),
        "raw points from the window holding 30 h - 6 h - 10 s: {oldest:?}"
    );
    assert_eq!(store.stats().points, db_points + all_from(&store, "web.cpu"), "db.cpu keeps every point");
    let kept_from = |archive: usize, from: i64| -> Vec<(i64, u64)> {
        before[archive].iter().copied().filter(|&(start, _)| start >= from).collect()
    };
    // Minutes from the window holding 18 h - 10 s, ten minutes from the
    // one holding 3 h - 10 s, hours and days whole.
    let same = |archive: usize, expected: Vec<(i64, u64)>| {
        let read = read(&store, "web.cpu", &layout, archive);
        assert!(read == expected, "archive {archive}: {:?}… against {:?}…", read.first(), expected.first());
    };
    same(1, kept_from(1, 16 * HOUR));
    same(2, kept_from(2, 2 * HOUR));
    same(3, before[3].clone());
    same(4, before[4].clone());
    assert!(
        kept_from(1, 16 * HOUR).len() < before[1].len() && kept_from(2, 2 * HOUR).len() < before[2].len()
    );
}

/// How many points `key` has.
fn all_from(store: &Store, key: &str) -> u64 {
    let mut count = 0;
    store.scan(Keys::One(key), |_, _, _| count += 1).unwrap();
    count
}

#[test]
fn a_backfill_older_than_the_raw_retention_keeps_its_archives() {
    let dir = tempfile::tempdir().unwrap();
    let schemas = schemas_with("[all]\npattern = .\nretentions = 10s:1d,600s:1y\n", "max");
    let layout = schemas.layout_for("web.cpu").unwrap();
    let store = Store::open(dir.path(), options(&schemas)).unwrap();
    let today = 100 * 24 * HOUR;
    put_hours(&store, "web.cpu", today, 10, 0.0);
    store.checkpoint().unwrap();
    // A day of history thirty days back, as an import would put it.
    let backfill = today - 30 * 24 * HOUR;
    let elsewhere = tempfile::tempdir().unwrap();
    let reference = Store::open(elsewhere.path(), options(&schemas)).unwrap();
    put_hours(&reference, "web.cpu", backfill, 24, 0.0);
    put_hours(&store, "web.cpu", backfill, 24, 0.0);
    store.checkpoint().unwrap();

    let mut oldest = None;
    store.scan(Keys::One("web.cpu"), |_, timestamp, _| _ = *oldest.get_or_insert(timestamp)).unwrap();
    assert!(
        oldest.is_some_and(|oldest| oldest >= today),
        "the backfill's raw points are past a day: {oldest:?}"
    );
    let archived = read(&store, "web.cpu", &layout, 1);
    let backfilled: Vec<(i64, u64)> = archived.iter().copied().filter(|&(start, _)| start < today).collect();
    assert_eq!(backfilled, made_from_points(&reference, "web.cpu", &layout, 1));
    assert!(backfilled.len() > 100, "most ten minutes of the day: {}", backfilled.len());
}
