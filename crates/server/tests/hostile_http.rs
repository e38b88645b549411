//! The HTTP API against a hostile client, through a real listener: inputs
//! built to crash it or to make it work without bound, and connections
//! that hold slots without finishing their requests.

#![expect(clippy::unwrap_used, reason = "test helpers: a failure is a panic")]

use eardrum_server::{Config, HttpLimits};
use eardrum_storage::SyncMode;
use eardrum_test_support::server::*;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Sends `request` whole and reads the response: the status line and body.
async fn raw(addr: SocketAddr, request: &[u8]) -> (String, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(60), stream.read_to_end(&mut response))
        .await
        .expect("the server answered in time")
        .unwrap();
    let response = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    (head.lines().next().unwrap_or_default().to_owned(), body.to_owned())
}

fn get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.0\r\n\r\n").into_bytes()
}

fn post(path: &str, form: &str) -> Vec<u8> {
    format!(
        "POST {path} HTTP/1.0\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}",
        form.len()
    )
    .into_bytes()
}

/// Waits until the server closes `stream`, at most `limit`; how long it took.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> Duration {
    let started = Instant::now();
    let mut rest = Vec::new();
    tokio::time::timeout(limit, stream.read_to_end(&mut rest))
        .await
        .expect("the server closed the connection")
        .ok();
    started.elapsed()
}

#[tokio::test]
async fn patterns_built_to_overflow_the_stack_or_explode_get_a_400_that_names_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_server_with(dir.path(), SyncMode::Never, Config::default().max_line_bytes).await;
    let mut s = connect(server.addr).await;
    exchange(&mut s, b"put palm.cpu 1 100\n", b"ok\n\n").await;
    let nested = format!("{}a{}", "%7B".repeat(10_000), "%7D".repeat(10_000));
    let exploding = "%7Ba,b%7D".repeat(40);
    for (pattern, limit) in
        [(nested.as_str(), "nest more than 16 deep"), (exploding.as_str(), "1024 alternatives")]
    {
        for request in [
            get(&format!("/metrics/find?query={pattern}")),
            post("/metrics/find", &format!("query={pattern}")),
            get(&format!("/render?target={pattern}&format=json")),
            post("/render", &format!("target=sumSeries({pattern})")),
            get(&format!("/api/v1/series?match={pattern}")),
            get(&format!("/api/v1/points?match={pattern}")),
        ] {
            let (status, body) = raw(server.http_addr, &request).await;
            assert!(status.contains("400"), "{status} {body}");
            assert!(body.contains(limit), "{body}");
            assert!(body.len() < 1_000, "the pattern is not echoed whole: {} bytes", body.len());
        }
    }
    // A 1.9 MB pattern is refused by its length, before any expansion.
    let long = format!("query={}", "%7Bx,y%7D".repeat(200_000));
    let (status, body) = raw(server.http_addr, &post("/metrics/find", &long)).await;
    assert!(status.contains("413") || status.contains("400"), "{status} {body}");
    // Out-of-range times are the client's error, not a panic.
    let (status, body) =
        raw(server.http_addr, &get("/render?target=palm.cpu&from=-9223372036854775808")).await;
    assert!(status.contains("400") && body.contains("out of range"), "{status} {body}");
    // And the server is still there.
    exchange(&mut s, b"get palm.cpu\n", b"ok\npalm.cpu 1.0 100\n\n").await;
    server.stop().await;
}

fn with_http_limits(limits: HttpLimits) -> Config {
    Config { http_limits: limits, ..Config::default() }
}

