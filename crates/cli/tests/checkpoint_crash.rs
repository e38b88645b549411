//! The process dies at each step of a checkpoint (a failpoint aborts it
//! there); after a restart every acknowledged point is present exactly
//! once, in order.

#![expect(clippy::unwrap_used, reason = "test helpers: a failure is a panic")]

mod common;

use common::ServerProcess;
use eardrum_client::{Client, Metrics, Point};
use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;

const STEPS: [&str; 5] = [
    "checkpoint-before-block",
    "checkpoint-before-rename",
    "checkpoint-after-blocks",
    "checkpoint-after-manifest",
    "checkpoint-after-log-cleanup",
];

/// What the server must hold: key order, and each key's points.
#[derive(Default)]
struct Model {
    order: Vec<String>,
    points: BTreeMap<String, BTreeMap<i64, f64>>,
}

impl Model {
    fn put_all(&mut self, client: &mut Client, points: &[(String, f64, i64)]) {
        client.put_many(points.iter().map(|(k, v, t)| (k, Point::new(*t, *v)))).unwrap();
        for (key, value, timestamp) in points {
            if !self.points.contains_key(key) {
                self.order.push(key.clone());
            }
            self.points.entry(key.clone()).or_default().insert(*timestamp, *value);
        }
    }

    fn assert_matches(&self, stored: &Metrics) {
        let keys: Vec<&String> = stored.keys().collect();
        assert_eq!(keys, self.order.iter().collect::<Vec<_>>(), "key order");
        for (key, points) in stored {
            let expected: Vec<Point> = self.points[key].iter().map(|(&t, &v)| Point::new(t, v)).collect();
            assert_eq!(points, &expected, "{key}");
        }
    }
}

/// Several windows per series, out-of-order points and overwrites.
fn workload(round: i64) -> Vec<(String, f64, i64)> {
    let mut points = Vec::new();
    for host in 0..5 {
        let key = format!("host{host}.load");
        for step in 0..2000 {
            let timestamp = 1_700_000_000 + round * 100_000 + step * 10;
            points.push((key.clone(), ((step * 7 + host) % 300) as f64 / 100.0, timestamp));
        }
        // Out of order, into the first round's windows, and overwrites.
        points.push((key.clone(), -1.5, 1_700_000_005 + round));
        points.push((key.clone(), 42.0, 1_700_000_000));
    }
    points.push((format!("round{round}.marker"), round as f64, round));
    points
}

#[test]
fn a_crash_at_any_checkpoint_step_loses_and_duplicates_nothing() {
    for step in STEPS {
        let dir = tempfile::tempdir().unwrap();
        let mut model = Model::default();
        // Round 0, checkpointed cleanly at shutdown: a previous generation.
        let mut server = ServerProcess::start(dir.path(), &["--checkpoint-interval", "0"]);
        model.put_all(&mut Client::connect(server.addr()).unwrap(), &workload(0));
        assert!(server.terminate().success());
        // Round 1, then a shutdown checkpoint that dies at `step`.
        let env = [("EARDRUM_FAILPOINT", step)];
        let mut server = ServerProcess::start_with_env(dir.path(), &["--checkpoint-interval", "0"], &env);
        model.put_all(&mut Client::connect(server.addr()).unwrap(), &workload(1));
        let status = server.terminate();
        assert_eq!(status.signal(), Some(libc::SIGABRT), "{step}: the failpoint was not reached");

        let mut server = ServerProcess::start(dir.path(), &["--checkpoint-interval", "0"]);
        model.assert_matches(&Client::connect(server.addr()).unwrap().get_all().unwrap());
        // And the recovered store checkpoints and reopens cleanly.
        assert!(server.terminate().success(), "{step}");
        let server = ServerProcess::start(dir.path(), &[]);
        model.assert_matches(&Client::connect(server.addr()).unwrap().get_all().unwrap());
    }
}
