//! `GET /metrics`: the server's own figures in Prometheus' text format
//! (version 0.0.4), for whatever already scrapes the fleet.

use super::failure::{off_workers, ApiResult};
use super::AppState;
use crate::stats::Stats;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use eardrum_storage::{ShippingStats, Stats as StorageStats};
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The exposition, with the content type Prometheus expects.
pub(crate) async fn metrics(State(state): State<AppState>) -> ApiResult<impl IntoResponse> {
    // The storage figures list the data folder: off the async workers.
    let store = Arc::clone(&state.store);
    let storage = off_workers(move || store.stats()).await?;
    let exposition = exposition(&storage, &state.stats, crate::unix_now_ms());
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], exposition))
}

/// One metric family: its help, type and samples (`labels`, value).
struct Family<'a> {
    name: &'a str,
    help: &'a str,
    kind: &'a str,
    samples: Vec<(&'a str, f64)>,
}

/// A front end's shipping to ClickHouse.
fn shipping_families(shipping: &ShippingStats, now_unix_ms: u64) -> [Family<'static>; 4] {
    [
        Family {
            name: "eardrum_shipped_points_total",
            help: "Points sent to the remote store (again after a failed attempt).",
            kind: "counter",
            samples: vec![("", shipping.points_shipped as f64)],
        },
        Family {
            name: "eardrum_ship_attempts_total",
            help: "Inserts into the remote store, by outcome.",
            kind: "counter",
            samples: vec![
                (r#"outcome="stored""#, shipping.inserts as f64),
                (r#"outcome="failed""#, shipping.failed_attempts as f64),
            ],
        },
        Family {
            name: "eardrum_ship_outboxes_waiting",
            help: "Sealed parts of the local log waiting to be shipped.",
            kind: "gauge",
            samples: vec![("", shipping.outboxes_waiting as f64)],
        },
        Family {
            name: "eardrum_ship_lag_seconds",
            help: "Points acknowledged longer ago than this are in the remote store.",
            kind: "gauge",
            samples: vec![("", shipping.lag_ms(now_unix_ms) as f64 / 1000.0)],
        },
    ]
}

fn exposition(storage: &StorageStats, server: &Stats, now_unix_ms: u64) -> String {
    let count = |counter: &AtomicU64| counter.load(Ordering::Relaxed) as f64;
    let checkpoint = storage.last_checkpoint.as_ref();
    let mut families = vec![
        Family {
            name: "eardrum_series",
            help: "Series held.",
            kind: "gauge",
            samples: vec![("", storage.series as f64)],
        },
        Family {
            name: "eardrum_points",
            help: "Distinct points held.",
            kind: "gauge",
            samples: vec![("", storage.points as f64)],
        },
        Family {
            name: "eardrum_memory_bytes",
            help: "Bytes of points in memory, compressed.",
            kind: "gauge",
            samples: vec![("", storage.memory_bytes as f64)],
        },
        Family {
            name: "eardrum_disk_bytes",
            help: "Bytes on disk, by kind of file.",
            kind: "gauge",
            samples: vec![
                (r#"kind="blocks""#, storage.block_bytes as f64),
                (r#"kind="log""#, storage.log_bytes as f64),
            ],
        },
        Family {
            name: "eardrum_log_written_bytes_total",
            help: "Bytes appended to the write-ahead log since start.",
            kind: "counter",
            samples: vec![("", storage.log_bytes_written as f64)],
        },
        Family {
            name: "eardrum_checkpoints_total",
            help: "Checkpoints written since start.",
            kind: "counter",
            samples: vec![("", storage.checkpoints as f64)],
        },
        Family {
            name: "eardrum_last_checkpoint_duration_seconds",
            help: "How long the last checkpoint took.",
            kind: "gauge",
            samples: vec![("", checkpoint.map_or(0.0, |c| c.duration_ms as f64 / 1000.0))],
        },
        Family {
            name: "eardrum_last_checkpoint_longest_stall_seconds",
            help: "The longest writers waited on the last checkpoint.",
            kind: "gauge",
            samples: vec![("", checkpoint.map_or(0.0, |c| c.longest_stall_ms as f64 / 1000.0))],
        },
        Family {
            name: "eardrum_points_stored_total",
            help: "Points stored, by listener.",
            kind: "counter",
            samples: vec![
                (r#"listener="protocol""#, count(&server.puts_stored)),
                (r#"listener="graphite""#, count(&server.graphite_points_stored)),
            ],
        },
        Family {
            name: "eardrum_points_rejected_total",
            help: "Requests and lines refused, by listener and reason.",
            kind: "counter",
            samples: vec![
                (r#"listener="protocol",reason="error_reply""#, count(&server.errors)),
                (r#"listener="graphite",reason="bad_line""#, count(&server.graphite_lines_rejected)),
                (r#"listener="graphite",reason="not_stored""#, count(&server.graphite_points_not_stored)),
                (r#"listener="any",reason="key_too_long""#, count(&server.keys_too_long)),
                (r#"listener="any",reason="series_limit""#, count(&server.series_refused)),
            ],
        },
        Family {
            name: "eardrum_gets_total",
            help: "get requests answered.",
            kind: "counter",
            samples: vec![("", count(&server.gets))],
        },
        Family {
            name: "eardrum_connections_open",
            help: "Connections open now.",
            kind: "gauge",
            samples: vec![("", count(&server.connections_open))],
        },
        Family {
            name: "eardrum_connections_total",
            help: "Connections by what became of them.",
            kind: "counter",
            samples: vec![
                (r#"outcome="accepted""#, count(&server.connections_accepted)),
                (r#"outcome="refused""#, count(&server.connections_refused)),
                (r#"outcome="closed_idle""#, count(&server.connections_closed_idle)),
                (r#"outcome="auth_failed""#, count(&server.auth_failures)),
                (r#"outcome="tls_failed""#, count(&server.tls_handshake_failures)),
            ],
        },
        Family {
            name: "eardrum_reply_stalls_total",
            help: "Reply writes that waited for a client slow to read.",
            kind: "counter",
            samples: vec![("", count(&server.reply_stalls))],
        },
    ];
    if let Some(shipping) = &storage.shipping {
        families.extend(shipping_families(shipping, now_unix_ms));
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

    #[test]
    fn every_family_has_help_and_type_and_well_formed_samples() {
        let server = Stats::default();
        server.puts_stored.store(7, Ordering::Relaxed);
        let mut storage = StorageStats::default();
        (storage.series, storage.points) = (2, 7);
        let mut shipping = ShippingStats::default();
        shipping.caught_up_unix_ms = 1_000;
        storage.shipping = Some(shipping);
        let text = exposition(&storage, &server, 3_500);
        assert!(text.contains("eardrum_ship_lag_seconds 2.5\n"), "{text}");
        assert!(text.contains("eardrum_points_stored_total{listener=\"protocol\"} 7\n"), "{text}");
        assert!(text.contains("# TYPE eardrum_series gauge\neardrum_series 2\n"), "{text}");
        for line in text.lines().filter(|line| !line.starts_with('#')) {
            let (name, value) = line.rsplit_once(' ').unwrap();
            assert!(value.parse::<f64>().is_ok(), "{line}");
            let bare = name.split('{').next().unwrap();
            assert!(text.contains(&format!("# TYPE {bare} ")), "no TYPE for {line}");
            assert!(bare.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'), "{line}");
        }
    }
}
