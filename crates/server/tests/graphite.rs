//! The Graphite plaintext listener: collectd-shaped lines in, the same
//! store out through the protocol.

#![expect(clippy::unwrap_used, reason = "test helpers: a failure is a panic")]

use eardrum_server::{AuthToken, Config};
use eardrum_storage::SyncMode;
use eardrum_test_support::server::{connect, exchange, http_get, start_server_with_config};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A counter from the stats, once it reaches `at_least` (Graphite has no
/// replies: the stats say when the points are in).
async fn counter_reaching(http: std::net::SocketAddr, name: &str, at_least: u64) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, body) = http_get(http, "/api/v1/stats").await;
        let stats: serde_json::Value = serde_json::from_str(&body).unwrap();
        let value = stats[name].as_u64().unwrap();
        if value >= at_least || Instant::now() > deadline {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn collectd_lines_split_anywhere_are_stored_and_bad_lines_skipped_without_desync() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config { max_line_bytes: 100, ..Config::default() };
    let server = start_server_with_config(dir.path(), SyncMode::Never, config).await;
    let overlong = format!("{} 1 1700000000\r\n", "x".repeat(150));
    let stream = [
        "collectd.palm.cpu-0.cpu-idle 97.5 1700000000\r\n",
        "collectd.palm.memory.memory-used 1.2345e+09 1700000000\r\n",
        "collectd.palm.cpu-0.cpu-idle nan 1700000010\r\n",
        "not a point at all\r\n",
        "collectd.palm\u{a0}cpu 1 1700000000\r\n",
        &overlong,
        "collectd.palm.load.shortterm 0.25 1700000010.75\r\n",
        "\r\n",
        "collectd.palm.cpu-0.cpu-idle 96 1700000000\r\n",
    ]
    .concat();
    let mut graphite = TcpStream::connect(server.graphite_addr).await.unwrap();
    // A few bytes at a time, so lines (and the overlong one) span reads.
    for piece in stream.as_bytes().chunks(7) {
        graphite.write_all(piece).await.unwrap();
        graphite.flush().await.unwrap();
    }
    assert_eq!(counter_reaching(server.http_addr, "graphite_points_stored", 5).await, 5);
    assert_eq!(counter_reaching(server.http_addr, "graphite_lines_rejected", 3).await, 3);

    let mut protocol = connect(server.addr).await;
    let expected = "ok\n\
        collectd.palm.cpu-0.cpu-idle 96.0 1700000000\n\
        collectd.palm.cpu-0.cpu-idle nan 1700000010\n\
        collectd.palm.memory.memory-used 1234500000.0 1700000000\n\
        collectd.palm.load.shortterm 0.25 1700000010\n\n";
    exchange(&mut protocol, b"get *\n", expected.as_bytes()).await;

    // Nothing is ever written back on the Graphite port.
    drop(protocol);
    graphite.shutdown().await.unwrap();
    let mut answer = Vec::new();
    graphite.read_to_end(&mut answer).await.unwrap();
    assert!(answer.is_empty(), "{answer:?}");
    server.stop().await;
}

#[tokio::test]
async fn with_a_token_graphite_connections_must_authenticate_first() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config { auth_token: Some(AuthToken::new("s3cret").unwrap()), ..Config::default() };
    let server = start_server_with_config(dir.path(), SyncMode::Never, config).await;

    let mut refused = TcpStream::connect(server.graphite_addr).await.unwrap();
    refused.write_all(b"sneaky.metric 1 1700000000\n").await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), refused.read_to_end(&mut answer)).await.unwrap();
    assert!(answer.is_empty(), "no reply on the Graphite port, just the close");

    let mut allowed = TcpStream::connect(server.graphite_addr).await.unwrap();
    allowed.write_all(b"auth s3cret\nallowed.metric 2 1700000000\n").await.unwrap();
    let mut protocol = connect(server.addr).await;
    exchange(&mut protocol, b"auth s3cret\n", b"ok\n\n").await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut reply = String::new();
    while Instant::now() < deadline {
        protocol.write_all(b"get *\n").await.unwrap();
        reply = read_reply(&mut protocol).await;
        if reply != "ok\n\n" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(reply, "ok\nallowed.metric 2.0 1700000000\n\n");
    server.stop().await;
}

/// Reads one reply, through its empty line.
async fn read_reply(stream: &mut TcpStream) -> String {
    let mut reply = Vec::new();
    let mut byte = [0u8; 1];
    while !(reply.ends_with(b"\n\n")) {
        stream.read_exact(&mut byte).await.unwrap();
        reply.push(byte[0]);
    }
    String::from_utf8(reply).unwrap()
}
