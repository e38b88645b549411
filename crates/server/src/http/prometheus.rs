//! `GET /metrics`: the server's own figures in Prometheus' text format
//! (version 0.0.4), for whatever already scrapes the fleet.

use super::failure::ApiResult;
use super::AppState;
use crate::stats::Stats;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use eardrum_storage::{CheckpointStats, ShippingStats};
use std::fmt::Write;

/// The exposition, with the content type Prometheus expects.
pub(crate) async fn metrics(State(state): State<AppState>) -> ApiResult<impl IntoResponse> {
    let stats = super::gather_stats(&state).await?;
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], exposition(&stats)))
}

/// One metric family: its help, type and samples (`labels`, value).
struct Family<'a> {
    name: &'a str,
    help: &'a str,
    kind: &'a str,
    samples: Vec<(&'a str, f64)>,
}

impl Family<'static> {
    /// A family of one sample without labels.
    fn single(name: &'static str, help: &'static str, kind: &'static str, value: f64) -> Family<'static> {
        Family { name, help, kind, samples: vec![("", value)] }
    }
}

/// Milliseconds as Prometheus' seconds.
fn seconds(milliseconds: u64) -> f64 {
    milliseconds as f64 / 1000.0
}

/// The last checkpoint's figures (a new server has none yet: no samples).
fn checkpoint_families(checkpoint: &CheckpointStats) -> [Family<'static>; 6] {
    [
        Family::single(
            "eardrum_last_checkpoint_generation",
            "The last checkpoint's generation (one more each, kept across restarts).",
            "gauge",
            checkpoint.generation as f64,
        ),
        Family::single(
            "eardrum_last_checkpoint_timestamp_seconds",
            "When the last checkpoint finished, in Unix time.",
            "gauge",
            seconds(checkpoint.finished_unix_ms),
        ),
        Family::single(
            "eardrum_last_checkpoint_duration_seconds",
            "How long the last checkpoint took.",
            "gauge",
            seconds(checkpoint.duration_ms),
        ),
        Family::single(
            "eardrum_last_checkpoint_longest_stall_seconds",
            "The longest writers waited on the last checkpoint.",
            "gauge",
            seconds(checkpoint.longest_stall_ms),
        ),
        Family::single(
            "eardrum_last_checkpoint_windows",
            "Windows whose block files the last checkpoint wrote.",
            "gauge",
            checkpoint.windows_written as f64,
        ),
        Family::single(
            "eardrum_last_checkpoint_written_bytes",
            "Bytes of block and manifest files the last checkpoint wrote.",
            "gauge",
            checkpoint.bytes_written as f64,
        ),
    ]
}

