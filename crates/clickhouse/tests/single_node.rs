//! Against a real ClickHouse (Debian's clickhouse-server, 18.16), started
//! on loopback by the test in a folder of its own: the schema, inserts,
//! last-write-wins reads, first-put order, errors.

use eardrum_clickhouse::{ClickHouse, Error, Point, Version};
use eardrum_test_support::clickhouse::*;
use std::time::Duration;

fn point(key: &str, timestamp: i64, value: f64, version: u64) -> Point {
    Point { key: key.to_owned(), timestamp, value, version }
}

#[test]
#[ignore = "needs ClickHouse (Debian's clickhouse-server): `cargo xtask test` installs it"]
fn points_come_back_last_write_wins_and_keys_in_first_put_order() {
    let server = start_clickhouse();
    let clickhouse = connect(&server, "eardrum_test");
    assert!(clickhouse.server_version().unwrap().starts_with("18."));
    match clickhouse.points("a", 0, 10) {
        Err(Error::Refused { message, .. }) => assert!(message.contains("eardrum_test"), "{message}"),
        other => panic!("a missing database: {other:?}"),
    }
    clickhouse.ensure_schema().unwrap();
    clickhouse.ensure_schema().unwrap();

    let odd = "odd'key\\with,stuff";
    let batch = [
        point("palm.cpu", 2, 2.0, 10),
        point("palm.cpu", 1, 1.0, 11),
        point("palm.cpu", 1, 1.5, 12),
        point(odd, 5, f64::NAN, 13),
        point("eardrum.cpu", 3, f64::INFINITY, 14),
    ];
    let seen = [("palm.cpu".to_owned(), 10), (odd.to_owned(), 13), ("eardrum.cpu".to_owned(), 14)];
    clickhouse.insert(&batch, &seen).unwrap();
    // Sent again (a retry), and an older write arriving late: no change.
    clickhouse.insert(&batch, &seen).unwrap();
    clickhouse.insert(&[point("palm.cpu", 1, 99.0, 9)], &[("palm.cpu".to_owned(), 9_000)]).unwrap();

    assert_eq!(clickhouse.points("palm.cpu", 0, 10).unwrap(), [(1, 1.5), (2, 2.0)]);
    assert_eq!(clickhouse.points("palm.cpu", 2, 2).unwrap(), [(2, 2.0)]);
    let odd_points = clickhouse.points(odd, 0, 10).unwrap();
    assert!(odd_points.len() == 1 && odd_points[0].1.is_nan());
    assert_eq!(clickhouse.keys().unwrap(), ["palm.cpu", odd, "eardrum.cpu"]);
    let mut all = Vec::new();
    let rows =
        clickhouse.scan_all(|key, timestamp, value| all.push((key.to_owned(), timestamp, value))).unwrap();
    assert_eq!(rows, 4);
    assert_eq!(all[0], ("palm.cpu".to_owned(), 1, 1.5));
    assert_eq!(all[1], ("palm.cpu".to_owned(), 2, 2.0));
    assert_eq!((all[2].0.as_str(), all[2].1), (odd, 5));
    assert_eq!(all[3], ("eardrum.cpu".to_owned(), 3, f64::INFINITY));

    // Versions from two front ends writing the same point: the later wins.
    let (mut one, mut two) = (Version::new(1), Version::new(2));
    let early = one.next(1_700_000_000_000_000);
    let late = two.next(1_700_000_000_000_001);
    clickhouse.insert(&[point("shared", 1, 2.0, late), point("shared", 1, 1.0, early)], &[]).unwrap();
    assert_eq!(clickhouse.points("shared", 1, 1).unwrap(), [(1, 2.0)]);
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
