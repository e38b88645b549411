//! Front ends over a real ClickHouse: puts acknowledged from the local log,
//! shipped, read back merged; two front ends over a two-shard cluster
//! reading each other's writes; a front end reopened with unshipped
//! outboxes ships them.

#![expect(clippy::unwrap_used, reason = "test helpers: a failure is a panic")]

use eardrum_clickhouse::{ClickHouse, FrontEnd};
use eardrum_storage::{Backend, Keys, Options, Outcome, Sample, ScanCursor, SyncMode};
use eardrum_test_support::clickhouse::*;
use std::path::Path;
use std::time::{Duration, Instant};

fn open(dir: &Path, clickhouse: ClickHouse, interval: Duration) -> FrontEnd {
    let options = Options { sync: SyncMode::Never, ..Options::default() };
    FrontEnd::open(dir, options, clickhouse, interval).unwrap()
}

fn put(front_end: &FrontEnd, samples: &[(&str, i64, f64)]) {
    let samples: Vec<Sample<'_>> =
        samples.iter().map(|&(key, timestamp, value)| Sample { key, timestamp, value }).collect();
    let ticket = front_end.stage(&samples);
    front_end.commit().unwrap();
    assert_eq!(front_end.outcome(&ticket), Outcome::Stored);
}

/// `get *` through the front end, a small batch per call, as the server
/// streams it.
fn everything(front_end: &FrontEnd) -> Vec<(String, i64, f64)> {
    let mut rows = Vec::new();
    let mut cursor = ScanCursor::default();
    while !cursor.is_done() {
        front_end
            .scan_some(Keys::All, &mut cursor, 3, &mut |key, timestamp, value| {
                rows.push((key.to_owned(), timestamp, value))
            })
            .unwrap();
    }
    rows
}

/// What ClickHouse alone holds: `get *` through a front end of its own
/// whose local log is empty.
fn in_clickhouse(server: &Server, database: &str) -> Vec<(String, i64, f64)> {
    let dir = tempfile::tempdir().unwrap();
    let reader = open(dir.path(), connect(server, database), Duration::from_secs(3600));
    let held = everything(&reader);
    reader.close().unwrap();
    held
}

fn rows(expected: &[(&str, i64, f64)]) -> Vec<(String, i64, f64)> {
    expected.iter().map(|&(key, timestamp, value)| (key.to_owned(), timestamp, value)).collect()
}

/// Sealed outboxes not yet deleted.
fn outboxes(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name().to_str().unwrap().starts_with("outbox-"))
        .count()
}

#[test]
#[ignore = "needs ClickHouse (Debian's clickhouse-server): `cargo xtask test` installs it"]
fn reads_merge_the_local_log_with_clickhouse_until_it_is_shipped() {
    let server = start_clickhouse();
    let dir = tempfile::tempdir().unwrap();
    // An interval long enough that nothing ships on its own during the test.
    let front_end = open(dir.path(), connect(&server, "merge"), Duration::from_secs(3600));
    put(&front_end, &[("b", 2, 2.0), ("a", 1, 1.0), ("b", 1, 1.0)]);
    assert!(in_clickhouse(&server, "merge").is_empty(), "nothing shipped yet");
    let local = rows(&[("b", 1, 1.0), ("b", 2, 2.0), ("a", 1, 1.0)]);
    assert_eq!(everything(&front_end), local, "read your writes before shipping");
    let stats = front_end.stats();
    assert_eq!((stats.series, stats.points), (2, 3), "the local log's figures");
    assert!(stats.log_bytes > 0);
    let shipping = stats.shipping.unwrap();
    assert_eq!((shipping.points_shipped, shipping.outboxes_waiting), (0, 0));

    // Closing ships what it can.
    front_end.close().unwrap();
    drop(front_end);
    assert_eq!(in_clickhouse(&server, "merge"), rows(&[("b", 1, 1.0), ("b", 2, 2.0), ("a", 1, 1.0)]));
    assert_eq!(outboxes(dir.path()), 0, "shipped outboxes are deleted");

    // Reopened: ClickHouse's points and new local ones, later writes win.
    let front_end = open(dir.path(), connect(&server, "merge"), Duration::from_secs(3600));
    put(&front_end, &[("a", 1, 10.0), ("c", 5, 5.0), ("b", 3, 3.0)]);
    let merged = rows(&[("b", 1, 1.0), ("b", 2, 2.0), ("b", 3, 3.0), ("a", 1, 10.0), ("c", 5, 5.0)]);
    assert_eq!(everything(&front_end), merged);
    let mut one = Vec::new();
    let mut cursor = ScanCursor::starting_at(2);
    while !cursor.is_done() {
        front_end.scan_some(Keys::One("b"), &mut cursor, 1, &mut |_, t, v| one.push((t, v))).unwrap();
    }
    assert_eq!(one, [(2, 2.0), (3, 3.0)]);
    let mut keys = Vec::new();
    assert_eq!(front_end.keys_from(1, 10, &mut |_, key| keys.push(key.to_owned())).unwrap(), 3);
    assert_eq!(keys, ["a", "c"]);
    front_end.close().unwrap();
    let held = in_clickhouse(&server, "merge");
    assert!(held.contains(&("a".to_owned(), 1, 10.0)), "the later write won in ClickHouse: {held:?}");
    assert_eq!(held.len(), 5, "{held:?}");
}

