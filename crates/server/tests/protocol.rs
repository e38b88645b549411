//! Every rule of PROTOCOL.md against the real server over the embedded
//! store, byte for byte.

use eardrum_storage::SyncMode;
use eardrum_test_support::protocol_suite::Harness;
use eardrum_test_support::server::{start_server_with, TestServer};
use std::path::Path;

/// Servers over the embedded store.
struct EmbeddedStore;

impl Harness for EmbeddedStore {
    async fn start(&self, dir: &Path, sync: SyncMode, max_line_bytes: usize) -> TestServer {
        start_server_with(dir, sync, max_line_bytes).await
    }
}

eardrum_test_support::protocol_suite!(EmbeddedStore);
