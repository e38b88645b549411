//! Kill -9 while clients are putting: every point answered `ok` is there
//! after a restart.

#![expect(clippy::unwrap_used, reason = "test helpers: a failure is a panic")]

mod common;

use common::ServerProcess;
use eardrum_client::{Client, ClientError, Point};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Acknowledged points: key -> timestamp -> value.
type Acked = BTreeMap<String, BTreeMap<i64, f64>>;

/// Runs `clients` writer threads until `stop`, recording each acknowledged
/// point; single puts and pipelined batches alternate.
fn write_until_stopped(
    port: u16,
    cycle: usize,
    stop: Arc<AtomicBool>,
    acked: Arc<Mutex<Acked>>,
) -> Vec<std::thread::JoinHandle<()>> {
    (0..4)
        .map(|writer| {
            let (stop, acked) = (Arc::clone(&stop), Arc::clone(&acked));
            std::thread::spawn(move || {
                let Ok(mut client) = Client::connect_timeout(("127.0.0.1", port), Duration::from_secs(5))
                else {
                    return;
                };
                let key = format!("crash.cycle{cycle}.writer{writer}");
                let mut timestamp = 0i64;
                while !stop.load(Ordering::Relaxed) {
                    let result: Result<Vec<(i64, f64)>, ClientError> = if timestamp % 2 == 0 {
                        let value = timestamp as f64 * 0.5;
                        client.put(&key, value, Some(timestamp)).map(|()| vec![(timestamp, value)])
                    } else {
                        let batch: Vec<(i64, f64)> =
                            (timestamp..timestamp + 100).map(|t| (t, t as f64 / 3.0)).collect();
                        client.put_many(batch.iter().map(|&(t, v)| (&key, Point::new(t, v)))).map(|()| batch)
                    };
                    match result {
                        Ok(points) => {
                            timestamp += points.len() as i64;
                            acked.lock().unwrap().entry(key.clone()).or_default().extend(points);
                        }
                        // The server was killed under us.
                        Err(_) => return,
                    }
                }
            })
        })
        .collect()
}

fn read_back(port: u16) -> Acked {
    let mut client = Client::connect(("127.0.0.1", port)).unwrap();
    let stored = client.get_all().unwrap().into_iter();
    stored.map(|(key, points)| (key, points.into_iter().map(|p| (p.timestamp, p.value)).collect())).collect()
}

fn assert_every_acked_point_survived(acked: &Acked, stored: &Acked) {
    let mut checked = 0;
    for (key, points) in acked {
        let stored_points = stored.get(key).unwrap_or_else(|| panic!("series {key} lost"));
        for (timestamp, value) in points {
            assert_eq!(stored_points.get(timestamp), Some(value), "{key} at {timestamp}");
            checked += 1;
        }
    }
    assert!(checked > 0, "nothing was acknowledged: the test tested nothing");
}

fn crash_cycles(fsync: &str) {
    let dir = tempfile::tempdir().unwrap();
    let acked = Arc::new(Mutex::new(Acked::new()));
    for cycle in 0..3 {
        // Checkpoints every second, so kills land during them too.
        let mut server = ServerProcess::start(dir.path(), &["--fsync", fsync, "--checkpoint-interval", "1"]);
        let stop = Arc::new(AtomicBool::new(false));
        let writers = write_until_stopped(server.port, cycle, Arc::clone(&stop), Arc::clone(&acked));
        std::thread::sleep(Duration::from_millis(700 + 250 * cycle as u64));
        server.kill();
        stop.store(true, Ordering::Relaxed);
        for writer in writers {
            writer.join().unwrap();
        }
        let server = ServerProcess::start(dir.path(), &["--fsync", fsync]);
        assert_every_acked_point_survived(&acked.lock().unwrap(), &read_back(server.port));
    }
}

#[test]
fn sigkill_loses_no_acknowledged_point_with_fsync_never() {
    crash_cycles("never");
}

#[test]
fn sigkill_loses_no_acknowledged_point_with_fsync_always() {
    crash_cycles("always");
}

#[test]
fn sigkill_loses_no_acknowledged_point_with_the_default_fsync() {
    crash_cycles("everysec");
}
