//! Memory and disk bytes per sample, and restart time, for a fleet-shaped
//! workload written straight into a store.
//!
//! ```text
//! cargo run --release -p eardrum-storage --example footprint -- \
//!     [--series 10000] [--points 1000] [--dir /tmp/footprint] [--keep] [--no-checkpoint]
//! ```
//!
//! `--series` series of the benchmark fleet (`eardrum_workload::Fleet`),
//! `--points` points per series at a 10 s interval, put in time order in
//! batches of 1,000. Prints RSS growth per sample (from /proc/self/status), the store's
//! own memory estimate, block bytes per sample after a checkpoint, and the
//! time to open the store again. With `--no-checkpoint` the store is closed
//! without one, as after a crash, and opening replays the whole log.

use eardrum_storage::{Options, Sample, Store, SyncMode};
use eardrum_workload::Fleet;
use std::time::{Duration, Instant};

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

    let mut fleet = Fleet::new(series, 2026);
    let keys: Vec<String> = (0..series).map(|i| fleet.key(i).to_owned()).collect();
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
    for step in 0..points as u64 {
        for (index, key) in keys.iter().enumerate() {
            let (timestamp, value) = fleet.next_point(index, step);
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
