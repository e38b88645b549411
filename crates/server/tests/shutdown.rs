//! Graceful shutdown: stop accepting, answer what was read, sync and close.

mod common;

use common::*;
use eardrum_storage::{Keys, Options, Store, SyncMode};

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
    store.scan(Keys::All, |k, t, v| points.push((k.to_owned(), t, v)));
    assert_eq!(points, [("kept".to_owned(), 1, 1.0)]);
}
