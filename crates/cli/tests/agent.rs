//! `eardrum agent` against a real server: one round with `--once`, and a
//! run at a one-second interval across a restart of the server, with
//! memory and with a spool folder.

#![expect(clippy::unwrap_used, reason = "test helpers: a failure is a panic")]

mod common;

use common::*;
use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The points of every key under `prefix`, read back with `get *`.
fn series_under(port: u16, prefix: &str) -> BTreeMap<String, Vec<(i64, f64)>> {
    let output = run(&["get", "*", "--port", &port.to_string()]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let mut series: BTreeMap<String, Vec<(i64, f64)>> = BTreeMap::new();
    for line in text(&output.stdout).lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        if let [key, value, timestamp] = fields[..] {
            if let Some(rest) = key.strip_prefix(prefix) {
                series
                    .entry(rest.to_owned())
                    .or_default()
                    .push((timestamp.parse().unwrap(), value.parse().unwrap()));
            }
        }
    }
    series
}

fn value(series: &BTreeMap<String, Vec<(i64, f64)>>, metric: &str) -> f64 {
    series.get(metric).unwrap_or_else(|| panic!("no {metric} in {:?}", series.keys()))[0].1
}

#[test]
fn one_round_with_once_has_cpu_memory_disk_and_network_series_with_plausible_values() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(dir.path(), &[]);
    let output = run(&["agent", "--once", "--name", "box.one", "--port", &server.port.to_string()]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let series = series_under(server.port, "box_one.");

    for state in ["user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal", "busy"] {
        let percent = value(&series, &format!("cpu.total.{state}"));
        assert!((0.0..=100.0).contains(&percent), "cpu.total.{state} = {percent}");
    }
    let cores = std::thread::available_parallelism().unwrap().get();
    assert!(series.contains_key(&format!("cpu.{}.idle", cores - 1)), "a series per core");

    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap();
    let total_kib: f64 = meminfo.lines().next().unwrap().split_whitespace().nth(1).unwrap().parse().unwrap();
    assert_eq!(value(&series, "memory.total"), total_kib * 1024.0);
    let used = value(&series, "memory.used");
    assert!(used > 0.0 && used < total_kib * 1024.0, "{used}");
    assert!((0.0..100.0).contains(&value(&series, "memory.used_percent")));

    let root_used = value(&series, "fs.root.used_percent");
    assert!((0.0..=100.0).contains(&root_used), "{root_used}");
    assert!(value(&series, "fs.root.total") > value(&series, "fs.root.free"));
    assert!(
        series.keys().any(|key| key.starts_with("disk.") && key.ends_with(".write_bytes")),
        "{:?}",
        series.keys()
    );
    // The agent's own sending crosses loopback.
    assert!(value(&series, "net.lo.rx_bytes") >= 0.0);
    assert!(value(&series, "load.1min") >= 0.0);
    assert!(value(&series, "uptime") > 0.0);
    assert!(series.values().all(|points| points.len() == 1), "one round, one point per series");
}

/// The agent at a one-second interval; killed when dropped.
struct Agent(Child);

impl Agent {
    fn start(port: u16, name: &str, extra: &[&str]) -> Agent {
        let child = Command::new(BIN)
            .args(["agent", "--interval", "1s", "--name", name, "--port", &port.to_string()])
            .args(extra)
            .env("EARDRUM_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Agent(child)
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits until the server holds `rounds` rounds of `<name>.uptime`.
fn wait_for_rounds(port: u16, name: &str, rounds: usize) -> Vec<(i64, f64)> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let uptime = series_under(port, &format!("{name}.")).remove("uptime").unwrap_or_default();
        if uptime.len() >= rounds {
            return uptime;
        }
        assert!(Instant::now() < deadline, "only {} rounds arrived", uptime.len());
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Every round from the first to the last arrived: one a second, none
/// missing (a round may land in the next second when the machine is busy,
/// so a gap of two seconds is allowed, never more).
fn assert_no_round_missing(uptime: &[(i64, f64)]) {
    for pair in uptime.windows(2) {
        assert!(pair[1].0 - pair[0].0 <= 2, "a round is missing between {:?} and {:?}", pair[0], pair[1]);
    }
}

fn restart_server_while_the_agent_runs(extra_agent_args: &[&str], kill_the_agent_too: bool) {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let port_arg = port.to_string();
    let mut server = ServerProcess::start(dir.path(), &["--port", &port_arg]);
    let mut agent = Agent::start(port, "restarts", extra_agent_args);
    wait_for_rounds(port, "restarts", 2);

    assert!(server.terminate().success());
    let stopped = eardrum_protocol::clock::unix_seconds();
    // Rounds go on for a few seconds with nowhere to go.
    std::thread::sleep(Duration::from_secs(4));
    if kill_the_agent_too {
        agent.0.kill().unwrap();
        agent.0.wait().unwrap();
        agent = Agent::start(port, "restarts", extra_agent_args);
    }
    let server = ServerProcess::start(dir.path(), &["--port", &port_arg]);
    let restarted = eardrum_protocol::clock::unix_seconds();
    let uptime = wait_for_rounds(port, "restarts", 10);
    // The rounds of the downtime arrived once the server was back.
    let downtime_rounds = uptime.iter().filter(|&&(t, _)| t > stopped && t < restarted).count();
    assert!(downtime_rounds >= 3, "{stopped}..{restarted}: {uptime:?}");
    if !kill_the_agent_too {
        assert_no_round_missing(&uptime);
    }
    let dropped = series_under(port, "restarts.").remove("agent.dropped").unwrap();
    assert!(dropped.iter().all(|&(_, count)| count == 0.0), "{dropped:?}");
    drop(agent);
    drop(server);
}

#[test]
fn rounds_collected_while_the_server_restarts_arrive_once_it_is_back() {
    restart_server_while_the_agent_runs(&[], false);
}

#[test]
fn a_spool_folder_keeps_the_rounds_across_a_restart_of_the_agent_too() {
    let spool = tempfile::tempdir().unwrap();
    let spool_dir = spool.path().to_str().unwrap().to_owned();
    restart_server_while_the_agent_runs(&["--spool-dir", &spool_dir], true);
}

#[test]
fn once_against_no_server_retries_until_the_timeout_then_says_what_was_not_sent() {
    let port = free_port().to_string();
    let started = Instant::now();
    let output = run(&["agent", "--once", "--port", &port, "--timeout", "2"]);
    assert!(!output.status.success());
    let message = text(&output.stderr);
    assert!(message.contains(&format!("points could not be sent to 127.0.0.1:{port}")), "{message}");
    assert!(message.contains("cannot reach the server"), "{message}");
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
}
