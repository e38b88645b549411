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
        // Checkpoints five times a second, so that kills land in them and
        // in the merges of late puts into windows on disk.
        let mut server =
            ServerProcess::start(dir.path(), &["--fsync", fsync, "--checkpoint-interval", "200ms"]);
        writers.point_at(server.port);
        std::thread::sleep(Duration::from_millis(100 + random.below(600)));
        server.kill();
    }
    writers.stop();

    let server = ServerProcess::start(dir.path(), &["--fsync", fsync]);
    let (acked_points, _) = writers.check(server.port, |_| false);
    // The loop covered history on disk: windows beyond the newest two, and
    // puts into them merged as files over their windows'.
    let mut files_per_window = std::collections::BTreeMap::<String, usize>::new();
    for entry in std::fs::read_dir(dir.path().join("blocks")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if let Some((window, _)) = name.split_once("_gen_") {
            *files_per_window.entry(window.to_owned()).or_default() += 1;
        }
    }
    assert!(files_per_window.len() >= 4, "{files_per_window:?}");
    assert!(files_per_window.values().any(|&files| files > 1), "{files_per_window:?}");
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
