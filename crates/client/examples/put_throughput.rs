//! Pipelined put throughput against a running server, over loopback.
//!
//! ```text
//! cargo run --release -p eardrum-client --example put_throughput -- \
//!     [--addr 127.0.0.1:8888] [--connections 4] [--points 1000000] [--series 1000]
//! ```
//!
//! Each connection sends `points / connections` fleet-shaped puts with
//! `Client::put_many` (windows of 1024 requests, then their replies) and
//! checks every reply is `ok`. Prints acknowledged samples per second.

use eardrum_client::{Client, Point};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut addr = "127.0.0.1:8888".to_owned();
    let (mut connections, mut points, mut series) = (4usize, 1_000_000usize, 1_000usize);
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--addr" => addr = value,
            "--connections" => connections = value.parse()?,
            "--points" => points = value.parse()?,
            "--series" => series = value.parse()?,
            other => return Err(format!("unknown flag {other}").into()),
        }
    }
    let per_connection = points / connections;
    let started = Instant::now();
    let workers: Vec<_> = (0..connections)
        .map(|worker| {
            let addr = addr.clone();
            std::thread::spawn(move || -> Result<usize, eardrum_client::Error> {
                let mut client = Client::connect(addr)?;
                let keys: Vec<String> = (0..(series / connections.max(1)).max(1))
                    .map(|s| format!("host{}.cpu{}", worker, s))
                    .collect();
                let samples = (0..per_connection).map(|i| {
                    let key = keys[i % keys.len()].as_str();
                    // Gauges with one or two decimals, 10 s apart.
                    let value = ((i * 7919) % 10_000) as f64 / 100.0;
                    (key, Point::new(1_700_000_000 + 10 * (i / keys.len()) as i64, value))
                });
                client.put_many(samples)?;
                Ok(per_connection)
            })
        })
        .collect();
    let mut acknowledged = 0;
    for worker in workers {
        acknowledged += worker.join().map_err(|_| "a worker panicked")??;
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "{acknowledged} puts acknowledged over {connections} connections in {elapsed:.3} s: {:.0} samples/s",
        acknowledged as f64 / elapsed
    );
    Ok(())
}