/// A front end's shipping to a remote store.
fn shipping_families(shipping: &ShippingStats) -> [Family<'static>; 5] {
    [
        Family::single(
            "eardrum_shipped_points_total",
            "Points sent to the remote store (again after a failed attempt).",
            "counter",
            shipping.points_shipped as f64,
        ),
        Family {
            name: "eardrum_ship_attempts_total",
            help: "Inserts into the remote store, by outcome.",
            kind: "counter",
            samples: vec![
                (r#"outcome="stored""#, shipping.inserts as f64),
                (r#"outcome="failed""#, shipping.failed_attempts as f64),
            ],
        },
        Family::single(
            "eardrum_ship_outboxes_waiting",
            "Sealed parts of the local log waiting to be shipped.",
            "gauge",
            shipping.outboxes_waiting as f64,
        ),
        Family::single(
            "eardrum_ship_caught_up_timestamp_seconds",
            "Every point acknowledged before this Unix time is in the remote store.",
            "gauge",
            seconds(shipping.caught_up_unix_ms),
        ),
        Family::single(
            "eardrum_ship_lag_seconds",
            "Points acknowledged longer ago than this are in the remote store.",
            "gauge",
            seconds(shipping.lag_ms),
        ),
    ]
}

/// Every figure of `stats` but the derived ones ([`Stats::DERIVED`]), which
/// Prometheus computes from the others.
fn exposition(stats: &Stats) -> String {
    let (storage, server) = (&stats.storage, &stats.counters);
    let count = |counter: u64| counter as f64;
    let mut families = vec![
        Family::single("eardrum_series", "Series held.", "gauge", storage.series as f64),
        Family::single("eardrum_points", "Distinct points held.", "gauge", storage.points as f64),
        Family::single(
            "eardrum_memory_bytes",
            "Bytes of points in memory, compressed.",
            "gauge",
            storage.memory_bytes as f64,
        ),
        Family {
            name: "eardrum_disk_bytes",
            help: "Bytes on disk, by kind of file.",
            kind: "gauge",
            samples: vec![
                (r#"kind="blocks""#, storage.block_bytes as f64),
                (r#"kind="log""#, storage.log_bytes as f64),
            ],
        },
        Family::single(
            "eardrum_memory_budget_bytes",
            "The memory the points may take (a quarter of it caches history read back from disk).",
            "gauge",
            storage.memory_budget_bytes as f64,
        ),
        Family::single(
            "eardrum_memory_from_timestamp_seconds",
            "Points before this Unix time are read back from block files on demand; NaN while every point is in memory.",
            "gauge",
            storage.memory_from.map_or(f64::NAN, |from| from as f64),
        ),
        Family::single(
            "eardrum_windows_on_disk",
            "Two-hour windows read back from block files on demand.",
            "gauge",
            storage.windows_on_disk as f64,
        ),
        Family::single(
            "eardrum_read_cache_bytes",
            "Bytes of block file pieces cached for reads.",
            "gauge",
            storage.cache_bytes as f64,
        ),
        Family {
            name: "eardrum_read_cache_lookups_total",
            help: "Reads of block file pieces, by whether the cache had them.",
            kind: "counter",
            samples: vec![
                (r#"result="hit""#, count(storage.cache_hits)),
                (r#"result="miss""#, count(storage.cache_misses)),
            ],
        },
        Family::single(
            "eardrum_log_written_bytes_total",
            "Bytes appended to the write-ahead log since start.",
            "counter",
            storage.log_bytes_written as f64,
        ),
        Family::single(
            "eardrum_log_records_replayed",
            "Log records replayed when the store was opened.",
            "gauge",
            storage.records_replayed as f64,
        ),
        Family::single(
            "eardrum_checkpoints_total",
            "Checkpoints written since start.",
            "counter",
            storage.checkpoints as f64,
        ),
        Family {
            name: "eardrum_points_stored_total",
            help: "Points stored, by listener.",
            kind: "counter",
            samples: vec![
                (r#"listener="protocol""#, count(server.puts_stored)),
                (r#"listener="graphite""#, count(server.graphite_points_stored)),
            ],
        },
        Family {
            name: "eardrum_points_rejected_total",
            help: "Requests and lines refused, by listener and reason.",
            kind: "counter",
            samples: vec![
                (r#"listener="protocol",reason="error_reply""#, count(server.errors)),
                (r#"listener="graphite",reason="bad_line""#, count(server.graphite_lines_rejected)),
                (r#"listener="graphite",reason="not_stored""#, count(server.graphite_points_not_stored)),
                (r#"listener="any",reason="key_too_long""#, count(server.keys_too_long)),
                (r#"listener="any",reason="series_limit""#, count(server.series_refused)),
            ],
        },
        Family::single("eardrum_gets_total", "get requests answered.", "counter", count(server.gets)),
        Family::single(
            "eardrum_connections_open",
            "Connections open now.",
            "gauge",
            count(server.connections_open),
        ),
        Family {
            name: "eardrum_connections_total",
            help: "Connections by what became of them.",
            kind: "counter",
            samples: vec![
                (r#"outcome="accepted""#, count(server.connections_accepted)),
                (r#"outcome="refused""#, count(server.connections_refused)),
                (r#"outcome="closed_idle""#, count(server.connections_closed_idle)),
                (r#"outcome="auth_failed""#, count(server.auth_failures)),
                (r#"outcome="tls_failed""#, count(server.tls_handshake_failures)),
            ],
        },
        Family::single(
            "eardrum_reply_stalls_total",
            "Reply writes that waited for a client slow to read.",
            "counter",
            count(server.reply_stalls),
        ),
    ];
    if let Some(checkpoint) = &storage.last_checkpoint {
        families.extend(checkpoint_families(checkpoint));
    }
    if let Some(shipping) = &storage.shipping {
        families.extend(shipping_families(shipping));
    }
    let mut text = String::new();
    for family in families {
        let _ =
            writeln!(text, "# HELP {} {}\n# TYPE {} {}", family.name, family.help, family.name, family.kind);
        for (labels, value) in family.samples {
            let labels = if labels.is_empty() { String::new() } else { format!("{{{labels}}}") };
            let _ = writeln!(text, "{}{labels} {value}", family.name);
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::tests::full_stats;
    use eardrum_test_support::fields::each_number_changed;

    #[test]
    fn every_family_has_help_and_type_and_well_formed_samples() {
        let text = exposition(&full_stats());
        assert!(text.contains("# TYPE eardrum_series gauge\neardrum_series 1\n"), "{text}");
        for line in text.lines().filter(|line| !line.starts_with('#')) {
            let (name, value) = line.rsplit_once(' ').unwrap();
            assert!(value.parse::<f64>().is_ok(), "{line}");
            let bare = name.split('{').next().unwrap();
            assert!(text.contains(&format!("# TYPE {bare} ")), "no TYPE for {line}");
            assert!(bare.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'), "{line}");
        }
    }

    #[test]
    fn every_figure_but_the_derived_ones_is_exposed() {
        let base = full_stats();
        let before = exposition(&base);
        for (field, changed) in each_number_changed(&base) {
            if !Stats::DERIVED.contains(&field.as_str()) {
                assert_ne!(exposition(&changed), before, "/metrics leaves out {field}");
            }
        }
    }
}
