//! The HTTP listener beside the protocol port. For now it serves the
//! store's and the server's statistics as JSON at `/api/v1/stats`.

use crate::stats::Stats;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use eardrum_storage::Store;
use serde_json::{json, Value};
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// What every handler can reach.
#[derive(Debug, Clone)]
pub(crate) struct AppState {
    pub(crate) store: Arc<Store>,
    pub(crate) stats: Arc<Stats>,
}

/// The HTTP routes.
pub(crate) fn router(state: AppState) -> Router {
    Router::new().route("/api/v1/stats", get(stats)).with_state(state)
}

/// `GET /api/v1/stats`: sizes, counters and the last checkpoint.
async fn stats(State(state): State<AppState>) -> Json<Value> {
    // Stats lists the data folder: a little file-system work, off the
    // async workers.
    let store = Arc::clone(&state.store);
    let storage = tokio::task::spawn_blocking(move || store.stats()).await.unwrap_or_default();
    let per_point = |bytes: u64| if storage.points == 0 { 0.0 } else { bytes as f64 / storage.points as f64 };
    let counter = |value: &std::sync::atomic::AtomicU64| value.load(Ordering::Relaxed);
    let server = &state.stats;
    Json(json!({
        "series": storage.series,
        "points": storage.points,
        "memory_bytes": storage.memory_bytes,
        "memory_bytes_per_point": per_point(storage.memory_bytes),
        "disk_bytes": storage.disk_bytes(),
        "block_bytes": storage.block_bytes,
        "disk_bytes_per_point": per_point(storage.disk_bytes()),
        "log_bytes": storage.log_bytes,
        "log_bytes_written": storage.log_bytes_written,
        "records_replayed": storage.records_replayed,
        "checkpoints": storage.checkpoints,
        "last_checkpoint": storage.last_checkpoint.map(|c| json!({
            "generation": c.generation,
            "finished_unix_ms": c.finished_unix_ms,
            "duration_ms": c.duration_ms,
            "longest_stall_ms": c.longest_stall_ms,
            "windows_written": c.windows_written,
            "bytes_written": c.bytes_written,
        })),
        "connections_open": counter(&server.connections_open),
        "connections_accepted": counter(&server.connections_accepted),
        "connections_refused": counter(&server.connections_refused),
        "connections_closed_idle": counter(&server.connections_closed_idle),
        "puts_stored": counter(&server.puts_stored),
        "gets": counter(&server.gets),
        "errors": counter(&server.errors),
        "keys_too_long": counter(&server.keys_too_long),
        "series_refused": counter(&server.series_refused),
        "reply_stalls": counter(&server.reply_stalls),
    }))
}
