//! Every rule of PROTOCOL.md again, byte for byte, with the server a front
//! end over a real ClickHouse (Debian's clickhouse-server, started on
//! loopback by the test): one server for the test binary, a database per
//! test.

#[path = "../../clickhouse/tests/common/mod.rs"]
mod clickhouse_process;
mod common;

use common::*;
use eardrum_clickhouse::FrontEnd;
use eardrum_server::Config;
use eardrum_storage::{Options, SyncMode};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::io::AsyncWriteExt;

/// The ClickHouse every test of this binary shares.
fn clickhouse() -> &'static clickhouse_process::Server {
    static SERVER: OnceLock<clickhouse_process::Server> = OnceLock::new();
    SERVER.get_or_init(clickhouse_process::start_clickhouse)
}

async fn start_server(dir: &Path) -> TestServer {
    start_server_with(dir, SyncMode::Always, Config::default().max_line_bytes).await
}

/// A front end with its local log in `dir`, over a database of its own,
/// shipping before it acknowledges: every read after a put goes to
/// ClickHouse for it.
async fn start_server_with(dir: &Path, sync: SyncMode, max_line_bytes: usize) -> TestServer {
    static DATABASES: AtomicUsize = AtomicUsize::new(0);
    let database = format!("protocol_{}", DATABASES.fetch_add(1, Ordering::Relaxed));
    let dir = dir.to_owned();
    let front_end = tokio::task::spawn_blocking(move || {
        let clickhouse = clickhouse_process::connect(clickhouse(), &database);
        let options = Options { sync, ..Options::default() };
        FrontEnd::open(dir, options, clickhouse, Duration::ZERO).unwrap()
    })
    .await
    .unwrap();
    start_server_over(Arc::new(front_end), Config { max_line_bytes, ..Config::default() }).await
}

include!("suite/protocol.rs");
