//! The one-shot client commands: `eardrum put`, `eardrum get` and
//! `eardrum stats`.

use crate::args::{GetArgs, PutArgs, StatsArgs};
use crate::remote::{connect, explain, http_agent, read_token};
use anyhow::Context;
use eardrum_client::{Metrics, PyFloat};
use eardrum_server::Stats;
use std::io::Write;

/// `eardrum put KEY VALUE [TIMESTAMP]`.
pub(crate) fn put(args: PutArgs) -> anyhow::Result<()> {
    let mut client = connect(&args.remote)?;
    let stored = client.put(&args.key, args.value, args.timestamp);
    stored.map_err(|error| explain(error, &args.remote)).context("storing the point")?;
    Ok(())
}

/// `eardrum get KEY [--json]`: rows as the protocol prints them, or JSON.
pub(crate) fn get(args: GetArgs) -> anyhow::Result<()> {
    let mut client = connect(&args.remote)?;
    // `*` is the protocol's every key.
    let metrics = match args.key.as_str() {
        "*" => client.get_all(),
        key => client.get(key),
    };
    let metrics = metrics.map_err(|error| explain(error, &args.remote)).context("reading points")?;
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer(&mut out, &to_json(&metrics))?;
        writeln!(out)?;
    } else {
        for (key, points) in &metrics {
            for point in points {
                writeln!(out, "{key} {} {}", PyFloat(point.value), point.timestamp)?;
            }
        }
    }
    out.flush()?;
    Ok(())
}

/// `eardrum stats`: the server's statistics, readably or as JSON.
pub(crate) fn stats(args: StatsArgs) -> anyhow::Result<()> {
    let endpoint = &args.endpoint;
    let security = &endpoint.security;
    let tls = security.tls || security.tls_ca.is_some();
    let scheme = if tls { "https" } else { "http" };
    let host = match endpoint.host.contains(':') {
        true => format!("[{}]", endpoint.host),
        false => endpoint.host.clone(),
    };
    let url = format!("{scheme}://{host}:{}/api/v1/stats", args.http_port);
    let mut request = http_agent(endpoint)?.get(&url);
    if let Some(path) = &security.auth_token_file {
        request = request.header("Authorization", format!("Bearer {}", read_token(path)?));
    }
    let body = request
        .call()
        .and_then(|mut response| response.body_mut().read_to_string())
        .with_context(|| format!("asking {url} (is the server's HTTP API on that port?)"))?;
    if args.json {
        println!("{body}");
        return Ok(());
    }
    let stats: Stats = serde_json::from_str(&body).context("reading the server's statistics")?;
    print!("{}", render_stats(&stats));
    Ok(())
}

