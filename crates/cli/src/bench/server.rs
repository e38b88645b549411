//! A server the benchmark starts itself, so it can report the server's CPU
//! time and peak memory.

use crate::args::Fsync;
use anyhow::{bail, Context};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// `eardrum serve` on a fresh data folder and a port the system picks.
pub(super) struct SpawnedServer {
    child: Child,
    pub addr: SocketAddr,
    _data: tempfile::TempDir,
}

impl SpawnedServer {
    /// Starts this very binary as `eardrum serve` with the given `--fsync`
    /// and `--threads`.
    pub(super) fn start(fsync: Fsync, threads: usize) -> anyhow::Result<SpawnedServer> {
        let data = tempfile::tempdir().context("creating a data folder for the server")?;
        let exe = std::env::current_exe().context("finding the eardrum binary")?;
        let mut child = Command::new(exe)
            .args([
                "serve",
                "--port",
                "0",
                "--http-port",
                "0",
                "--graphite-port",
                "0",
                "--fsync",
                fsync.as_flag(),
            ])
            .args(["--threads", &threads.to_string(), "--data-dir"])
            .arg(data.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .context("starting eardrum serve")?;
        let stderr = child.stderr.take().context("reading the server's log")?;
        let (found, addr) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            // Keep draining the log so the server never blocks on it.
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(addr) = line.split_whitespace().find_map(|w| w.strip_prefix("addr=")) {
                    let _ = found.send(addr.parse::<SocketAddr>().ok());
                }
            }
        });
        match addr.recv_timeout(Duration::from_secs(30)) {
            Ok(Some(addr)) => Ok(SpawnedServer { child, addr, _data: data }),
            _ => {
                let _ = child.kill();
                bail!("the server did not start listening")
            }
        }
    }

    /// CPU time the server has used so far (user + system).
    pub(super) fn cpu(&self) -> anyhow::Result<Duration> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id()))?;
        // Fields after the command name, which is in parentheses.
        let fields: Vec<&str> =
            stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("").split_whitespace().collect();
        let ticks: u64 = fields.get(11).and_then(|u| u.parse().ok()).unwrap_or(0)
            + fields.get(12).and_then(|s| s.parse().ok()).unwrap_or(0);
        Ok(Duration::from_secs_f64(ticks as f64 / clock_ticks_per_second()))
    }

    /// The server's peak resident memory.
    pub(super) fn peak_rss_bytes(&self) -> anyhow::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        let kib = status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .context("reading VmHWM")?;
        Ok(kib * 1024)
    }
}

impl Drop for SpawnedServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn clock_ticks_per_second() -> f64 {
    // Linux reports CPU time in USER_HZ, 100 on every mainstream build.
    100.0
}
