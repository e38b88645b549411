//! Checkpoints: block files replace the log they cover, restarts load them,
//! retention deletes whole old windows.

#![expect(clippy::unwrap_used, reason = "test helpers: a failure is a panic")]

use eardrum_storage::{Error, Keys, Options, RollupLevel, Sample, Store};
use std::path::Path;
use std::time::Duration;

const HOUR: i64 = 3600;

fn options() -> Options {
    Options { checkpoint_interval: None, ..Options::default() }
}

fn files(dir: &Path, sub: &str, extension: &str) -> Vec<std::path::PathBuf> {
    let mut found: Vec<_> = std::fs::read_dir(dir.join(sub))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == extension))
        .collect();
    found.sort();
    found
}

fn all(store: &Store) -> Vec<(String, i64, u64)> {
    let mut points = Vec::new();
    store.scan(Keys::All, |k, t, v| points.push((k.to_owned(), t, v.to_bits()))).unwrap();
    points
}

/// Ten series reporting every 10 s for `hours`, starting at `start`.
fn fleet(store: &Store, start: i64, hours: i64) {
    let keys: Vec<String> = (0..10).map(|i| format!("host{i}.cpu")).collect();
    for step in 0..hours * 360 {
        let batch: Vec<Sample<'_>> = keys
            .iter()
            .enumerate()
            .map(|(i, key)| Sample {
                key,
                timestamp: start + step * 10,
                value: ((step + i as i64) % 50) as f64 / 10.0,
            })
            .collect();
        store.put(&batch).unwrap();
    }
}

#[test]
fn a_checkpoint_replaces_the_log_and_a_restart_loads_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), options()).unwrap();
    fleet(&store, 1_700_000_000, 5);
    let before = all(&store);
    let stats = store.checkpoint().unwrap();
    assert!(stats.windows_written >= 3, "{stats:?}");
    let segments = files(dir.path(), "wal", "wal");
    assert!(segments.len() >= 2, "the log before the checkpoint stays while it is the fallback's");
    assert!(files(dir.path(), "blocks", "blk").len() >= 3);
    // Some more after the checkpoint, then a restart without a final one.
    store.put(&[Sample { key: "late", timestamp: 1, value: 1.0 }]).unwrap();
    store.checkpoint().unwrap();
    let after_second = files(dir.path(), "wal", "wal");
    assert!(!after_second.contains(&segments[0]), "a second checkpoint deletes the log the first covered");
    drop(store);
    let store = Store::open(dir.path(), Options { checkpoint_on_close: false, ..options() }).unwrap();
    let mut expected = before;
    expected.push(("late".into(), 1, 1f64.to_bits()));
    assert_eq!(all(&store), expected);
    let stats = store.stats();
    assert_eq!((stats.series, stats.points), (11, 5 * 360 * 10 + 1));
    assert!(stats.block_bytes > 0 && stats.memory_bytes > 0);
}

#[test]
fn a_clean_close_leaves_nothing_to_replay() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), options()).unwrap();
    fleet(&store, 0, 3);
    let before = all(&store);
    store.close().unwrap();
    let store = Store::open(dir.path(), options()).unwrap();
    assert_eq!(store.stats().records_replayed, 0);
    assert_eq!(all(&store), before);
}

#[test]
fn only_changed_windows_are_rewritten() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), options()).unwrap();
    fleet(&store, 0, 6);
    store.checkpoint().unwrap();
    let first: Vec<_> = files(dir.path(), "blocks", "blk");
    // One out-of-order point into the first window only.
    store.put(&[Sample { key: "host3.cpu", timestamp: 15, value: 9.9 }]).unwrap();
    let stats = store.checkpoint().unwrap();
    assert_eq!(stats.windows_written, 1);
    // The window is on disk by now (the newest two are in memory): the
    // change goes into a small file over the window's.
    let second: Vec<_> = files(dir.path(), "blocks", "blk");
    assert_eq!(second.len(), first.len() + 1, "one file more, over the window's");
    assert!(first.iter().all(|p| second.contains(p)));
    store.put(&[Sample { key: "host3.cpu", timestamp: 16, value: 9.8 }]).unwrap();
    store.checkpoint().unwrap();
    let third: Vec<_> = files(dir.path(), "blocks", "blk");
    assert_eq!(third.len(), first.len() + 2, "and one more");
    assert!(first.iter().all(|p| third.contains(p)));
    // A window written in memory is replaced whole, and the replaced file
    // goes once two checkpoints have superseded it.
    let newest = (6 * 3600 - 10) as i64;
    let replaced = third.iter().filter(|p| p.to_string_lossy().contains("window_2_")).count();
    assert_eq!(replaced, 1);
    for (round, value) in [1.0, 2.0].into_iter().enumerate() {
        store.put(&[Sample { key: "host3.cpu", timestamp: newest - 20, value }]).unwrap();
        store.checkpoint().unwrap();
        let now: Vec<_> = files(dir.path(), "blocks", "blk");
        // The new file, and the one before it kept for the fallback.
        assert_eq!(now.len(), third.len() + 1, "round {round}: {now:?}");
        assert_eq!(now.iter().filter(|p| p.to_string_lossy().contains("window_2_")).count(), 2);
    }
    drop(store);
    let store = Store::open(dir.path(), options()).unwrap();
    let mut value = None;
    store
        .scan(Keys::One("host3.cpu"), |_, t, v| {
            if t == 15 {
                value = Some(v)
            }
        })
        .unwrap();
    assert_eq!(value, Some(9.9));
}

