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

#![expect(clippy::unwrap_used, reason = "test helpers: a failure is a panic")]

mod common;

use common::writers::{SplitMix, Writers};
use common::ServerProcess;
use std::time::{Duration, Instant};

fn crash_loop(fsync: &str, cycles: usize) {
    let dir = tempfile::tempdir().unwrap();
    let mut writers = Writers::start(4);
    let mut random = SplitMix(cycles as u64);
    let started = Instant::now();
    for _ in 0..cycles {
        // Checkpoints every second, so some kills land in them.
        let mut server = ServerProcess::start(dir.path(), &["--fsync", fsync, "--checkpoint-interval", "1"]);
        writers.point_at(server.port);
        std::thread::sleep(Duration::from_millis(100 + random.below(600)));
        server.kill();
    }
    writers.stop();

    let server = ServerProcess::start(dir.path(), &["--fsync", fsync]);
    let (acked_points, _) = writers.check(server.port, |_| false);
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
