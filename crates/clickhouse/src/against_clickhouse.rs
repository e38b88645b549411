//! The queries the front end runs, against a real ClickHouse (Debian's
//! clickhouse-server, 18.16) started on loopback in a folder of its own:
//! the schema, inserts as the shipper sends them, last-write-wins paged
//! reads, first-put order, a cluster of two shards, and errors.
//!
//! Ignored by plain `cargo test`: `cargo xtask test` installs ClickHouse
//! and runs them.

use crate::reads::{KeysFrom, VersionedPoint};
use crate::versions::Version;
use crate::{tsv, ClickHouse, Error};
use eardrum_test_support::clickhouse::{free_port, start_clickhouse, start_cluster, Server};
use std::time::Duration;

/// The database `database` on `server`.
fn connect(server: &Server, database: &str) -> ClickHouse {
    ClickHouse::new(&server.url(database), Duration::from_secs(10)).unwrap()
}

/// Inserts `points` (key, timestamp, value, version) and first-seen times
/// as the shipper does: TabSeparated rows, series first.
fn insert(clickhouse: &ClickHouse, points: &[(&str, i64, f64, u64)], first_seen: &[(&str, u64)]) {
    let mut rows = String::new();
    for (key, seen) in first_seen {
        tsv::push_series_row(&mut rows, key, *seen);
    }
    if !rows.is_empty() {
        clickhouse.insert_rows("series", rows.as_bytes()).unwrap();
    }
    let mut rows = String::new();
    for (key, timestamp, value, version) in points {
        tsv::push_point_row(&mut rows, key, *timestamp, *value, *version);
    }
    clickhouse.insert_rows("points", rows.as_bytes()).unwrap();
}

/// One key's points, as the front end pages through them.
fn points(clickhouse: &ClickHouse, key: &str) -> Vec<(i64, f64)> {
    let page = clickhouse.points_page(&[key], None, usize::MAX).unwrap();
    page.iter().map(|point| (point.timestamp, point.value)).collect()
}

/// Every key in first-put order, as `get *` pages through them.
fn keys(clickhouse: &ClickHouse) -> Vec<String> {
    clickhouse.keys_page(None, usize::MAX).unwrap().into_iter().map(|(key, _)| key).collect()
}

#[test]
#[ignore = "needs ClickHouse (Debian's clickhouse-server): `cargo xtask test` installs it"]
fn points_come_back_last_write_wins_and_keys_in_first_put_order() {
    let server = start_clickhouse();
    let clickhouse = connect(&server, "eardrum_test");
    assert!(clickhouse.server_version().unwrap().starts_with("18."));
    match clickhouse.points_page(&["a"], None, 10) {
        Err(Error::Refused { message, .. }) => assert!(message.contains("eardrum_test"), "{message}"),
        other => panic!("a missing database: {other:?}"),
    }
    clickhouse.ensure_schema().unwrap();
    clickhouse.ensure_schema().unwrap();

    let odd = "odd'key\\with,stuff";
    let batch = [
        ("palm.cpu", 2, 2.0, 10),
        ("palm.cpu", 1, 1.0, 11),
        ("palm.cpu", 1, 1.5, 12),
        (odd, 5, f64::NAN, 13),
        ("eardrum.cpu", 3, f64::INFINITY, 14),
    ];
    let seen = [("palm.cpu", 10), (odd, 13), ("eardrum.cpu", 14)];
    insert(&clickhouse, &batch, &seen);
    // Sent again (a retry), and an older write arriving late: no change.
    insert(&clickhouse, &batch, &seen);
    insert(&clickhouse, &[("palm.cpu", 1, 99.0, 9)], &[("palm.cpu", 9_000)]);

    assert_eq!(points(&clickhouse, "palm.cpu"), [(1, 1.5), (2, 2.0)]);
    let odd_points = points(&clickhouse, odd);
    assert!(odd_points.len() == 1 && odd_points[0].1.is_nan());
    assert_eq!(keys(&clickhouse), ["palm.cpu", odd, "eardrum.cpu"]);

    // Pages: keys after a resume point, points of several keys in the
    // order asked, a resumed key's points after a time.
    let after_first = KeysFrom { first_seen: 10, key: "palm.cpu", inclusive: false };
    let rest: Vec<String> =
        clickhouse.keys_page(Some(after_first), 1).unwrap().into_iter().map(|(key, _)| key).collect();
    assert_eq!(rest, [odd]);
    let page = clickhouse.points_page(&["eardrum.cpu", "palm.cpu"], Some(("palm.cpu", 1)), 10).unwrap();
    let expected = [
        VersionedPoint { key_index: 0, timestamp: 3, value: f64::INFINITY, version: 14 },
        VersionedPoint { key_index: 1, timestamp: 2, value: 2.0, version: 10 },
    ];
    assert_eq!(page, expected);
    let known = clickhouse.first_seen(&["palm.cpu", "missing"]).unwrap();
    assert_eq!(known.into_iter().collect::<Vec<_>>(), [("palm.cpu".to_owned(), 10)]);

    // Versions from two front ends writing the same point: the later wins.
    let (mut one, mut two) = (Version::new(1), Version::new(2));
    let early = one.next(1_700_000_000_000_000);
    let late = two.next(1_700_000_000_000_001);
    insert(&clickhouse, &[("shared", 1, 2.0, late), ("shared", 1, 1.0, early)], &[]);
    assert_eq!(points(&clickhouse, "shared"), [(1, 2.0)]);
}

