//! Writers that pipeline puts while the server is killed (or its power is
//! cut) and restarted, and the check of what survived.
//!
//! Each writer owns its series and puts batches of points 10 s apart with
//! values computed from the key and timestamp, so that the check needs no
//! copy of the points: only which batches were acknowledged, and when.

use eardrum_client::{Client, Metrics};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A writer moves to a new series after this many points, so that series
/// are created all along, across restarts.
const POINTS_PER_SERIES: i64 = 300;
const FIRST_TIMESTAMP: i64 = 1_700_000_000;

/// A batch the server answered `ok` to.
#[derive(Debug, Clone, Copy)]
struct Acked {
    series: u64,
    first_ts: i64,
    count: i64,
    at: Instant,
}

/// What one writer did.
#[derive(Debug, Default)]
struct Written {
    acked: Vec<Acked>,
    /// Per series, the highest timestamp ever sent.
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
pub struct SplitMix(pub u64);

impl SplitMix {
    pub fn below(&mut self, bound: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % bound
    }
}

/// Writer threads, pointed at whatever port the server listens on now.
pub struct Writers {
    port: Arc<AtomicU16>,
    stop: Arc<AtomicBool>,
    written: Vec<Arc<Mutex<Written>>>,
    threads: Vec<JoinHandle<()>>,
}

impl Writers {
    pub fn start(count: u64) -> Writers {
        let port = Arc::new(AtomicU16::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let written: Vec<Arc<Mutex<Written>>> = (0..count).map(|_| Arc::default()).collect();
        let threads = (0..count)
            .map(|id| {
                let (port, stop, written) =
                    (Arc::clone(&port), Arc::clone(&stop), Arc::clone(&written[id as usize]));
                std::thread::spawn(move || write(id, &port, &stop, &written))
            })
            .collect();
        Writers { port, stop, written, threads }
    }

    /// Sends the writers (as they reconnect) to `port`.
    pub fn point_at(&self, port: u16) {
        self.port.store(port, Ordering::Relaxed);
    }

    /// Stops the writers and waits for them.
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads.drain(..) {
            thread.join().unwrap();
        }
    }

    /// Checks what a server holds against what the writers did: every
    /// acknowledged point is there unless `may_lose(when it was acked)`,
    /// nothing is there that was never sent, points ascend, and each
    /// writer's series come in the order it first put them. Returns the
    /// acknowledged points and how many of them were lost.
    pub fn check(&self, stored: &Metrics, may_lose: impl Fn(Instant) -> bool) -> (u64, u64) {
        let (mut acked_points, mut lost) = (0, 0);
        for (id, written) in self.written.iter().enumerate() {
            let written = written.lock().unwrap();
            let id = id as u64;
            let prefix = format!("loop.writer{id}.series");
            let order: Vec<u64> = stored
                .keys()
                .filter_map(|name| name.strip_prefix(&prefix))
                .map(|s| s.parse().unwrap())
                .collect();
            assert!(
                order.windows(2).all(|pair| pair[0] < pair[1]),
                "writer {id}'s series out of order: {order:?}"
            );
            for (name, points) in stored.iter().filter(|(name, _)| name.starts_with(&prefix)) {
                let series: u64 = name[prefix.len()..].parse().unwrap();
                let sent_through = written.sent_through.get(&series).copied().unwrap_or(i64::MIN);
                assert!(points.windows(2).all(|pair| pair[0].0 < pair[1].0), "{name}: out of order or twice");
                for &(timestamp, stored_value) in points {
                    assert!(timestamp <= sent_through, "{name}: a point at {timestamp} that was never sent");
                    assert_eq!(stored_value, value(id, series, timestamp), "{name}: a value never sent");
                }
            }
            for batch in &written.acked {
                let name = key(id, batch.series);
                let held: BTreeMap<i64, f64> =
                    stored.get(&name).map(|p| p.iter().copied().collect()).unwrap_or_default();
                for timestamp in (0..batch.count).map(|i| batch.first_ts + 10 * i) {
                    acked_points += 1;
                    if held.get(&timestamp) != Some(&value(id, batch.series, timestamp)) {
                        assert!(may_lose(batch.at), "{name}: acknowledged point at {timestamp} lost");
                        lost += 1;
                    }
                }
            }
        }
        assert!(acked_points > 0, "nothing was acknowledged: the loop tested nothing");
        (acked_points, lost)
    }
}

impl Drop for Writers {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Puts until `stop`, reconnecting to whatever `port` says whenever the
/// server goes away.
fn write(id: u64, port: &AtomicU16, stop: &AtomicBool, written: &Mutex<Written>) {
    let mut random = SplitMix(id);
    let (mut series, mut next_ts) = (0u64, FIRST_TIMESTAMP);
    while !stop.load(Ordering::Relaxed) {
        let addr = ("127.0.0.1", port.load(Ordering::Relaxed));
        let Ok(mut client) = Client::connect_timeout(addr, Some(Duration::from_secs(2))) else {
            std::thread::sleep(Duration::from_millis(10));
            continue;
        };
        while !stop.load(Ordering::Relaxed) {
            if next_ts - FIRST_TIMESTAMP >= POINTS_PER_SERIES * 10 {
                (series, next_ts) = (series + 1, FIRST_TIMESTAMP);
            }
            let count = 1 + random.below(120) as i64;
            let first_ts = next_ts;
            let name = key(id, series);
            let last_sent = first_ts + 10 * (count - 1);
            written.lock().unwrap().sent_through.insert(series, last_sent);
            let result = if count == 1 {
                client.put(&name, value(id, series, first_ts), Some(first_ts))
            } else {
                let points =
                    (0..count).map(|i| first_ts + 10 * i).map(|t| (name.as_str(), value(id, series, t), t));
                client.put_many(points)
            };
            // Whatever happens, these timestamps are used: a batch that was
            // cut off may be stored or not, and is never resent.
            next_ts = last_sent + 10;
            match result {
                Ok(()) => {
                    written.lock().unwrap().acked.push(Acked { series, first_ts, count, at: Instant::now() })
                }
                Err(_) => break,
            }
        }
    }
}

/// Every point a server holds, read with `get *`.
pub fn read_all(port: u16) -> Metrics {
    Client::connect(("127.0.0.1", port)).unwrap().get("*").unwrap()
}
