//! The one-shot client commands: `eardrum put` and `eardrum get`.

use crate::args::{GetArgs, PutArgs, Remote};
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
