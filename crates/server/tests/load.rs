//! Many requests and many clients at once.

use eardrum_test_support::server::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_thousand_pipelined_puts_in_one_write() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_server(dir.path()).await;
    let mut s = connect(server.addr).await;
    let mut requests = Vec::new();
    for i in 0..20_000 {
        requests.extend_from_slice(format!("put pipelined.{} {i} {}\n", i % 10, 1_000_000 + i).as_bytes());
    }
    // Write and read at once: the replies (80 KB) must not wait for the
    // whole request (500 KB) to be written.
    let (mut read_half, mut write_half) = s.split();
    let write = async { write_half.write_all(&requests).await.unwrap() };
    let read = async {
        let mut replies = vec![0; OK.len() * 20_000];
        read_half.read_exact(&mut replies).await.unwrap();
        replies
    };
    let ((), replies) = tokio::join!(write, read);
    assert_eq!(replies, OK.repeat(20_000));

    let mut reply = Vec::new();
    s.write_all(b"get pipelined.3\n").await.unwrap();
    let expected: Vec<u8> = [
        b"ok\n".to_vec(),
        (0..20_000)
            .filter(|i| i % 10 == 3)
            .flat_map(|i| format!("pipelined.3 {i}.0 {}\n", 1_000_000 + i).into_bytes())
            .collect(),
        b"\n".to_vec(),
    ]
    .concat();
    reply.resize(expected.len(), 0);
    s.read_exact(&mut reply).await.unwrap();
    assert_eq!(reply, expected);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_clients_each_see_their_own_points() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_server(dir.path()).await;
    let mut clients = Vec::new();
    for client in 0..50 {
        let addr = server.addr;
        clients.push(tokio::spawn(async move {
            let mut s = connect(addr).await;
            for i in 0..40 {
                exchange(&mut s, format!("put client.{client} {i} {i}\n").as_bytes(), OK).await;
            }
            let rows: String = (0..40).map(|i| format!("client.{client} {i}.0 {i}\n")).collect();
            exchange(&mut s, format!("get client.{client}\n").as_bytes(), format!("ok\n{rows}\n").as_bytes())
                .await;
        }));
    }
    for client in clients {
        client.await.unwrap();
    }
    let mut s = connect(server.addr).await;
    s.write_all(b"get *\n").await.unwrap();
    let mut all = Vec::new();
    while !all.ends_with(b"\n\n") {
        let mut chunk = [0u8; 4096];
        let n = s.read(&mut chunk).await.unwrap();
        assert!(n > 0);
        all.extend_from_slice(&chunk[..n]);
    }
    assert_eq!(all.iter().filter(|&&b| b == b'\n').count(), 1 + 50 * 40 + 1);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_get_streams_in_order_while_writers_keep_writing() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_server_with(dir.path(), eardrum_storage::SyncMode::Never, 1024).await;
    let mut s = connect(server.addr).await;
    let mut requests = Vec::new();
    for i in 0..60_000 {
        requests.extend_from_slice(format!("put big.{} {i} {i}\n", i % 3).as_bytes());
    }
    let (mut read_half, mut write_half) = s.split();
    let write = async { write_half.write_all(&requests).await.unwrap() };
    let read = async {
        let mut replies = vec![0; OK.len() * 60_000];
        read_half.read_exact(&mut replies).await.unwrap();
    };
    tokio::join!(write, read);

    // A writer adds newer points to the same series during the read.
    let addr = server.addr;
    let writer = tokio::spawn(async move {
        let mut w = connect(addr).await;
        for i in 60_000..62_000 {
            exchange(&mut w, format!("put big.{} {i} {i}\n", i % 3).as_bytes(), OK).await;
        }
    });
    s.write_all(b"get *\n").await.unwrap();
    let mut reply = Vec::new();
    while !reply.ends_with(b"\n\n") {
        let mut chunk = vec![0u8; 64 * 1024];
        let n = s.read(&mut chunk).await.unwrap();
        assert!(n > 0);
        reply.extend_from_slice(&chunk[..n]);
    }
    writer.await.unwrap();
    let text = String::from_utf8(reply).unwrap();
    let mut rows = text.lines().skip(1).filter(|l| !l.is_empty()).map(|l| {
        let fields: Vec<&str> = l.split(' ').collect();
        (fields[0].to_owned(), fields[2].parse::<i64>().unwrap())
    });
    let mut last: Option<(String, i64)> = None;
    let mut seen = 0;
    let mut keys = Vec::new();
    for (key, timestamp) in rows.by_ref() {
        match &last {
            Some((k, t)) if *k == key => assert!(timestamp > *t, "{key}: {timestamp} after {t}"),
            _ => keys.push(key.clone()),
        }
        last = Some((key, timestamp));
        seen += 1;
    }
    assert_eq!(keys, ["big.0", "big.1", "big.2"], "each series once, in first-put order");
    assert!((60_000..=62_000).contains(&seen), "{seen} rows");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_get_of_many_reply_buffers_prints_every_value_as_write_row_does() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_server(dir.path()).await;
    let mut s = connect(server.addr).await;
    // Values of every kind the row writer treats apart: decimals (some
    // whole, some negative), large counters, any double, and tiny ones
    // printed with an exponent; timestamps with jitter.
    type ValueOf = fn(i64) -> f64;
    let kinds: [(&str, ValueOf); 4] = [
        ("kinds.decimal", |i| (i % 2000) as f64 / 100.0 - 5.0),
        ("kinds.counter", |i| 1e9 + (i * 1234) as f64),
        ("kinds.double", |i| (i as f64).sqrt() * 1e-3),
        ("kinds.tiny", |i| i as f64 / 1e6),
    ];
    let points = 12_000;
    let (mut requests, mut rows) = (Vec::new(), vec![Vec::new(); kinds.len()]);
    for i in 0..points {
        let timestamp = 1_700_000_000 + 10 * i + i % 7;
        for ((key, value_of), rows) in kinds.iter().zip(&mut rows) {
            let mut value = Vec::new();
            eardrum_protocol::format_value(value_of(i), &mut value);
            requests.extend_from_slice(
                format!("put {key} {} {timestamp}\n", String::from_utf8(value).unwrap()).as_bytes(),
            );
            eardrum_protocol::reply::write_row(rows, key, value_of(i), timestamp);
        }
    }
    let (mut read_half, mut write_half) = s.split();
    let write = async { write_half.write_all(&requests).await.unwrap() };
    let read = async {
        let mut replies = vec![0; OK.len() * requests.iter().filter(|&&b| b == b'\n').count()];
        read_half.read_exact(&mut replies).await.unwrap();
    };
    tokio::join!(write, read);

    let expected = [b"ok\n".to_vec(), rows.concat(), b"\n".to_vec()].concat();
    assert!(expected.len() > 4 * eardrum_server::DEFAULT_MAX_REPLY_BUFFER_BYTES, "several buffers");
    s.write_all(b"get *\n").await.unwrap();
    let mut reply = vec![0; expected.len()];
    s.read_exact(&mut reply).await.unwrap();
    assert!(reply == expected, "the reply differs from write_row's rows");
    server.stop().await;
}