#[test]
#[ignore = "needs ClickHouse (Debian's clickhouse-server): `cargo xtask test` installs it"]
fn an_unreachable_server_is_an_error_that_says_where() {
    let port = free_port();
    let clickhouse =
        ClickHouse::new(&format!("clickhouse://127.0.0.1:{port}/x"), Duration::from_secs(2)).unwrap();
    let error = clickhouse.ensure_schema().unwrap_err();
    assert!(matches!(error, Error::Unreachable { .. }), "{error:?}");
    assert!(error.to_string().contains(&format!("127.0.0.1:{port}")), "{error}");
}

#[test]
#[ignore = "needs ClickHouse (Debian's clickhouse-server): `cargo xtask test` installs it"]
fn two_shards_share_the_points_and_either_node_reads_them_all() {
    let nodes = start_cluster("eardrum", 2);
    let front_ends: Vec<_> =
        nodes.iter().map(|node| connect(node, "metrics").with_cluster("eardrum").unwrap()).collect();
    // One node's tables are not enough: the other shard has none yet.
    match front_ends[0].ensure_schema() {
        Err(error @ Error::ShardsWithoutTables { .. }) => {
            assert!(error.to_string().contains("start a front end against each node"), "{error}")
        }
        other => panic!("{other:?}"),
    }
    front_ends[1].create_schema().unwrap();
    for front_end in &front_ends {
        front_end.ensure_schema().unwrap();
    }
    let names: Vec<String> = (0..20).map(|h| format!("host{h}.cpu")).collect();
    let batch: Vec<(&str, i64, f64, u64)> =
        (0..200).map(|i| (names[i % 20].as_str(), i as i64 / 20, i as f64, i as u64 + 1)).collect();
    let first_seen: Vec<(&str, u64)> =
        names.iter().zip(0..).map(|(key, seen)| (key.as_str(), seen)).collect();
    insert(&front_ends[0], &batch, &first_seen);

    // Read through the other node: every key in first-put order, and
    // every point.
    assert_eq!(keys(&front_ends[1]), names, "keys in first-put order across shards");
    let all: Vec<&str> = names.iter().map(String::as_str).collect();
    assert_eq!(front_ends[1].points_page(&all, None, usize::MAX).unwrap().len(), 200);
    assert_eq!(points(&front_ends[1], "host3.cpu").len(), 10);

    // Each shard holds some of the keys, each key on one shard only.
    let local_keys: Vec<Vec<String>> = nodes
        .iter()
        .map(|node| {
            node.query("metrics", "SELECT DISTINCT key FROM points_local")
                .lines()
                .map(str::to_owned)
                .collect()
        })
        .collect();
    assert!(local_keys.iter().all(|keys| !keys.is_empty()), "{local_keys:?}");
    assert_eq!(local_keys[0].len() + local_keys[1].len(), 20, "{local_keys:?}");
}
