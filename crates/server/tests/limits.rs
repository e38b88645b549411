//! Limits: how many connections may be open, how long one may say
//! nothing, how long a key may be, how many series there may be, and how
//! many replies a connection may leave unread.

use eardrum_server::Config;
use eardrum_storage::{Options, SyncMode};
use eardrum_test_support::server::{exchange, http_get, start_server_with_config, start_server_with_options};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed_after_the_idle_timeout_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config { idle_timeout: Some(Duration::from_millis(300)), ..Config::default() };
    let server = start_server_with_config(dir.path(), SyncMode::Never, config).await;

    // A client that keeps talking more often than the timeout stays.
    let mut busy = TcpStream::connect(server.addr).await.unwrap();
    // One that says nothing is closed: its read ends (0 bytes) once the
    // timeout has passed, not before.
    let mut idle = TcpStream::connect(server.addr).await.unwrap();
    let connected = Instant::now();
    let waiting = tokio::spawn(async move {
        let mut byte = [0u8; 1];
        let read = idle.read(&mut byte).await;
        (read.map_err(|e| e.kind()), connected.elapsed())
    });
    let mut reply = [0u8; 4];
    for _ in 0..6 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        busy.write_all(b"put k 1 1\n").await.unwrap();
        busy.read_exact(&mut reply).await.unwrap();
        assert_eq!(&reply, b"ok\n\n");
    }
    let (read, after) = tokio::time::timeout(Duration::from_secs(5), waiting).await.unwrap().unwrap();
    assert_eq!(read, Ok(0), "the idle connection should be closed");
    assert!(after >= Duration::from_millis(300), "closed after only {after:?}");
    // 600 ms in, the busy one still works.
    busy.write_all(b"get k\n").await.unwrap();
    let mut rows = [0u8; 12];
    busy.read_exact(&mut rows).await.unwrap();
    assert_eq!(&rows, b"ok\nk 1.0 1\n\n");

    let (_, body) = http_get(server.http_addr, "/api/v1/stats").await;
    assert!(body.contains("\"connections_closed_idle\":1"), "{body}");
    server.stop().await;
}

#[tokio::test]
async fn connections_beyond_the_limit_are_closed_and_counted_while_the_others_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config { max_connections: 2, ..Config::default() };
    let server = start_server_with_config(dir.path(), SyncMode::Never, config).await;
    let mut reply = [0u8; 4];
    let mut open = Vec::new();
    for _ in 0..2 {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        stream.write_all(b"put k 1 1\n").await.unwrap();
        stream.read_exact(&mut reply).await.unwrap();
        open.push(stream);
    }
    let mut third = TcpStream::connect(server.addr).await.unwrap();
    let mut byte = [0u8; 1];
    let read = tokio::time::timeout(Duration::from_secs(5), third.read(&mut byte)).await.unwrap();
    assert!(matches!(read, Ok(0) | Err(_)), "the third connection should be closed: {read:?}");
    for stream in &mut open {
        stream.write_all(b"put k 2 2\n").await.unwrap();
        stream.read_exact(&mut reply).await.unwrap();
        assert_eq!(&reply, b"ok\n\n");
    }
    // HTTP connections count against the same limit: the API answers once
    // a protocol connection has gone.
    let mut refused = TcpStream::connect(server.http_addr).await.unwrap();
    refused.write_all(b"GET /api/v1/stats HTTP/1.0\r\n\r\n").await.unwrap();
    let read = tokio::time::timeout(Duration::from_secs(5), refused.read(&mut byte)).await.unwrap();
    assert!(matches!(read, Ok(0) | Err(_)), "the HTTP connection should be closed too: {read:?}");
    drop(open.pop());
    let body = loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let mut stream = TcpStream::connect(server.http_addr).await.unwrap();
        let _ = stream.write_all(b"GET /api/v1/stats HTTP/1.0\r\n\r\n").await;
        let mut response = String::new();
        if stream.read_to_string(&mut response).await.is_ok() && !response.is_empty() {
            break response;
        }
    };
    assert!(body.contains("\"connections_refused\":2"), "{body}");
    server.stop().await;
}

#[tokio::test]
async fn a_key_over_the_limit_gets_the_error_reply_creates_no_series_and_keeps_the_connection() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_server_with_config(dir.path(), SyncMode::Never, Config::default()).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let long_key = "k".repeat(eardrum_server::DEFAULT_MAX_KEY_BYTES + 1);
    stream.write_all(format!("put {long_key} 1 1\nput k 1 1\nget *\n").as_bytes()).await.unwrap();
    let expected = b"error\nwrong command\n\nok\n\nok\nk 1.0 1\n\n";
    let mut replies = vec![0u8; expected.len()];
    stream.read_exact(&mut replies).await.unwrap();
    assert_eq!(replies, expected);
    let (_, body) = http_get(server.http_addr, "/api/v1/stats").await;
    assert!(body.contains("\"keys_too_long\":1"), "{body}");
    server.stop().await;
}

