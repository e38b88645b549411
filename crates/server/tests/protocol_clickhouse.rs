//! Every rule of PROTOCOL.md again, byte for byte, with the server a front
//! end over a real ClickHouse (Debian's clickhouse-server, started on
//! loopback by the test): over one node, and over two nodes forming a
//! cluster of two shards with `Distributed` tables. One ClickHouse (or
//! cluster) serves the whole test binary, a database per test.

#![expect(clippy::unwrap_used, reason = "test helpers: a failure is a panic")]

use eardrum_clickhouse::{ClickHouse, FrontEnd};
use eardrum_server::Config;
use eardrum_storage::{Options, SyncMode};
use eardrum_test_support::clickhouse::{connect, start_clickhouse, start_cluster, Server};
use eardrum_test_support::protocol_suite::Harness;
use eardrum_test_support::server::{start_server_over, TestServer};
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

/// Front ends over a single ClickHouse server.
struct OneNode;

impl Harness for OneNode {
    async fn start(&self, dir: &Path, sync: SyncMode, max_line_bytes: usize) -> TestServer {
        static SERVER: OnceLock<Server> = OnceLock::new();
        let node = SERVER.get_or_init(start_clickhouse);
        front_end(dir, sync, max_line_bytes, connect(node, &database())).await
    }
}

/// Front ends over two shards, each test's on one node or the other.
struct TwoShards;

impl Harness for TwoShards {
    async fn start(&self, dir: &Path, sync: SyncMode, max_line_bytes: usize) -> TestServer {
        static SERVERS: OnceLock<Vec<Server>> = OnceLock::new();
        let nodes = SERVERS.get_or_init(|| start_cluster(CLUSTER, 2));
        let database = database();
        let connect = |node| connect(node, &database).with_cluster(CLUSTER).unwrap();
        let (this, other) = match database.len() % 2 {
            0 => (connect(&nodes[0]), connect(&nodes[1])),
            _ => (connect(&nodes[1]), connect(&nodes[0])),
        };
        // The other shard's tables, as an operator prepares each node.
        tokio::task::spawn_blocking(move || other.create_schema().unwrap()).await.unwrap();
        front_end(dir, sync, max_line_bytes, this).await
    }
}

/// The suite over a single ClickHouse server.
mod one_node {
    eardrum_test_support::protocol_suite!(
        #[ignore = "needs ClickHouse (Debian's clickhouse-server): `cargo xtask test` installs it"]
        super::OneNode
    );
}

/// The suite over two shards.
mod two_shards {
    eardrum_test_support::protocol_suite!(
        #[ignore = "needs ClickHouse (Debian's clickhouse-server): `cargo xtask test` installs it"]
        super::TwoShards
    );
}