#[test]
fn retention_deletes_whole_old_windows_in_memory_and_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let retention = Options { retention: Some(Duration::from_secs(3 * HOUR as u64)), ..options() };
    let store = Store::open(dir.path(), retention.clone()).unwrap();
    fleet(&store, 0, 10);
    store.put(&[Sample { key: "ancient", timestamp: -HOUR * 24, value: 1.0 }]).unwrap();
    store.checkpoint().unwrap();
    let newest = 10 * HOUR - 10;
    let oldest_kept = all(&store).iter().map(|p| p.1).min().unwrap();
    // Windows are two hours: everything from the window holding newest - 3h on.
    assert_eq!(oldest_kept, (newest - 3 * HOUR).div_euclid(2 * HOUR) * 2 * HOUR);
    assert_eq!(files(dir.path(), "blocks", "blk").len(), 2, "windows 3 and 4 of 0..=4");
    drop(store);
    let store = Store::open(dir.path(), retention).unwrap();
    assert_eq!(all(&store).iter().map(|p| p.1).min(), Some(oldest_kept));
    // The emptied series keeps its place in the key order.
    let mut keys = Vec::new();
    store.put(&[Sample { key: "ancient", timestamp: newest, value: 2.0 }]).unwrap();
    store
        .scan(Keys::All, |k, _, _| {
            if keys.last() != Some(&k.to_owned()) {
                keys.push(k.to_owned())
            }
        })
        .unwrap();
    assert_eq!(keys.last().map(String::as_str), Some("ancient"));
}

/// Series `host0.cpu`'s slots at `step`, as (start, count, sum bits).
fn slots(store: &Store, step: i64) -> Vec<(i64, u64, u64)> {
    let mut slots = Vec::new();
    store
        .rollups("host0.cpu", step, i64::MIN / 2, i64::MAX / 2, |start, aggregate| {
            slots.push((start, aggregate.count, aggregate.sum.to_bits()))
        })
        .unwrap();
    slots
}

#[test]
fn retention_per_tier_takes_raw_points_first_then_finer_rollups_then_whole_windows() {
    let dir = tempfile::tempdir().unwrap();
    let tiers = |raw: i64, five_minutes: i64, hours: i64| Options {
        retention: Some(Duration::from_secs(raw as u64)),
        rollups: vec![
            RollupLevel { step: 300, retention: Some(Duration::from_secs(five_minutes as u64)) },
            RollupLevel { step: 3600, retention: Some(Duration::from_secs(hours as u64)) },
        ],
        ..options()
    };
    // Everything kept at first, to learn what the rollups were.
    let store = Store::open(dir.path(), options()).unwrap();
    fleet(&store, 0, 24);
    store.checkpoint().unwrap();
    let (every_five, every_hour) = (slots(&store, 300), slots(&store, 3600));
    let points = all(&store);
    store.close().unwrap();

    // Raw 3 h, five minutes 8 h, hours 16 h, back from the newest point
    // (24 h - 10 s), in whole two-hour windows: raw from 20 h, five
    // minutes from 16 h, hours from 8 h.
    let options = tiers(3 * HOUR, 8 * HOUR, 16 * HOUR);
    let store = Store::open(dir.path(), options.clone()).unwrap();
    store.put(&[Sample { key: "host0.cpu", timestamp: 24 * HOUR, value: 1.0 }]).unwrap();
    store.checkpoint().unwrap();
    let check = |store: &Store, when: &str| {
        let kept: Vec<_> = points.iter().filter(|p| p.1 >= 20 * HOUR).cloned().collect();
        let mut read = all(store);
        read.retain(|p| p.1 < 24 * HOUR);
        assert_eq!(read, kept, "{when}: get gives the raw points still held");
        assert_eq!(store.stats().points, kept.len() as u64 + 1, "{when}");
        let from = |slots: &[(i64, u64, u64)], start: i64| {
            slots.iter().filter(|s| s.0 >= start && s.0 < 24 * HOUR).cloned().collect::<Vec<_>>()
        };
        let mut five = slots(store, 300);
        five.retain(|s| s.0 < 24 * HOUR);
        assert_eq!(five, from(&every_five, 16 * HOUR), "{when}: five-minute rollups from 16 h");
        let mut hours = slots(store, 3600);
        hours.retain(|s| s.0 < 24 * HOUR);
        assert_eq!(hours, from(&every_hour, 8 * HOUR), "{when}: hourly rollups from 8 h");
    };
    check(&store, "after the checkpoint");
    assert_eq!(store.stats().windows_on_disk, 7, "windows 4 to 10; 0 to 3 went whole");
    drop(store);
    let store = Store::open(dir.path(), options).unwrap();
    check(&store, "after a restart");
    // A point put into a window whose raw points went is dropped at the
    // next checkpoint, as one older than the retention.
    store.put(&[Sample { key: "host0.cpu", timestamp: 17 * HOUR, value: 9.0 }]).unwrap();
    store.checkpoint().unwrap();
    check(&store, "after a late point");
}

