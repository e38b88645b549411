//! Graceful shutdown: stop accepting, answer what was read, sync and close.

use eardrum_server::{Config, Server};
use eardrum_storage::{Keys, Options, Store, SyncMode};
use eardrum_test_support::server::*;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_stops_accepting_and_closes_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_server_with(dir.path(), SyncMode::Never, 1024).await;
    let addr = server.addr;
    let mut s = connect(addr).await;
    exchange(&mut s, b"put kept 1 1\n", OK).await;
    server.stop().await;
    // The open connection was closed and nothing listens any more.
    expect_closed(&mut s).await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    // The store was closed (its lock released) with the point in it.
    let store = Store::open(dir.path(), Options { sync: SyncMode::Never, ..Options::default() }).unwrap();
    let mut points = Vec::new();
    store.scan(Keys::All, |k, t, v| points.push((k.to_owned(), t, v))).unwrap();
    assert_eq!(points, [("kept".to_owned(), 1, 1.0)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_cannot_hold_shutdown_past_the_grace_period() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), Options::default()).unwrap();
    let config = Config {
        addr: "127.0.0.1:0".parse().unwrap(),
        http_addr: None,
        shutdown_grace: Duration::from_millis(500),
        ..Config::default()
    };
    let server = Server::bind(config, store).await.unwrap();
    let addr = server.local_addr();
    let shutdown = eardrum_server::CancellationToken::new();
    let task = tokio::spawn(server.run(shutdown.clone()));
    let mut s = connect(addr).await;
    let key = "k".repeat(1000);
    exchange(&mut s, format!("put {key} 1 1\n").as_bytes(), OK).await;
    // Ask for megabytes of replies and never read them: the server's write
    // blocks once the socket buffers are full.
    let flood = "get *\n".repeat(50_000);
    s.write_all(flood.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    shutdown.cancel();
    task.await.unwrap().unwrap();
    // It waited for the grace period (so the write really was stuck), and no
    // longer than that.
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(450) && took < Duration::from_secs(5), "shutdown took {took:?}");
    drop(s);
}