/// `eardrum stats` without `--json`: every figure, grouped by line.
fn render_stats(stats: &Stats) -> String {
    let (storage, counters) = (&stats.storage, &stats.counters);
    let mut text = String::new();
    let mut line = |label: &str, value: String| text.push_str(&format!("{label:<17}{value}\n"));
    line("series", storage.series.to_string());
    line("points", storage.points.to_string());
    line("memory", format!("{} ({:.2} B/point)", bytes(storage.memory_bytes), stats.memory_bytes_per_point));
    line(
        "disk",
        format!(
            "{} ({:.2} B/point): blocks {}, log {}",
            bytes(stats.disk_bytes),
            stats.disk_bytes_per_point,
            bytes(storage.block_bytes),
            bytes(storage.log_bytes)
        ),
    );
    line(
        "memory budget",
        format!(
            "{}: {}; read cache {} ({} hits, {} misses)",
            bytes(storage.memory_budget_bytes),
            match storage.memory_from {
                None => "every window in memory".to_owned(),
                Some(from) => format!("{} windows on disk, before unix time {from}", storage.windows_on_disk),
            },
            bytes(storage.cache_bytes),
            storage.cache_hits,
            storage.cache_misses
        ),
    );
    line(
        "log",
        format!(
            "{} written since start, {} records replayed at open",
            bytes(storage.log_bytes_written),
            storage.records_replayed
        ),
    );
    line(
        "last checkpoint",
        match &storage.last_checkpoint {
            None => "none since the server started".to_owned(),
            Some(checkpoint) => format!(
                "generation {}, {} ms (writers waited {} ms at most), {} windows, {} written, at unix ms {}",
                checkpoint.generation,
                checkpoint.duration_ms,
                checkpoint.longest_stall_ms,
                checkpoint.windows_written,
                bytes(checkpoint.bytes_written),
                checkpoint.finished_unix_ms
            ),
        },
    );
    line("checkpoints", format!("{} since start", storage.checkpoints));
    line(
        "connections",
        format!(
            "{} open, {} accepted, {} refused, {} closed idle",
            counters.connections_open,
            counters.connections_accepted,
            counters.connections_refused,
            counters.connections_closed_idle
        ),
    );
    line(
        "requests",
        format!(
            "{} puts, {} gets, {} errors ({} keys too long, {} new series over the limit)",
            counters.puts_stored,
            counters.gets,
            counters.errors,
            counters.keys_too_long,
            counters.series_refused
        ),
    );
    line(
        "graphite",
        format!(
            "{} points stored, {} lines rejected, {} points not stored",
            counters.graphite_points_stored,
            counters.graphite_lines_rejected,
            counters.graphite_points_not_stored
        ),
    );
    line("backpressure", format!("{} reply writes waited for a slow reader", counters.reply_stalls));
    if let Some(shipping) = &storage.shipping {
        line(
            "shipping",
            format!(
                "{} points in {} inserts, {} failed attempts, {} outboxes waiting, \
                 {:.1} s behind (caught up at unix ms {})",
                shipping.points_shipped,
                shipping.inserts,
                shipping.failed_attempts,
                shipping.outboxes_waiting,
                shipping.lag_ms as f64 / 1000.0,
                shipping.caught_up_unix_ms
            ),
        );
    }
    line(
        "refused",
        format!(
            "{} failed authentications, {} failed TLS handshakes",
            counters.auth_failures, counters.tls_handshake_failures
        ),
    );
    text
}

/// Bytes in binary units.
fn bytes(count: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = count as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{count} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// `{"key": [[timestamp, value], ...]}` in server order. JSON has no NaN or
/// infinities, so those become the strings Python prints for them.
fn to_json(metrics: &Metrics) -> serde_json::Value {
    let object = metrics
        .iter()
        .map(|(key, points)| {
            let rows = points
                .iter()
                .map(|point| {
                    let value = serde_json::Number::from_f64(point.value).map_or_else(
                        || serde_json::Value::String(PyFloat(point.value).to_string()),
                        Into::into,
                    );
                    serde_json::json!([point.timestamp, value])
                })
                .collect();
            (key.clone(), serde_json::Value::Array(rows))
        })
        .collect();
    serde_json::Value::Object(object)
}

#[cfg(test)]
mod tests {
    use super::*;
    use eardrum_client::Point;
    use eardrum_test_support::fields::{each_number_changed, numbered};

    #[test]
    fn json_keeps_server_order_and_spells_out_non_finite_values() {
        let mut metrics = Metrics::new();
        metrics.insert("z".into(), vec![Point::new(1, 1.5), Point::new(2, f64::NAN)]);
        metrics.insert("a".into(), vec![Point::new(3, f64::NEG_INFINITY)]);
        let text = to_json(&metrics).to_string();
        assert_eq!(text, r#"{"z":[[1,1.5],[2,"nan"]],"a":[[3,"-inf"]]}"#);
    }

    #[test]
    fn stats_show_every_figure_the_server_sends() {
        let mut storage = eardrum_storage::Stats::default();
        storage.last_checkpoint = Some(eardrum_storage::CheckpointStats::default());
        storage.shipping = Some(eardrum_storage::ShippingStats::default());
        storage.memory_from = Some(0);
        let base = numbered(&Stats::new(storage, Default::default()));
        let before = render_stats(&base);
        for (field, changed) in each_number_changed(&base) {
            assert_ne!(render_stats(&changed), before, "eardrum stats leaves out {field}");
        }
        let text = render_stats(&Stats::default());
        assert!(text.contains("last checkpoint  none since the server started\n"), "{text}");
        assert!(!text.contains("shipping"), "{text}");
    }
}