#[test]
fn a_damaged_block_file_is_refused_with_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), options()).unwrap();
    fleet(&store, 0, 1);
    store.close().unwrap();
    let block = files(dir.path(), "blocks", "blk").remove(0);
    let mut bytes = std::fs::read(&block).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x08;
    std::fs::write(&block, bytes).unwrap();
    match Store::open(dir.path(), options()) {
        Err(error @ Error::CorruptFile { .. }) => {
            assert!(error.to_string().contains(&block.display().to_string()))
        }
        other => panic!("expected CorruptFile, got {other:?}"),
    }
}

#[test]
fn an_idle_store_does_not_checkpoint_again() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), options()).unwrap();
    fleet(&store, 0, 1);
    let first = store.checkpoint().unwrap();
    let again = store.checkpoint().unwrap();
    assert_eq!(again.generation, first.generation);
    assert_eq!(files(dir.path(), "wal", "wal").len(), 2, "the covered segment and the new one");
    store.put(&[Sample { key: "new", timestamp: 5, value: 1.0 }]).unwrap();
    assert_eq!(store.checkpoint().unwrap().generation, first.generation + 1);
}

#[test]
fn checkpoints_taken_while_writers_run_restore_exactly_what_was_written() {
    let dir = tempfile::tempdir().unwrap();
    let options = Options { checkpoint_on_close: false, segment_max_bytes: 64 * 1024, ..options() };
    let store = std::sync::Arc::new(Store::open(dir.path(), options.clone()).unwrap());
    let writer = {
        let store = std::sync::Arc::clone(&store);
        std::thread::spawn(move || {
            for round in 0..400i64 {
                // New series keep appearing, old ones get in-order points,
                // out-of-order points and overwrites with ever newer values.
                let keys: Vec<String> = (0..(5 + round / 10)).map(|k| format!("series{k}")).collect();
                let batch: Vec<Sample<'_>> = keys
                    .iter()
                    .enumerate()
                    .flat_map(|(k, key)| {
                        [
                            Sample { key, timestamp: round * 60, value: round as f64 },
                            Sample {
                                key,
                                timestamp: (round * 7919 + k as i64) % (round * 60 + 1),
                                value: -(round as f64),
                            },
                            Sample { key, timestamp: 0, value: round as f64 / 10.0 },
                        ]
                    })
                    .collect();
                store.put(&batch).unwrap();
            }
        })
    };
    let mut checkpoints = 0;
    while !writer.is_finished() {
        store.checkpoint().unwrap();
        checkpoints += 1;
    }
    writer.join().unwrap();
    assert!(checkpoints > 1, "the checkpoints did not overlap the writes");
    let expected = all(&store);
    drop(store);
    let store = Store::open(dir.path(), options).unwrap();
    assert_eq!(all(&store), expected);
}