#[tokio::test]
async fn slow_or_silent_clients_are_closed_at_their_deadlines() {
    let dir = tempfile::tempdir().unwrap();
    let limits = HttpLimits {
        header_timeout: Duration::from_secs(1),
        body_timeout: Duration::from_secs(1),
        keep_alive_timeout: Duration::from_secs(2),
        max_body_bytes: 4096,
        ..HttpLimits::default()
    };
    let server = start_server_with_config(dir.path(), SyncMode::Never, with_http_limits(limits)).await;

    // Connects and sends nothing.
    let mut silent = TcpStream::connect(server.http_addr).await.unwrap();
    // Sends a head a byte now and then (slowloris): the deadline runs from
    // its first byte, not from its last.
    let mut slow = TcpStream::connect(server.http_addr).await.unwrap();
    let slow_task = tokio::spawn(async move {
        let started = Instant::now();
        for byte in b"GET /api/v1/stats HTTP/1.1\r\nHost: x\r\n".iter().cycle() {
            if slow.write_all(&[*byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            if started.elapsed() > Duration::from_secs(20) {
                panic!("the slow head was never cut off");
            }
        }
        started.elapsed()
    });
    assert!(closed_within(&mut silent, Duration::from_secs(5)).await < Duration::from_secs(4));
    assert!(slow_task.await.unwrap() < Duration::from_secs(4));

    // Declares a body and sends part of it: 408 at the body deadline.
    let mut partial = TcpStream::connect(server.http_addr).await.unwrap();
    partial
        .write_all(b"POST /render HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\ntarget=a")
        .await
        .unwrap();
    let mut response = String::new();
    tokio::time::timeout(Duration::from_secs(5), partial.read_to_string(&mut response))
        .await
        .unwrap()
        .unwrap();
    assert!(response.starts_with("HTTP/1.1 408"), "{response}");

    // Declares a gigabyte: 413 at once, nothing read.
    let (status, body) = raw(
        server.http_addr,
        b"POST /render HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(status.contains("413") && body.contains("--max-body-bytes"), "{status} {body}");

    // A keep-alive connection is closed once idle past its timeout, after
    // answering its request.
    let mut idle = TcpStream::connect(server.http_addr).await.unwrap();
    idle.write_all(b"GET /api/v1/stats HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let mut first = [0u8; 12];
    idle.read_exact(&mut first).await.unwrap();
    assert_eq!(&first, b"HTTP/1.1 200");
    let waited = closed_within(&mut idle, Duration::from_secs(10)).await;
    assert!(waited >= Duration::from_millis(1500) && waited < Duration::from_secs(6), "{waited:?}");

    let (_, stats) = raw(server.http_addr, &get("/api/v1/stats")).await;
    let stats: serde_json::Value = serde_json::from_str(&stats).unwrap();
    assert_eq!(stats["connections_open"], 1, "only this request's connection is left: {stats}");
    server.stop().await;
}

#[tokio::test]
async fn reads_past_a_budget_get_a_422_that_says_which_and_how_to_narrow() {
    let dir = tempfile::tempdir().unwrap();
    let limits = HttpLimits {
        max_points_per_request: 50,
        max_series_per_request: 3,
        max_reply_bytes: 2048,
        ..HttpLimits::default()
    };
    let server = start_server_with_config(dir.path(), SyncMode::Never, with_http_limits(limits)).await;
    let mut s = connect(server.addr).await;
    let mut puts = String::new();
    for host in 0..5 {
        for t in 0..40 {
            puts.push_str(&format!("put host{host}.cpu {t} {}\n", 1000 + t * 10));
        }
    }
    for n in 0..3 {
        puts.push_str(&format!("put x{n}{} 1 1000\n", "y".repeat(900)));
    }
    s.write_all(puts.as_bytes()).await.unwrap();
    expect_bytes(&mut s, &b"ok\n\n".repeat(203)).await;

    let cases = [
        ("/api/v1/series?match=host*.cpu", "--max-series-per-request"),
        ("/api/v1/series", "--max-series-per-request"),
        ("/metrics/find?query=host*", "--max-series-per-request"),
        ("/api/v1/points?match=host%7B0,1%7D.cpu&from=0&until=2000", "--max-points-per-request"),
        ("/render?target=host%7B0,1%7D.cpu&from=1000&until=1400", "--max-points-per-request"),
        ("/render?target=host0.cpu&from=1000&until=1400&target=host1.cpu", "--max-points-per-request"),
        ("/api/v1/series?match=x*", "--max-reply-bytes"),
        ("/render?target=x*&from=900&until=1100", "--max-reply-bytes"),
    ];
    for (path, flag) in cases {
        let (status, body) = raw(server.http_addr, &get(path)).await;
        assert!(status.contains("422"), "{path}: {status} {body}");
        assert!(body.contains(flag), "{path}: {body}");
    }
    // Within the budgets, the same routes answer.
    let (status, body) =
        raw(server.http_addr, &get("/api/v1/points?match=host0.cpu&from=0&until=1100")).await;
    assert!(status.contains("200"), "{status} {body}");
    server.stop().await;
}

#[tokio::test]
async fn clients_without_the_token_cannot_keep_authenticated_ones_out() {
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "s3cret-token-0123456789").unwrap();
    let config = Config {
        max_connections: 4,
        max_pending_connections: 100,
        auth_token: Some(eardrum_server::AuthToken::read_file(&token_file).unwrap()),
        ..Config::default()
    };
    let server = start_server_with_config(&dir.path().join("data"), SyncMode::Never, config).await;
    // 45 connections that never send the token, to both ports.
    let mut idle = Vec::new();
    for n in 0..45 {
        let addr = if n % 2 == 0 { server.addr } else { server.http_addr };
        idle.push(TcpStream::connect(addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    // Authenticated clients still get in on both.
    let mut s = connect(server.addr).await;
    exchange(&mut s, b"auth s3cret-token-0123456789\nput a 1 1\n", b"ok\n\nok\n\n").await;
    let (status, body) = raw(
        server.http_addr,
        b"GET /api/v1/stats HTTP/1.0\r\nAuthorization: Bearer s3cret-token-0123456789\r\n\r\n",
    )
    .await;
    assert!(status.contains("200"), "{status} {body}");
    drop(idle);
    server.stop().await;
}

#[tokio::test]
async fn a_large_reply_streams_whole_and_parses() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_server_with(dir.path(), SyncMode::Never, Config::default().max_line_bytes).await;
    let mut s = connect(server.addr).await;
    let mut puts = String::new();
    for t in 0..60_000 {
        puts.push_str(&format!("put big.{} {t}.25 {}\n", t % 3, 1_000_000 + t));
    }
    s.write_all(puts.as_bytes()).await.unwrap();
    expect_bytes(&mut s, &b"ok\n\n".repeat(60_000)).await;
    let (status, body) = raw(server.http_addr, &get("/api/v1/points?match=big.*&from=0&until=2000000")).await;
    assert!(status.contains("200"), "{status}");
    assert!(body.len() > 1_000_000, "larger than what is kept back before streaming");
    let parsed: serde_json::Value = serde_json::from_str(&body).expect("the streamed reply is whole JSON");
    let series = parsed["series"].as_array().unwrap();
    assert_eq!(series.iter().map(|s| s["points"].as_array().unwrap().len()).sum::<usize>(), 60_000);
    assert_eq!(series[1]["points"][0], serde_json::json!([1_000_001, 1.25]));
    server.stop().await;
}
