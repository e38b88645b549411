//! Writers that pipeline puts while the server is killed (or its power is
//! cut) and restarted, and the check of what survived.
//!
//! Each writer owns its series and puts batches of points 10 s apart with
//! values computed from the key and timestamp, so that the check needs no
//! copy of the points: only which batches were acknowledged, and when.
//! Series start hours apart in turn, so that windows move to disk and
//! later series put into them.

#![expect(clippy::unwrap_used, reason = "test helpers: a failure is a panic")]

use eardrum_client::{Client, Point};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A writer moves to a new series after this many points, so that series
/// are created all along, across restarts.
const POINTS_PER_SERIES: i64 = 300;
const FIRST_TIMESTAMP: i64 = 1_700_000_000;
/// The most points a writer sends in one request batch.
const MAX_BATCH: u64 = 120;
/// Timestamps one series can have: a batch may run past
/// `POINTS_PER_SERIES`.
const SLOTS: i64 = POINTS_PER_SERIES + MAX_BATCH as i64;
/// Series start at four times this far apart, in turn: once the fourth has
/// moved the newest time twelve hours on, the first one's windows are read
/// from disk, and the fifth series puts into them (merged into their files
/// at the next checkpoint).
const SERIES_STAGGER: i64 = 4 * 3600;

/// The first timestamp of a writer's series number `series`.
fn first_timestamp(series: u64) -> i64 {
    FIRST_TIMESTAMP + (series % 4) as i64 * SERIES_STAGGER
}

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
pub(crate) struct SplitMix(pub u64);

impl SplitMix {
    pub(crate) fn below(&mut self, bound: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % bound
    }
}

/// Writer threads, pointed at whatever port the server listens on now.
pub(crate) struct Writers {
    port: Arc<AtomicU16>,
    stop: Arc<AtomicBool>,
    written: Vec<Arc<Mutex<Written>>>,
    threads: Vec<JoinHandle<()>>,
}

impl Writers {
    pub(crate) fn start(count: u64) -> Writers {
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
    pub(crate) fn point_at(&self, port: u16) {
        self.port.store(port, Ordering::Relaxed);
    }

    /// Stops the writers and waits for them.
    pub(crate) fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads.drain(..) {
            thread.join().unwrap();
        }
    }

