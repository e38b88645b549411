//! `eardrum bench`: a load generator for any server that speaks the
//! protocol, with the fleet workload, pipelining, latency percentiles and,
//! when it starts the server itself, the server's CPU and memory.

mod feed;
mod load;
mod requests;
mod server;

use crate::args::BenchArgs;
use anyhow::{bail, Context};
use eardrum_workload::Fleet;
use feed::Feed;
use requests::Format;
use server::SpawnedServer;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The most latencies kept: a larger run keeps an even sample of them.
const LATENCY_SAMPLES: u64 = 20_000_000;

/// Runs the benchmark and prints its report.
pub(crate) fn run(args: BenchArgs) -> anyhow::Result<()> {
    if args.connections == 0 || args.window == 0 || args.series == 0 || args.points == 0 {
        bail!("--connections, --window, --series and --points must all be at least 1");
    }
    let security = &args.remote.endpoint.security;
    if security.tls || security.tls_ca.is_some() {
        bail!("eardrum bench speaks plain TCP only: measure a TLS server through a plain listener");
    }
    let spawned = args.serve.then(|| SpawnedServer::start(args.fsync, args.server_threads)).transpose()?;
    let addr = match &spawned {
        Some(server) => server.addr,
        None => {
            let remote = args.remote.address();
            let text = remote.to_string();
            text.to_socket_addrs()
                .with_context(|| format!("resolving {remote}"))?
                .next()
                .with_context(|| format!("{remote} resolves to no address"))?
        }
    };
    let token: Option<Arc<str>> =
        security.auth_token_file.as_deref().map(crate::remote::read_token).transpose()?.map(Into::into);
    let connections = args.connections.min(args.series);
    // Every connection encodes its share from the same starting fleet, so
    // the same flags always send the same points.
    let fleet = Fleet::new(args.series, args.seed);
    let format = if args.graphite { Format::Graphite } else { Format::Put };
    let total = (args.series as u64).saturating_mul(args.points);
    let feed = Feed::new(&fleet, connections, args.points, format);
    if feed.rounds() > 1 {
        eprintln!(
            "{total} points are encoded in {} rounds of at most {} while sending: the client's encoding shares the machine with the server",
            feed.rounds(),
            feed::ROUND_POINTS
        );
    }
    let sample_every = total.div_ceil(LATENCY_SAMPLES).max(1);
    let rounds = feed.start();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;

    let cpu_before = spawned.as_ref().map(SpawnedServer::cpu).transpose()?;
    let progress = Arc::new(AtomicU64::new(0));
    let bar = progress_bar(total, Arc::clone(&progress));
    let deadline = args.duration.map(|d| Instant::now() + d);
    let started = Instant::now();
    let outcomes = runtime.block_on(async {
        let mut tasks = tokio::task::JoinSet::new();
        for share in rounds {
            let progress = Arc::clone(&progress);
            if args.graphite {
                tasks.spawn(load::send_only(addr, share, progress));
            } else {
                tasks.spawn(load::run(
                    addr,
                    token.clone(),
                    share,
                    args.window,
                    deadline,
                    progress,
                    sample_every,
                ));
            }
        }
        let mut outcomes = Vec::new();
        while let Some(done) = tasks.join_next().await {
            outcomes.push(done??);
        }
        anyhow::Ok(outcomes)
    })?;
    let elapsed = started.elapsed();
    bar.finish();
    let cpu = match (&spawned, cpu_before) {
        (Some(server), Some(before)) => Some(server.cpu()?.saturating_sub(before)),
        _ => None,
    };
    let acknowledged: u64 = outcomes.iter().map(|o| o.acknowledged).sum();
    if deadline.is_none() && acknowledged != total {
        bail!("only {acknowledged} of {total} puts were acknowledged");
    }
    let mut latencies: Vec<u32> = outcomes.into_iter().flat_map(|o| o.latencies_ns).collect();
    let query = if args.no_query || args.graphite {
        None
    } else {
        Some(runtime.block_on(query(addr, token.as_deref(), fleet.key(0)))?)
    };
    // Read after the query phase, so that the peak covers `get *` too.
    let server_peak_rss = spawned.as_ref().map(SpawnedServer::peak_rss_bytes).transpose()?;

    let report = Report {
        sent_only: args.graphite,
        connections,
        window: args.window,
        series: args.series,
        points: args.points,
        seed: args.seed,
        acknowledged,
        elapsed,
        latency: Percentiles::of(&mut latencies),
        server_cpu: cpu,
        server_peak_rss,
        query,
    };
    if let (Some(query), true) = (&report.query, spawned.is_some()) {
        // A server started for this run holds exactly what was put.
        if query.all_rows != acknowledged {
            bail!("get * returned {} rows, but {acknowledged} puts were acknowledged", query.all_rows);
        }
    }
    if args.json {
        println!("{}", report.to_json());
    } else {
        print!("{}", report.to_text());
    }
    Ok(())
}

