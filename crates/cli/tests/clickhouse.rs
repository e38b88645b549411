//! `eardrum serve --storage clickhouse://…` as users run it, against a real
//! ClickHouse (Debian's clickhouse-server) started on loopback by the test:
//! ClickHouse killed while puts continue loses nothing acknowledged, a
//! front end killed with unshipped puts ships them when it restarts, and
//! two front ends over a two-shard cluster read each other's writes.

#![expect(clippy::unwrap_used, reason = "test helpers: a failure is a panic")]

mod common;

use common::*;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

/// A protocol connection that puts one point at a time and waits for `ok`.
struct Putter {
    writer: TcpStream,
    reader: BufReader<TcpStream>,
}

impl Putter {
    fn connect(addr: SocketAddr) -> Putter {
        let writer = TcpStream::connect(addr).unwrap();
        let reader = BufReader::new(writer.try_clone().unwrap());
        Putter { writer, reader }
    }

    /// Whether the server acknowledged the put.
    fn put(&mut self, key: &str, value: f64, timestamp: i64) -> bool {
        writeln!(self.writer, "put {key} {value} {timestamp}").unwrap();
        let mut status = String::new();
        self.reader.read_line(&mut status).unwrap();
        let mut blank = String::new();
        self.reader.read_line(&mut blank).unwrap();
        status == "ok\n"
    }
}

fn front_end(dir: &Path, url: &str, extra: &[&str]) -> ServerProcess {
    ServerProcess::start(dir, &[&["--storage", url, "--ship-interval", "100ms"], extra].concat())
}

/// `get *` through a server, as rows.
fn get_all(addr: SocketAddr) -> Vec<String> {
    let reply = send_lines(addr, "get *\n");
    assert!(reply.starts_with("ok\n") && reply.ends_with("\n\n"), "{reply:?}");
    reply.lines().skip(1).filter(|line| !line.is_empty()).map(str::to_owned).collect()
}

/// Waits until `get *` through `addr` answers `expected`.
fn wait_for(addr: SocketAddr, expected: &[String]) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let rows = get_all(addr);
        if rows == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{} rows of {}:\n{rows:?}\n{expected:?}",
            rows.len(),
            expected.len()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
#[ignore = "needs ClickHouse (Debian's clickhouse-server): `cargo xtask test` installs it"]
fn nothing_acknowledged_is_lost_while_clickhouse_or_the_front_end_is_killed() {
    let mut clickhouse = eardrum_test_support::clickhouse::start_clickhouse();
    let url = format!("clickhouse://127.0.0.1:{}/kill_test", clickhouse.http_port);
    let dir = tempfile::tempdir().unwrap();
    let mut server = front_end(dir.path(), &url, &[]);
    let mut putter = Putter::connect(server.addr());
    let mut acknowledged = Vec::new();
    let mut put = |putter: &mut Putter, n: i64| {
        let key = format!("host{}.cpu", n % 7);
        if putter.put(&key, n as f64, n) {
            acknowledged.push(format!("{key} {}.0 {n}", n));
        }
    };
    for n in 0..300 {
        put(&mut putter, n);
    }
    // ClickHouse dies mid-stream: puts go on being acknowledged, and a
    // read, which needs ClickHouse, gets the error reply.
    clickhouse.kill();
    for n in 300..600 {
        put(&mut putter, n);
    }
    assert_eq!(send_lines(server.addr(), "get host1.cpu\n"), "error\nwrong command\n\n");
    // The front end dies too, with those puts unshipped, and comes back.
    drop(putter);
    server.kill();
    let server = front_end(dir.path(), &url, &[]);
    let mut putter = Putter::connect(server.addr());
    for n in 600..700 {
        put(&mut putter, n);
    }
    assert_eq!(acknowledged.len(), 700, "every put was acknowledged, ClickHouse down or not");
    clickhouse.restart();
    // Every acknowledged point comes back, key by key in first-put order.
    let mut expected = acknowledged.clone();
    let key_of = |row: &String| row.split(' ').next().unwrap().trim_start_matches("host").to_owned();
    expected.sort_by_key(|row| (key_of(row), row.rsplit(' ').next().unwrap().parse::<i64>().unwrap()));
    wait_for(server.addr(), &expected);
    // And ClickHouse itself holds them all, once shipped.
    let deadline = Instant::now() + Duration::from_secs(60);
    let distinct = "SELECT count() FROM (SELECT key, timestamp FROM points GROUP BY key, timestamp)";
    while clickhouse.query("kill_test", distinct).trim() != "700" {
        assert!(Instant::now() < deadline, "not all shipped");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
#[ignore = "needs ClickHouse (Debian's clickhouse-server): `cargo xtask test` installs it"]
fn two_front_ends_over_a_two_shard_cluster_read_each_others_writes() {
    let nodes = eardrum_test_support::clickhouse::start_cluster("metrics_cluster", 2);
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let servers: Vec<ServerProcess> = nodes
        .iter()
        .zip(&dirs)
        .map(|(node, dir)| {
            let url = format!("clickhouse://127.0.0.1:{}/metrics", node.http_port);
            let flags =
                ["--storage", &url, "--ship-interval", "100ms", "--clickhouse-cluster", "metrics_cluster"];
            ServerProcess::start_with_http(dir.path(), &flags)
        })
        .collect();
    let mut expected = Vec::new();
    for (index, server) in servers.iter().enumerate() {
        let mut putter = Putter::connect(server.addr());
        for n in 0..50 {
            let key = format!("fe{index}.metric{n}");
            assert!(putter.put(&key, n as f64 + 0.5, 1_700_000_000 + n));
            expected.push(format!("{key} {}.5 {}", n, 1_700_000_000 + n));
        }
        // The next front end's puts come a shipment later.
        std::thread::sleep(Duration::from_millis(300));
    }
    for server in &servers {
        wait_for(server.addr(), &expected);
    }
    // The HTTP API reads through ClickHouse too, and reports shipping.
    let (status, body) =
        http_get(servers[0].http_port, "/api/v1/points?match=fe1.metric1&from=1700000000&until=1700000100");
    assert_eq!(
        (status, body.as_str()),
        (200, r#"{"series":[{"key":"fe1.metric1","points":[[1700000001,1.5]]}]}"#)
    );
    let (status, body) = http_get(
        servers[1].http_port,
        "/render?target=fe0.metric2&from=1699999000&until=1700000100&format=json",
    );
    assert!(status == 200 && body.contains("[2.5, 1699999980]"), "{status} {body}");
    let (_, stats) = http_get(servers[0].http_port, "/api/v1/stats");
    let stats: serde_json::Value = serde_json::from_str(&stats).unwrap();
    let shipping = &stats["shipping"];
    assert!(shipping["points_shipped"].as_u64().unwrap() >= 50, "{stats}");
    assert_eq!(shipping["outboxes_waiting"], 0, "{stats}");
    assert!(shipping["lag_ms"].as_u64().unwrap() < 60_000, "{stats}");
    let out = run(&["stats", "--http-port", &servers[1].http_port.to_string()]);
    let printed = text(&out.stdout);
    assert!(printed.contains("shipping") && printed.contains("0 outboxes waiting"), "{printed}");
}