#[test]
#[ignore = "needs ClickHouse (Debian's clickhouse-server): `cargo xtask test` installs it"]
fn two_front_ends_over_two_shards_read_each_others_writes() {
    let nodes = start_cluster("pair", 2);
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let front_ends: Vec<FrontEnd> = nodes
        .iter()
        .zip(&dirs)
        .map(|(node, dir)| {
            let clickhouse = connect(node, "metrics").with_cluster("pair").unwrap();
            open(dir.path(), clickhouse, Duration::from_millis(50))
        })
        .collect();
    let mut expected = Vec::new();
    for host in 0..20 {
        let key = format!("host{host}.cpu");
        let writer = &front_ends[host % 2];
        put(writer, &[(&key, 10, host as f64), (&key, 20, host as f64 + 0.5)]);
        expected.push((key.clone(), 10, host as f64));
        expected.push((key, 20, host as f64 + 0.5));
    }
    // Each sees all once the other has shipped: each front end's keys in
    // the order it took them (keys first put on different front ends
    // within one ship interval are ordered by their shipments).
    let by_writer = |rows: &[(String, i64, f64)], parity: usize| -> Vec<(String, i64, f64)> {
        rows.iter().filter(|(_, _, value)| *value as usize % 2 == parity).cloned().collect()
    };
    for reader in &front_ends {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let seen = everything(reader);
            if seen.len() == expected.len() && (0..2).all(|p| by_writer(&seen, p) == by_writer(&expected, p))
            {
                break;
            }
            assert!(Instant::now() < deadline, "{seen:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    // A point written through both, a ship interval apart: the later
    // write wins on both.
    put(&front_ends[0], &[("host3.cpu", 10, -1.0)]);
    std::thread::sleep(Duration::from_millis(200));
    put(&front_ends[1], &[("host3.cpu", 10, -2.0)]);
    for reader in &front_ends {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let mut seen = Vec::new();
            let mut cursor = ScanCursor::starting_at(10);
            reader
                .scan_some(Keys::One("host3.cpu"), &mut cursor, 1, &mut |_, t, v| seen.push((t, v)))
                .unwrap();
            if seen.first() == Some(&(10, -2.0)) {
                break;
            }
            assert!(Instant::now() < deadline, "{seen:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

#[test]
#[ignore = "needs ClickHouse (Debian's clickhouse-server): `cargo xtask test` installs it"]
fn get_star_pages_through_thousands_of_keys_shipped_and_not() {
    let server = start_clickhouse();
    let dir = tempfile::tempdir().unwrap();
    let front_end = open(dir.path(), connect(&server, "paging"), Duration::from_secs(3600));
    // More keys than a page (1,000) and more points than a call (262,144),
    // half of them shipped, then more points for old keys and new keys
    // kept local: the merge must neither lose nor repeat a row.
    let key = |n: usize| format!("host{n}.disk");
    let mut expected: Vec<(String, i64, f64)> = Vec::new();
    let batch = |keys: std::ops::Range<usize>, times: std::ops::Range<i64>| -> Vec<(String, i64, f64)> {
        keys.flat_map(|n| times.clone().map(move |t| (key(n), t, (n as i64 * 100 + t) as f64))).collect()
    };
    for (keys, times) in [(0..3000, 0..90), (1000..3500, 90..100)] {
        let mut rows = batch(keys.clone(), times.clone());
        if keys.start == 0 {
            // One key with more points than a call: a call ends inside it.
            rows.extend(batch(1..2, 1000..300_000));
        }
        let samples: Vec<(&str, i64, f64)> = rows.iter().map(|(k, t, v)| (k.as_str(), *t, *v)).collect();
        for chunk in samples.chunks(10_000) {
            put(&front_end, chunk);
        }
        expected.extend(rows);
        if keys.start == 0 {
            // Ship the first part: close and reopen.
            front_end.close().unwrap();
        }
    }
    // The order: keys by first put, each key's points ascending.
    let first_put: std::collections::HashMap<String, usize> =
        expected.iter().enumerate().rev().map(|(i, (k, _, _))| (k.clone(), i)).collect();
    expected.sort_by(|a, b| (first_put[&a.0], a.1).cmp(&(first_put[&b.0], b.1)));
    assert_eq!(expected.len(), 3000 * 90 + 299_000 + 2500 * 10);
    let seen = everything(&front_end);
    assert_eq!(seen.len(), expected.len());
    assert!(
        seen == expected,
        "first difference at {:?}",
        seen.iter().zip(&expected).position(|(a, b)| a != b)
    );
}