fn progress_bar(total: u64, done: Arc<AtomicU64>) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} puts {per_sec} eta {eta}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let ticking = bar.clone();
    std::thread::spawn(move || {
        while !ticking.is_finished() {
            ticking.set_position(done.load(Ordering::Relaxed));
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    bar
}

/// Latency percentiles in nanoseconds.
#[derive(Debug, Default, Clone, Copy)]
struct Percentiles {
    p50: u32,
    p99: u32,
    p999: u32,
}

impl Percentiles {
    fn of(samples: &mut [u32]) -> Percentiles {
        if samples.is_empty() {
            return Percentiles::default();
        }
        samples.sort_unstable();
        let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
        Percentiles { p50: at(0.50), p99: at(0.99), p999: at(0.999) }
    }
}

/// What the query phase measured.
#[derive(Debug)]
struct Query {
    one_key: String,
    one_key_p50: Duration,
    one_key_rows: u64,
    all_rows: u64,
    all_bytes: u64,
    all_elapsed: Duration,
}

/// `get <key>` 100 times, then `get *` once, each timed to the last byte
/// of its reply.
async fn query(addr: SocketAddr, token: Option<&str>, key: &str) -> anyhow::Result<Query> {
    let mut stream = load::connect(addr, token).await?;
    let mut buffer = Vec::with_capacity(1 << 20);
    let mut one_key = Vec::new();
    let mut one_key_rows = 0;
    for _ in 0..100 {
        let started = Instant::now();
        one_key_rows = request(&mut stream, format!("get {key}\n").as_bytes(), &mut buffer).await?.0;
        one_key.push(started.elapsed());
    }
    one_key.sort_unstable();
    let started = Instant::now();
    let (all_rows, all_bytes) = request(&mut stream, b"get *\n", &mut buffer).await?;
    Ok(Query {
        one_key: key.to_owned(),
        one_key_p50: one_key[one_key.len() / 2],
        one_key_rows,
        all_rows,
        all_bytes,
        all_elapsed: started.elapsed(),
    })
}

/// Sends one `get` and reads its whole reply; returns (rows, bytes).
async fn request(
    stream: &mut tokio::net::TcpStream,
    line: &[u8],
    buffer: &mut Vec<u8>,
) -> anyhow::Result<(u64, u64)> {
    stream.write_all(line).await?;
    let (mut rows, mut bytes, mut previous_newline) = (0u64, 0u64, false);
    let mut status = Vec::with_capacity(3);
    loop {
        buffer.clear();
        let read = stream.read_buf(buffer).await?;
        if read == 0 {
            bail!("the server closed the connection during a get");
        }
        if status.len() < 3 {
            let take = (3 - status.len()).min(read);
            status.extend_from_slice(&buffer[..take]);
            if status.len() == 3 && status != b"ok\n" {
                bail!("the server answered {:?} to a get", String::from_utf8_lossy(&buffer[..read.min(40)]));
            }
        }
        bytes += read as u64;
        for &byte in &buffer[..read] {
            if byte == b'\n' {
                if previous_newline {
                    // Status line "ok" counted one newline: rows are the rest.
                    return Ok((rows.saturating_sub(1), bytes));
                }
                rows += 1;
                previous_newline = true;
            } else {
                previous_newline = false;
            }
        }
    }
}

/// Everything a run measured.
struct Report {
    /// Graphite mode: lines sent, not puts acknowledged.
    sent_only: bool,
    connections: usize,
    window: usize,
    series: usize,
    points: u64,
    seed: u64,
    acknowledged: u64,
    elapsed: Duration,
    latency: Percentiles,
    server_cpu: Option<Duration>,
    server_peak_rss: Option<u64>,
    query: Option<Query>,
}

impl Report {
    fn rate(&self) -> f64 {
        self.acknowledged as f64 / self.elapsed.as_secs_f64()
    }

    fn to_text(&self) -> String {
        let ms = |ns: u32| f64::from(ns) / 1e6;
        let mut text = format!(
            "{} connections, window {}, {} series x {} points (seed {})\n",
            self.connections, self.window, self.series, self.points, self.seed
        );
        let what = if self.sent_only { "Graphite lines sent" } else { "puts acknowledged" };
        text += &format!(
            "ingest   {} {what} in {:.3} s: {:.3} M samples/s\n",
            self.acknowledged,
            self.elapsed.as_secs_f64(),
            self.rate() / 1e6
        );
        if !self.sent_only {
            text += &format!(
                "latency  p50 {:.3} ms, p99 {:.3} ms, p99.9 {:.3} ms\n",
                ms(self.latency.p50),
                ms(self.latency.p99),
                ms(self.latency.p999)
            );
        }
        if let (Some(cpu), Some(rss)) = (self.server_cpu, self.server_peak_rss) {
            text += &format!(
                "server   {:.2} s CPU = {:.3} µs per sample, peak RSS {:.1} MiB\n",
                cpu.as_secs_f64(),
                cpu.as_secs_f64() * 1e6 / self.acknowledged.max(1) as f64,
                rss as f64 / 1048576.0
            );
        }
        if let Some(query) = &self.query {
            text += &format!(
                "query    get {}: {} rows, p50 {:.3} ms; get *: {} rows, {:.1} MiB in {:.3} s\n",
                query.one_key,
                query.one_key_rows,
                query.one_key_p50.as_secs_f64() * 1e3,
                query.all_rows,
                query.all_bytes as f64 / 1048576.0,
                query.all_elapsed.as_secs_f64()
            );
        }
        text
    }

    fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "connections": self.connections,
            "window": self.window,
            "series": self.series,
            "points_per_series": self.points,
            "seed": self.seed,
            "acknowledged": self.acknowledged,
            "graphite": self.sent_only,
            "seconds": self.elapsed.as_secs_f64(),
            "samples_per_second": self.rate(),
            "latency_ns": { "p50": self.latency.p50, "p99": self.latency.p99, "p999": self.latency.p999 },
            "server_cpu_seconds": self.server_cpu.map(|c| c.as_secs_f64()),
            "server_peak_rss_bytes": self.server_peak_rss,
            "query": self.query.as_ref().map(|q| serde_json::json!({
                "one_key_rows": q.one_key_rows,
                "one_key_p50_seconds": q.one_key_p50.as_secs_f64(),
                "all_rows": q.all_rows,
                "all_bytes": q.all_bytes,
                "all_seconds": q.all_elapsed.as_secs_f64(),
            })),
        })
    }
}