#[test]
fn points_put_into_a_window_on_disk_cost_what_they_change_and_read_back_merged() {
    let dir = tempfile::tempdir().unwrap();
    let start = 1_699_999_200; // the start of a window
    let store = Store::open(dir.path(), options()).unwrap();
    fleet(&store, start, 12);
    let whole = store.checkpoint().unwrap();
    assert!(store.stats().windows_on_disk >= 4, "{:?}", store.stats());
    let window_files = |dir: &Path| {
        files(dir, "blocks", "blk")
            .into_iter()
            .filter(|path| path.to_string_lossy().contains(&format!("window_{}_", start / 7200)))
            .count()
    };
    // One point replaced and one added in the first window, five times:
    // each checkpoint writes a small file over the window's, until the
    // window has four files and the next change writes it whole again.
    let mut expected = all(&store);
    for round in 0..6i64 {
        let replaced = Sample { key: "host3.cpu", timestamp: start + 600, value: 100.0 + round as f64 };
        let added = Sample { key: "host4.cpu", timestamp: start + 605 + round, value: -1.0 };
        store.put(&[replaced, added]).unwrap();
        for sample in [replaced, added] {
            let point = (sample.key.to_owned(), sample.timestamp, sample.value.to_bits());
            match expected.iter().position(|(k, t, _)| *k == point.0 && *t == point.1) {
                Some(at) => expected[at] = point,
                None => {
                    let at = expected.iter().position(|(k, t, _)| *k == point.0 && *t > point.1).unwrap();
                    expected.insert(at, point);
                }
            }
        }
        let stats = store.checkpoint().unwrap();
        assert_eq!(stats.windows_written, 1, "{stats:?}");
        if round < 3 {
            // The two series' runs of the window, and the manifest.
            assert!(
                stats.bytes_written * 2 < whole.bytes_written / 6,
                "round {round}: {} bytes for two points, against {} for six windows",
                stats.bytes_written,
                whole.bytes_written
            );
        }
        assert_eq!(all(&store), expected, "round {round}");
        assert_eq!(store.stats().points, expected.len() as u64, "round {round}");
        // The window's files, and the previous checkpoint's kept beside.
        assert!(window_files(dir.path()) <= 5, "round {round}: {}", window_files(dir.path()));
    }
    store.close().unwrap();
    let store = Store::open(dir.path(), options()).unwrap();
    assert_eq!(all(&store), expected);
    assert_eq!(store.stats().points, expected.len() as u64);
}

#[test]
fn a_memory_budget_too_small_for_two_windows_keeps_only_the_newest() {
    let dir = tempfile::tempdir().unwrap();
    let start = 1_699_999_200; // the start of a window
    let roomy = Store::open(dir.path(), options()).unwrap();
    fleet(&roomy, start, 10);
    roomy.checkpoint().unwrap();
    let every = all(&roomy);
    let newest_window_start = start + 4 * 7200;
    assert_eq!(roomy.stats().memory_from, Some(newest_window_start - 7200), "two windows in memory");
    roomy.close().unwrap();

    let tight = Options { memory_budget: 4096, ..options() };
    let store = Store::open(dir.path(), tight).unwrap();
    assert_eq!(store.stats().memory_from, Some(newest_window_start - 7200));
    // Nothing new to write: the checkpoint lets the window before go at once.
    store.checkpoint().unwrap();
    assert_eq!(store.stats().memory_from, Some(newest_window_start));
    assert_eq!(all(&store), every);
    // A late point into the window that left: kept, merged at the next
    // checkpoint, read back either way.
    store.put(&[Sample { key: "host1.cpu", timestamp: newest_window_start - 10, value: 42.0 }]).unwrap();
    let late = ("host1.cpu".to_owned(), newest_window_start - 10, 42.0f64.to_bits());
    assert!(all(&store).contains(&late));
    store.checkpoint().unwrap();
    assert!(all(&store).contains(&late));
    assert_eq!(store.stats().points, every.len() as u64);
}

#[test]
fn a_backfill_older_than_the_raw_retention_keeps_its_rollups() {
    let tiers = Options {
        retention: Some(Duration::from_secs(24 * HOUR as u64)),
        rollups: vec![RollupLevel {
            step: 3600,
            retention: Some(Duration::from_secs(365 * 24 * HOUR as u64)),
        }],
        ..options()
    };
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), tiers.clone()).unwrap();
    let today = 100 * 24 * HOUR;
    fleet(&store, today, 4);
    store.checkpoint().unwrap();
    // A day of history thirty days back, as an import would put it.
    let backfill = today - 30 * 24 * HOUR;
    fleet(&store, backfill, 24);
    store.checkpoint().unwrap();
    assert!(all(&store).iter().all(|(_, timestamp, _)| *timestamp >= today), "raw points past a day go");
    let elsewhere = tempfile::tempdir().unwrap();
    let hourly = Options { rollups: vec![RollupLevel { step: 3600, retention: None }], ..options() };
    let reference = Store::open(elsewhere.path(), hourly).unwrap();
    fleet(&reference, backfill, 24);
    let backfilled: Vec<(i64, u64, u64)> =
        slots(&store, 3600).into_iter().filter(|(start, _, _)| *start < today).collect();
    assert_eq!(backfilled.len(), 24);
    assert_eq!(backfilled, slots(&reference, 3600), "the day's hourly rollups stay");
}
