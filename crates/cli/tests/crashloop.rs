//! The crash loop: writers pipeline puts while the server is killed with
//! SIGKILL at random moments and restarted; the writers reconnect and go
//! on. At the end every point ever answered `ok` is read back, each
//! series' points are in timestamp order with nothing that was never sent,
//! and each writer's series come in the order it first put them.
//!
//! `cargo test` runs 10 cycles with the default `--fsync`; for the long
//! runs RELIABILITY.md records:
//!
//! ```text
//! EARDRUM_CRASHLOOP_CYCLES=100 EARDRUM_CRASHLOOP_FSYNC=always \
//!     cargo test --release -p eardrum --test crashloop -- --nocapture
//! ```

mod common;

use common::ServerProcess;
use eardrum_client::Client;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const WRITERS: u64 = 4;
/// A writer moves to a new series after this many acknowledged points, so
/// that series are created all along, across restarts.
const POINTS_PER_SERIES: i64 = 300;
const FIRST_TIMESTAMP: i64 = 1_700_000_000;

/// What a writer did: for each of its series, the acknowledged points and
/// the highest timestamp it ever sent.
#[derive(Debug, Default)]
struct Written {
    acked: BTreeMap<u64, BTreeMap<i64, f64>>,
    sent_through: BTreeMap<u64, i64>,
}

fn key(writer: u64, series: u64) -> String {
    format!("loop.writer{writer}.series{series:05}")
}

/// The value a writer puts at a timestamp: checkable without bookkeeping.
fn value(writer: u64, series: u64, timestamp: i64) -> f64 {
    ((writer * 31 + series * 7) as i64 + timestamp).rem_euclid(100_000) as f64 / 10.0
}

/// A small deterministic generator, so a failing run can be repeated.
struct SplitMix(u64);

impl SplitMix {
    fn below(&mut self, bound: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % bound
    }
}

/// Puts until `stop`, reconnecting to whatever `port` says whenever the
/// server goes away.
fn writer(id: u64, port: Arc<AtomicU16>, stop: Arc<AtomicBool>, written: Arc<Mutex<Written>>) {
    let mut random = SplitMix(id);
    let (mut series, mut next_ts) = (0u64, FIRST_TIMESTAMP);
    while !stop.load(Ordering::Relaxed) {
        let Ok(mut client) = Client::connect_timeout(
            ("127.0.0.1", port.load(Ordering::Relaxed)),
            Some(Duration::from_secs(2)),
        ) else {
            std::thread::sleep(Duration::from_millis(10));
            continue;
        };
        while !stop.load(Ordering::Relaxed) {
            if next_ts - FIRST_TIMESTAMP >= POINTS_PER_SERIES * 10 {
                (series, next_ts) = (series + 1, FIRST_TIMESTAMP);
            }
            let count = 1 + random.below(120) as i64;
            let points: Vec<(i64, f64)> =
                (0..count).map(|i| next_ts + 10 * i).map(|t| (t, value(id, series, t))).collect();
            let name = key(id, series);
            let last_sent = points.last().map_or(next_ts, |&(t, _)| t);
            written.lock().unwrap().sent_through.insert(series, last_sent);
            let result = if count == 1 {
                client.put(&name, points[0].1, Some(points[0].0))
            } else {
                client.put_many(points.iter().map(|&(t, v)| (name.as_str(), v, t)))
            };
            // Whatever happens, these timestamps are used: a batch that was
            // cut off may be stored or not, and is never resent.
            next_ts = last_sent + 10;
            match result {
                Ok(()) => written.lock().unwrap().acked.entry(series).or_default().extend(points),
                Err(_) => break,
            }
        }
    }
}

fn crash_loop(fsync: &str, cycles: usize) {
    let dir = tempfile::tempdir().unwrap();
    let port = Arc::new(AtomicU16::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let written: Vec<Arc<Mutex<Written>>> = (0..WRITERS).map(|_| Arc::default()).collect();
    let writers: Vec<_> = (0..WRITERS)
        .map(|id| {
            let (port, stop, written) =
                (Arc::clone(&port), Arc::clone(&stop), Arc::clone(&written[id as usize]));
            std::thread::spawn(move || writer(id, port, stop, written))
        })
        .collect();
    let mut random = SplitMix(cycles as u64);
    let started = Instant::now();
    for _ in 0..cycles {
        // Checkpoints every second, so some kills land in them.
        let mut server = ServerProcess::start(dir.path(), &["--fsync", fsync, "--checkpoint-interval", "1"]);
        port.store(server.port, Ordering::Relaxed);
        std::thread::sleep(Duration::from_millis(100 + random.below(600)));
        server.kill();
    }
    stop.store(true, Ordering::Relaxed);
    for writer in writers {
        writer.join().unwrap();
    }

    let server = ServerProcess::start(dir.path(), &["--fsync", fsync]);
    let mut client = Client::connect(("127.0.0.1", server.port)).unwrap();
    let stored = client.get("*").unwrap();
    let mut acked_points = 0;
    for (id, written) in written.iter().enumerate() {
        let written = written.lock().unwrap();
        let id = id as u64;
        // Series in the order this writer first put them.
        let order: Vec<u64> = stored
            .keys()
            .filter_map(|name| name.strip_prefix(&format!("loop.writer{id}.series")))
            .map(|series| series.parse().unwrap())
            .collect();
        assert!(
            order.windows(2).all(|pair| pair[0] < pair[1]),
            "writer {id}'s series out of order: {order:?}"
        );
        for (&series, acked) in &written.acked {
            let name = key(id, series);
            let points = stored.get(&name).unwrap_or_else(|| panic!("series {name} lost"));
            let held: BTreeMap<i64, f64> = points.iter().copied().collect();
            assert_eq!(held.len(), points.len(), "{name}: a timestamp twice");
            assert!(points.windows(2).all(|pair| pair[0].0 < pair[1].0), "{name}: out of order");
            for (timestamp, value) in acked {
                assert_eq!(
                    held.get(timestamp),
                    Some(value),
                    "{name}: acknowledged point at {timestamp} lost"
                );
                acked_points += 1;
            }
        }
        for (name, points) in stored.iter().filter(|(name, _)| name.starts_with(&format!("loop.writer{id}.")))
        {
            let series: u64 = name.rsplit("series").next().unwrap().parse().unwrap();
            let sent_through = written.sent_through.get(&series).copied().unwrap_or(i64::MIN);
            for &(timestamp, stored_value) in points {
                assert!(timestamp <= sent_through, "{name}: a point at {timestamp} that was never sent");
                assert_eq!(stored_value, value(id, series, timestamp), "{name}: a value never sent");
            }
        }
    }
    assert!(acked_points > 0, "nothing was acknowledged: the loop tested nothing");
    eprintln!(
        "crash loop, --fsync {fsync}: {cycles} SIGKILLs in {:.1} s, {acked_points} acknowledged points all \
         read back, none extra, series and points in order",
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn a_crash_loop_loses_no_acknowledged_point() {
    let cycles = std::env::var("EARDRUM_CRASHLOOP_CYCLES").ok().and_then(|c| c.parse().ok()).unwrap_or(10);
    let fsync = std::env::var("EARDRUM_CRASHLOOP_FSYNC").unwrap_or_else(|_| "everysec".to_owned());
    crash_loop(&fsync, cycles);
}
