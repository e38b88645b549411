//! The one-shot client commands: `eardrum put` and `eardrum get`.

use crate::args::{GetArgs, PutArgs, Remote, StatsArgs};
use anyhow::Context;
use eardrum_client::{Client, Metrics, PyFloat};
use std::io::Write;
use std::time::Duration;

/// `eardrum put KEY VALUE [TIMESTAMP]`.
pub fn put(args: PutArgs) -> anyhow::Result<()> {
    let mut client = connect(&args.remote)?;
    client.put(&args.key, args.value, args.timestamp).context("storing the point")?;
    Ok(())
}

/// `eardrum get KEY [--json]`: rows as the protocol prints them, or JSON.
pub fn get(args: GetArgs) -> anyhow::Result<()> {
    let mut client = connect(&args.remote)?;
    let metrics = client.get(&args.key).context("reading points")?;
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer(&mut out, &to_json(&metrics))?;
        writeln!(out)?;
    } else {
        for (key, points) in &metrics {
            for &(timestamp, value) in points {
                writeln!(out, "{key} {} {timestamp}", PyFloat(value))?;
            }
        }
    }
    out.flush()?;
    Ok(())
}

/// `eardrum stats`: the server's statistics, readably or as JSON.
pub fn stats(args: StatsArgs) -> anyhow::Result<()> {
    let url = format!("http://{}:{}/api/v1/stats", args.host, args.http_port);
    let body = ureq::get(&url)
        .call()
        .and_then(|mut response| response.body_mut().read_to_string())
        .with_context(|| format!("asking {url} (is the server's HTTP API on that port?)"))?;
    if args.json {
        println!("{body}");
        return Ok(());
    }
    let stats: serde_json::Value = serde_json::from_str(&body).context("reading the server's statistics")?;
    print!("{}", render_stats(&stats));
    Ok(())
}

fn render_stats(stats: &serde_json::Value) -> String {
    let number = |field: &str| stats[field].as_u64().unwrap_or(0);
    let ratio = |field: &str| stats[field].as_f64().unwrap_or(0.0);
    let mut text = String::new();
    let mut line = |label: &str, value: String| text.push_str(&format!("{label:<17}{value}\n"));
    line("series", number("series").to_string());
    line("points", number("points").to_string());
    line(
        "memory",
        format!("{} ({:.2} B/point)", bytes(number("memory_bytes")), ratio("memory_bytes_per_point")),
    );
    line(
        "disk",
        format!(
            "{} ({:.2} B/point): blocks {}, log {}",
            bytes(number("disk_bytes")),
            ratio("disk_bytes_per_point"),
            bytes(number("block_bytes")),
            bytes(number("log_bytes"))
        ),
    );
    let checkpoint = &stats["last_checkpoint"];
    line(
        "last checkpoint",
        if checkpoint.is_null() {
            "none since the server started".to_owned()
        } else {
            format!(
                "generation {}, {} ms, {} windows, {} written, at unix ms {}",
                checkpoint["generation"],
                checkpoint["duration_ms"],
                checkpoint["windows_written"],
                bytes(checkpoint["bytes_written"].as_u64().unwrap_or(0)),
                checkpoint["finished_unix_ms"]
            )
        },
    );
    line(
        "connections",
        format!(
            "{} open, {} accepted, {} refused, {} closed idle",
            number("connections_open"),
            number("connections_accepted"),
            number("connections_refused"),
            number("connections_closed_idle")
        ),
    );
    line(
        "requests",
        format!(
            "{} puts, {} gets, {} errors ({} keys too long, {} new series over the limit)",
            number("puts_stored"),
            number("gets"),
            number("errors"),
            number("keys_too_long"),
            number("series_refused")
        ),
    );
    line("backpressure", format!("{} reply writes waited for a slow reader", number("reply_stalls")));
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

/// Connects with the command line's host, port and timeout.
pub fn connect(remote: &Remote) -> anyhow::Result<Client> {
    let timeout = timeout(remote)?;
    Ok(Client::connect_timeout((remote.host.as_str(), remote.port), timeout)?)
}

fn timeout(remote: &Remote) -> anyhow::Result<Option<Duration>> {
    if remote.timeout == 0.0 {
        return Ok(None);
    }
    let seconds = remote.timeout;
    Duration::try_from_secs_f64(seconds)
        .map(Some)
        .map_err(|_| anyhow::anyhow!("--timeout must be a non-negative number of seconds, not {seconds}"))
}

/// `{"key": [[timestamp, value], ...]}` in server order. JSON has no NaN or
/// infinities, so those become the strings Python prints for them.
fn to_json(metrics: &Metrics) -> serde_json::Value {
    let object = metrics
        .iter()
        .map(|(key, points)| {
            let rows = points
                .iter()
                .map(|&(timestamp, value)| {
                    let value = serde_json::Number::from_f64(value)
                        .map_or_else(|| serde_json::Value::String(PyFloat(value).to_string()), Into::into);
                    serde_json::json!([timestamp, value])
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

    #[test]
    fn json_keeps_server_order_and_spells_out_non_finite_values() {
        let mut metrics = Metrics::new();
        metrics.insert("z".into(), vec![(1, 1.5), (2, f64::NAN)]);
        metrics.insert("a".into(), vec![(3, f64::NEG_INFINITY)]);
        let text = to_json(&metrics).to_string();
        assert_eq!(text, r#"{"z":[[1,1.5],[2,"nan"]],"a":[[3,"-inf"]]}"#);
    }
}