    /// Checks what the server on `port` holds against what the writers did:
    /// every acknowledged point is there unless `may_lose(when it was
    /// acked)`, nothing is there that was never sent, points ascend, and
    /// each writer's series come in the order it first put them. Returns
    /// the acknowledged points and how many of them were lost.
    ///
    /// The `get *` reply is checked as it streams in, keeping one bit per
    /// point slot of each series: a power-cut run stores hundreds of
    /// millions of points, which would not fit in memory as a `Metrics`.
    pub(crate) fn check(&self, port: u16, may_lose: impl Fn(Instant) -> bool) -> (u64, u64) {
        let written: Vec<_> = self.written.iter().map(|w| w.lock().unwrap()).collect();
        let mut present: BTreeMap<(u64, u64), [u64; SLOT_WORDS]> = BTreeMap::new();
        let mut last_series: Vec<Option<u64>> = vec![None; written.len()];
        let mut previous: Option<(u64, u64, i64)> = None;
        for_each_point(port, |name, value_text, timestamp| {
            let (id, series) = parse_key(name);
            let written = &written[id as usize];
            if previous.is_none_or(|(w, s, _)| (w, s) != (id, series)) {
                assert!(
                    last_series[id as usize] < Some(series),
                    "writer {id}'s series out of order at {name}"
                );
                assert!(!present.contains_key(&(id, series)), "{name} appears twice");
                last_series[id as usize] = Some(series);
            } else if let Some((_, _, previous_ts)) = previous {
                assert!(
                    previous_ts < timestamp,
                    "{name}: {timestamp} after {previous_ts}: out of order or twice"
                );
            }
            previous = Some((id, series, timestamp));
            let sent_through = written.sent_through.get(&series).copied().unwrap_or(i64::MIN);
            assert!(timestamp <= sent_through, "{name}: a point at {timestamp} that was never sent");
            let slot = slot_of(series, timestamp)
                .unwrap_or_else(|| panic!("{name}: a timestamp never sent: {timestamp}"));
            let expected = eardrum_protocol::PyFloat(value(id, series, timestamp)).to_string();
            assert_eq!(value_text, expected, "{name}: a value never sent at {timestamp}");
            present.entry((id, series)).or_default()[slot / 64] |= 1 << (slot % 64);
        });
        let (mut acked_points, mut lost) = (0, 0);
        for (id, written) in written.iter().enumerate() {
            for batch in &written.acked {
                let bits = present.get(&(id as u64, batch.series));
                for timestamp in (0..batch.count).map(|i| batch.first_ts + 10 * i) {
                    acked_points += 1;
                    let slot = slot_of(batch.series, timestamp).expect("sent timestamps have slots");
                    if bits.is_none_or(|bits| bits[slot / 64] & (1 << (slot % 64)) == 0) {
                        let name = key(id as u64, batch.series);
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

/// Words of one bit per timestamp a series can have.
const SLOT_WORDS: usize = (SLOTS as usize).div_ceil(64);

/// The place of a timestamp among the possible ones of series `series`.
fn slot_of(series: u64, timestamp: i64) -> Option<usize> {
    let offset = timestamp.checked_sub(first_timestamp(series))?;
    (offset % 10 == 0 && (0..SLOTS * 10).contains(&offset)).then_some((offset / 10) as usize)
}

/// Writer and series of a key the writers made.
fn parse_key(name: &str) -> (u64, u64) {
    let rest = name.strip_prefix("loop.writer").unwrap_or_else(|| panic!("a key never put: {name}"));
    let (writer, series) = rest.split_once(".series").unwrap_or_else(|| panic!("a key never put: {name}"));
    (writer.parse().unwrap(), series.parse().unwrap())
}

/// Sends `get *` and calls `visit(key, value as printed, timestamp)` for
/// each row as it arrives.
fn for_each_point(port: u16, mut visit: impl FnMut(&str, &str, i64)) {
    use std::io::{BufRead, BufReader, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.write_all(b"get *\n").unwrap();
    let mut reader = BufReader::with_capacity(1 << 20, stream);
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    assert_eq!(line, "ok\n", "the reply to get *");
    loop {
        line.clear();
        assert!(reader.read_line(&mut line).unwrap() > 0, "the reply to get * ended early");
        let row = line.trim_end_matches('\n');
        if row.is_empty() {
            return;
        }
        let mut words = row.split(' ');
        let (Some(name), Some(value), Some(timestamp), None) =
            (words.next(), words.next(), words.next(), words.next())
        else {
            panic!("a malformed row: {row:?}");
        };
        visit(name, value, timestamp.parse().unwrap());
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
    let (mut series, mut next_ts) = (0u64, first_timestamp(0));
    while !stop.load(Ordering::Relaxed) {
        let addr = ("127.0.0.1", port.load(Ordering::Relaxed));
        let Ok(mut client) = Client::connect_timeout(addr, Duration::from_secs(2)) else {
            std::thread::sleep(Duration::from_millis(10));
            continue;
        };
        while !stop.load(Ordering::Relaxed) {
            if next_ts - first_timestamp(series) >= POINTS_PER_SERIES * 10 {
                (series, next_ts) = (series + 1, first_timestamp(series + 1));
            }
            let count = 1 + random.below(MAX_BATCH) as i64;
            let first_ts = next_ts;
            let name = key(id, series);
            let last_sent = first_ts + 10 * (count - 1);
            written.lock().unwrap().sent_through.insert(series, last_sent);
            let result = if count == 1 {
                client.put(&name, value(id, series, first_ts), Some(first_ts))
            } else {
                let points = (0..count)
                    .map(|i| first_ts + 10 * i)
                    .map(|t| (name.as_str(), Point::new(t, value(id, series, t))));
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
