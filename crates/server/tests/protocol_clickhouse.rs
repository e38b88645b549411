//! Every rule of PROTOCOL.md again, byte for byte, with the server a front
//! end over a real ClickHouse (Debian's clickhouse-server, started on
//! loopback by the test): over one node, and over two nodes forming a
//! cluster of two shards with `Distributed` tables. One ClickHouse (or
//! cluster) serves the whole test binary, a database per test.

#[path = "../../clickhouse/tests/common/mod.rs"]
mod clickhouse_process;
mod common;

use common::{start_server_over, TestServer};
use eardrum_clickhouse::{ClickHouse, FrontEnd};
use eardrum_server::Config;
use eardrum_storage::{Options, SyncMode};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// The cluster's name in the nodes' `remote_servers`.
const CLUSTER: &str = "protocol_shards";

/// A fresh database name for each front end.
fn database() -> String {
    static DATABASES: AtomicUsize = AtomicUsize::new(0);
    format!("protocol_{}", DATABASES.fetch_add(1, Ordering::Relaxed))
}

/// A front end with its local log in `dir`, shipping before it
/// acknowledges: every read after a put goes to ClickHouse for it.
async fn front_end(dir: &Path, sync: SyncMode, max_line_bytes: usize, clickhouse: ClickHouse) -> TestServer {
    let dir = dir.to_owned();
    let front_end = tokio::task::spawn_blocking(move || {
        let options = Options { sync, ..Options::default() };
        FrontEnd::open(dir, options, clickhouse, Duration::ZERO).unwrap()
    })
    .await
    .unwrap();
    start_server_over(Arc::new(front_end), Config { max_line_bytes, ..Config::default() }).await
}

/// The suite over a single ClickHouse server.
mod one_node {
    use super::*;
    use crate::common::*;
    use tokio::io::AsyncWriteExt;

    fn node() -> &'static clickhouse_process::Server {
        static SERVER: OnceLock<clickhouse_process::Server> = OnceLock::new();
        SERVER.get_or_init(clickhouse_process::start_clickhouse)
    }

    async fn start_server(dir: &Path) -> TestServer {
        start_server_with(dir, SyncMode::Always, Config::default().max_line_bytes).await
    }

    async fn start_server_with(dir: &Path, sync: SyncMode, max_line_bytes: usize) -> TestServer {
        let clickhouse = clickhouse_process::connect(node(), &database());
        front_end(dir, sync, max_line_bytes, clickhouse).await
    }

    include!("suite/protocol.rs");
}

/// The suite over two shards, each test's front end on one node or the
/// other.
mod two_shards {
    use super::*;
    use crate::common::*;
    use tokio::io::AsyncWriteExt;

    fn nodes() -> &'static [clickhouse_process::Server] {
        static SERVERS: OnceLock<Vec<clickhouse_process::Server>> = OnceLock::new();
        SERVERS.get_or_init(|| clickhouse_process::start_cluster(CLUSTER, 2))
    }

    async fn start_server(dir: &Path) -> TestServer {
        start_server_with(dir, SyncMode::Always, Config::default().max_line_bytes).await
    }

    async fn start_server_with(dir: &Path, sync: SyncMode, max_line_bytes: usize) -> TestServer {
        let database = database();
        let connect = |node| clickhouse_process::connect(node, &database).with_cluster(CLUSTER).unwrap();
        let (this, other) = match database.len() % 2 {
            0 => (connect(&nodes()[0]), connect(&nodes()[1])),
            _ => (connect(&nodes()[1]), connect(&nodes()[0])),
        };
        // The other shard's tables, as an operator prepares each node.
        tokio::task::spawn_blocking(move || other.create_schema().unwrap()).await.unwrap();
        front_end(dir, sync, max_line_bytes, this).await
    }

    include!("suite/protocol.rs");
}
