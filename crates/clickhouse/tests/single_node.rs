//! Against a real ClickHouse (Debian's clickhouse-server, 18.16), started
//! on loopback by the test in a folder of its own: the schema, inserts,
//! last-write-wins reads, first-put order, errors.

use eardrum_clickhouse::{ClickHouse, Error, Point, Version};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A ClickHouse server in a temporary folder, stopped when dropped.
struct Server {
    child: Child,
    http_port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn start_clickhouse() -> Server {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.ci/test-deps");
    let installed = Command::new("bash").arg(&script).status().unwrap();
    assert!(installed.success(), "{} failed", script.display());
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().display().to_string();
    let (http_port, tcp_port) = (free_port(), free_port());
    std::fs::write(
        dir.path().join("users.xml"),
        "<yandex><profiles><default></default></profiles><quotas><default></default></quotas>\
         <users><default><password></password><networks><ip>127.0.0.1</ip></networks>\
         <profile>default</profile><quota>default</quota></default></users></yandex>",
    )
    .unwrap();
    let config = dir.path().join("config.xml");
    std::fs::write(
        &config,
        format!(
            "<yandex><logger><level>warning</level><console>1</console></logger>\
             <http_port>{http_port}</http_port><tcp_port>{tcp_port}</tcp_port>\
             <listen_host>127.0.0.1</listen_host><path>{root}/data/</path><tmp_path>{root}/tmp/</tmp_path>\
             <user_files_path>{root}/files/</user_files_path><users_config>{root}/users.xml</users_config>\
             <default_profile>default</default_profile><default_database>default</default_database>\
             <mark_cache_size>104857600</mark_cache_size></yandex>"
        ),
    )
    .unwrap();
    let child = Command::new("/usr/sbin/clickhouse-server")
        .arg(format!("--config-file={}", config.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("clickhouse-server runs");
    let server = Server { child, http_port, _dir: dir };
    let clickhouse = connect(&server, "probe");
    let deadline = Instant::now() + Duration::from_secs(60);
    while clickhouse.server_version().is_err() {
        assert!(Instant::now() < deadline, "ClickHouse did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    server
}

fn connect(server: &Server, database: &str) -> ClickHouse {
    ClickHouse::new(
        &format!("clickhouse://127.0.0.1:{}/{database}", server.http_port),
        Duration::from_secs(10),
    )
    .unwrap()
}

fn point(key: &str, timestamp: i64, value: f64, version: u64) -> Point {
    Point { key: key.to_owned(), timestamp, value, version }
}

#[test]
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
fn an_unreachable_server_is_an_error_that_says_where() {
    let port = free_port();
    let clickhouse =
        ClickHouse::new(&format!("clickhouse://127.0.0.1:{port}/x"), Duration::from_secs(2)).unwrap();
    let error = clickhouse.ensure_schema().unwrap_err();
    assert!(matches!(error, Error::Unreachable { .. }), "{error:?}");
    assert!(error.to_string().contains(&format!("127.0.0.1:{port}")), "{error}");
}