#[tokio::test]
async fn new_keys_beyond_the_series_limit_get_the_error_reply_and_existing_keys_keep_working() {
    let dir = tempfile::tempdir().unwrap();
    let options = Options { max_series: Some(2), sync: SyncMode::Never, ..Options::default() };
    let server = start_server_with_options(dir.path(), options, Config::default()).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    exchange(&mut stream, b"put a 1 1\nput b 1 1\n", b"ok\n\nok\n\n").await;
    exchange(&mut stream, b"put c 1 1\nput a 2 2\n", b"error\nwrong command\n\nok\n\n").await;
    // Another connection: the limit is the store's, not the connection's.
    let mut other = TcpStream::connect(server.addr).await.unwrap();
    exchange(
        &mut other,
        b"put d 1 1\nput b 2 2\nget *\n",
        b"error\nwrong command\n\nok\n\nok\na 1.0 1\na 2.0 2\nb 1.0 1\nb 2.0 2\n\n",
    )
    .await;
    let (_, body) = http_get(server.http_addr, "/api/v1/stats").await;
    assert!(body.contains("\"series_refused\":2"), "{body}");
    assert!(body.contains("\"series\":2"), "{body}");
    server.stop().await;
}

#[tokio::test]
async fn a_client_that_never_reads_its_replies_is_stopped_by_backpressure_and_others_are_served() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_server_with_config(dir.path(), SyncMode::Never, Config::default()).await;
    let mut greedy = TcpStream::connect(server.addr).await.unwrap();
    let chunk = b"put k 1 1\n".repeat(6_554);
    let mut sent = 0usize;
    // Writes until the server stops reading: its replies fill the socket
    // buffers, then its reply buffer, and it waits instead of buffering
    // more.
    loop {
        match tokio::time::timeout(Duration::from_secs(2), greedy.write_all(&chunk)).await {
            Ok(written) => written.unwrap(),
            Err(_) => break,
        }
        sent += chunk.len();
        assert!(sent < 512 << 20, "the server kept reading a client that reads nothing ({sent} bytes)");
    }
    let mut other = TcpStream::connect(server.addr).await.unwrap();
    exchange(&mut other, b"put other 1 1\nget other\n", b"ok\n\nok\nother 1.0 1\n\n").await;
    let (_, body) = http_get(server.http_addr, "/api/v1/stats").await;
    let stalls: u64 = body
        .split("\"reply_stalls\":")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(stalls >= 1, "{body}");
    drop(greedy);
    server.stop().await;
}

/// A runtime with few blocking threads, so that a handful of clients can
/// show what hundreds would do to the server's default of 512.
#[test]
fn clients_that_ask_for_long_replies_and_never_read_them_leave_the_server_its_threads() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(8)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let server = start_server_with_config(dir.path(), SyncMode::Never, Config::default()).await;
        let mut writer = TcpStream::connect(server.addr).await.unwrap();
        let points = 600_000;
        let puts: Vec<u8> =
            (0..points).flat_map(|i| format!("put long.{} {i} {i}\n", i % 4).into_bytes()).collect();
        let (mut read_half, mut write_half) = writer.split();
        let write = async { write_half.write_all(&puts).await.unwrap() };
        let read = async {
            let mut replies = vec![0; 4 * points];
            read_half.read_exact(&mut replies).await.unwrap();
        };
        tokio::join!(write, read);

        // More readers of long replies than there are blocking threads,
        // each reading nothing: small receive buffers, so that their
        // replies (11 MB each) stop in the server.
        let mut greedy = Vec::new();
        for _ in 0..12 {
            let socket = tokio::net::TcpSocket::new_v4().unwrap();
            socket.set_recv_buffer_size(4096).unwrap();
            let mut stream = socket.connect(server.addr).await.unwrap();
            stream.write_all(b"get *\n").await.unwrap();
            greedy.push(stream);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let served = async {
            // A read over HTTP runs on a blocking thread.
            let (status, _) =
                http_get(server.http_addr, "/render?target=long.1&from=0&until=100&format=json").await;
            assert!(status.contains("200"), "{status}");
            let mut other = TcpStream::connect(server.addr).await.unwrap();
            exchange(&mut other, b"put other 1 1\nget other\n", b"ok\n\nok\nother 1.0 1\n\n").await;
            // A long reply meanwhile, without the threads: whole.
            other.write_all(b"get long.1\n").await.unwrap();
            let mut reply = Vec::new();
            while !reply.ends_with(b"\n\n") {
                let mut chunk = vec![0; 64 * 1024];
                let read = other.read(&mut chunk).await.unwrap();
                assert!(read > 0);
                reply.extend_from_slice(&chunk[..read]);
            }
            let rows = reply.iter().filter(|&&byte| byte == b'\n').count() - 2;
            assert_eq!(rows, points / 4);
        };
        tokio::time::timeout(Duration::from_secs(20), served).await.expect("others were not served");
        drop(greedy);
        server.stop().await;
    });
}
