//! Memory and disk bytes per sample, and restart time, for a fleet-shaped
//! workload written straight into a store.
//!
//! ```text
//! cargo run --release -p eardrum-storage --example footprint -- \
//!     [--series 10000] [--points 1000] [--dir /tmp/footprint] [--keep] [--no-checkpoint]
//! ```
//!
//! `--series` series (a tenth each of ten metrics per host), `--points`
//! points per series at a 10 s interval, put in time order in batches of
//! 1,000. Prints RSS growth per sample (from /proc/self/status), the store's
//! own memory estimate, block bytes per sample after a checkpoint, and the
//! time to open the store again. With `--no-checkpoint` the store is closed
//! without one, as after a crash, and opening replays the whole log.

use eardrum_storage::{Options, Sample, Store, SyncMode};
use std::time::{Duration, Instant};

/// What one metric of a host does over time.
#[derive(Clone, Copy)]
enum Shape {
    /// Wanders by `step` hundredths at most, staying in `0..=max`, often
    /// unchanged; printed with `decimals` decimals.
    Gauge { max: i64, step: i64, decimals: u32 },
    /// Grows by a random amount in `min..=max` every interval.
    Counter { min: i64, max: i64 },
    /// Never changes.
    Constant(f64),
}

const METRICS: [(&str, Shape); 10] = [
    ("cpu.user", Shape::Gauge { max: 10_000, step: 300, decimals: 1 }),
    ("cpu.system", Shape::Gauge { max: 10_000, step: 100, decimals: 1 }),
    ("load.1m", Shape::Gauge { max: 1_600, step: 20, decimals: 2 }),
    ("memory.used_percent", Shape::Gauge { max: 10_000, step: 20, decimals: 1 }),
    ("net.rx_bytes", Shape::Counter { min: 2_000, max: 60_000 }),
    ("net.tx_bytes", Shape::Counter { min: 1_000, max: 20_000 }),
    ("disk.io_ops", Shape::Counter { min: 0, max: 300 }),
    ("memory.total_bytes", Shape::Constant(17_179_869_184.0)),
    ("cpu.count", Shape::Constant(8.0)),
    ("disk.total_bytes", Shape::Constant(512_110_190_592.0)),
];

/// A small deterministic generator (SplitMix64).
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound.max(1)
    }
}

fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (mut series, mut points, mut dir, mut keep, mut checkpoint) =
        (10_000usize, 1_000usize, None, false, true);
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--keep" => keep = true,
            "--no-checkpoint" => checkpoint = false,
            "--series" => series = args.next().ok_or("--series needs a value")?.parse()?,
            "--points" => points = args.next().ok_or("--points needs a value")?.parse()?,
            "--dir" => dir = Some(std::path::PathBuf::from(args.next().ok_or("--dir needs a value")?)),
            other => return Err(format!("unknown flag {other}").into()),
        }
    }
    let scratch = tempfile::tempdir()?;
    let dir = dir.unwrap_or_else(|| scratch.path().join("store"));
    let _ = std::fs::remove_dir_all(&dir);

    let keys: Vec<String> = (0..series).map(|i| format!("host{}.{}", i / 10, METRICS[i % 10].0)).collect();
    let mut state: Vec<i64> = (0..series).map(|i| (i as i64 * 7919) % 5_000).collect();
    let mut random = Random(2026);
    let options = Options {
        sync: SyncMode::Never,
        checkpoint_interval: None,
        checkpoint_on_close: false,
        ..Options::default()
    };

    let baseline = rss_bytes();
    let store = Store::open(&dir, options.clone())?;
    let started = Instant::now();
    let mut batch: Vec<Sample<'_>> = Vec::with_capacity(1_000);
    for step in 0..points as i64 {
        for (index, key) in keys.iter().enumerate() {
            // Agents drift: one report in twenty is a second early or late.
            let jitter = match random.below(40) {
                0 => -1,
                1 => 1,
                _ => 0,
            };
            let timestamp = 1_700_000_000 + step * 10 + jitter;
            let value = match METRICS[index % 10].1 {
                Shape::Gauge { max, step, decimals } => {
                    if random.below(10) < 6 {
                        let delta = random.below(2 * step as u64 + 1) as i64 - step;
                        state[index] = (state[index] + delta).clamp(0, max);
                    }
                    let hundredths = state[index];
                    if decimals == 1 {
                        (hundredths / 10) as f64 / 10.0
                    } else {
                        hundredths as f64 / 100.0
                    }
                }
                Shape::Counter { min, max } => {
                    state[index] += min + random.below((max - min + 1) as u64) as i64;
                    state[index] as f64
                }
                Shape::Constant(value) => value,
            };
            batch.push(Sample { key, timestamp, value });
            if batch.len() == batch.capacity() {
                store.put(&batch)?;
                batch.clear();
            }
        }
    }
    store.put(&batch)?;
    let put_seconds = started.elapsed().as_secs_f64();
    let total = (series * points) as f64;
    let grown = rss_bytes().saturating_sub(baseline);
    let stats = store.stats();
    println!("{series} series x {points} points = {} samples", series * points);
    println!("put rate:              {:.2} M samples/s in one thread", total / put_seconds / 1e6);
    println!(
        "RSS growth:            {:.2} bytes/sample ({:.1} MiB)",
        grown as f64 / total,
        grown as f64 / 1048576.0
    );
    println!("store memory estimate: {:.2} bytes/sample", stats.memory_bytes as f64 / total);

    if checkpoint {
        let checkpoint = store.checkpoint()?;
        let stats = store.stats();
        println!(
            "after a checkpoint:    {:.3} bytes/sample in block files ({:.1} MiB), {} ms (writers stalled {} ms at most)",
            stats.block_bytes as f64 / total,
            stats.block_bytes as f64 / 1048576.0,
            checkpoint.duration_ms,
            checkpoint.longest_stall_ms
        );
        store.close()?;
    } else {
        println!("log on disk:           {:.2} bytes/sample", store.stats().log_bytes as f64 / total);
        // Closed as a crash leaves it: the whole log to replay.
        drop(store);
    }

    let mut opens: Vec<Duration> = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        let store = Store::open(&dir, options.clone())?;
        opens.push(started.elapsed());
        assert_eq!(store.stats().points as f64, total, "every point comes back");
        drop(store);
    }
    opens.sort();
    let what = if checkpoint { "loads the checkpoint" } else { "replays the whole log" };
    println!("restart (open):        {:.3} s median of 3 ({what})", opens[1].as_secs_f64());
    if keep {
        println!("kept {}", dir.display());
        std::mem::forget(scratch);
    }
    Ok(())
}
