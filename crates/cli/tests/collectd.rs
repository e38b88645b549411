//! Real collectd (Debian's collectd-core) sending to the Graphite listener
//! with its write_graphite plugin every second; its cpu, memory and
//! interface metrics are then found through `/metrics/find` and drawn
//! through `/render`, as Grafana would ask for them.

#![expect(clippy::unwrap_used, reason = "test helpers: a failure is a panic")]

mod common;

use common::*;
use serde_json::Value;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// collectd, stopped when dropped.
struct Collectd(Child);

impl Drop for Collectd {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_collectd(dir: &std::path::Path, graphite_port: u16) -> Collectd {
    let config = dir.join("collectd.conf");
    std::fs::write(
        &config,
        format!(
            r#"Hostname "e2e"
FQDNLookup false
Interval 1
BaseDir "{dir}"
PIDFile "{dir}/collectd.pid"
PluginDir "/usr/lib/collectd"
TypesDB "/usr/share/collectd/types.db"
LoadPlugin cpu
LoadPlugin memory
LoadPlugin interface
LoadPlugin write_graphite
<Plugin write_graphite>
  <Node "eardrum">
    Host "127.0.0.1"
    Port "{graphite_port}"
    Protocol "tcp"
    Prefix "collectd."
    StoreRates true
  </Node>
</Plugin>
"#,
            dir = dir.display()
        ),
    )
    .unwrap();
    let child = Command::new("/usr/sbin/collectd")
        .arg("-f")
        .arg("-C")
        .arg(&config)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("collectd runs");
    Collectd(child)
}

fn json(port: u16, path_and_query: &str) -> Value {
    let (status, body) = http_get(port, path_and_query);
    assert_eq!(status, 200, "{path_and_query}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|_| panic!("{path_and_query}: not JSON: {body}"))
}

/// The names `/metrics/find` lists for `query`.
fn find(port: u16, query: &str) -> Vec<String> {
    let nodes = json(port, &format!("/metrics/find?query={query}"));
    nodes.as_array().unwrap().iter().map(|node| node["text"].as_str().unwrap().to_owned()).collect()
}

/// The non-null values `/render` gives for `target` over the last minute.
fn rendered(port: u16, target: &str) -> Vec<f64> {
    let target: String = target.replace('*', "%2A").replace('(', "%28").replace(')', "%29");
    let series = json(port, &format!("/render?target={target}&from=-1min&until=now&format=json"));
    series
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["datapoints"].as_array().unwrap().iter().filter_map(|point| point[0].as_f64()))
        .collect()
}

#[test]
#[ignore = "needs collectd (Debian's collectd-core): `cargo xtask test` installs it"]
fn collectd_metrics_arrive_and_are_found_and_rendered() {
    let dir = tempfile::tempdir().unwrap();
    let graphite_port = free_port();
    let server = ServerProcess::start_with_http(dir.path(), &["--graphite-port", &graphite_port.to_string()]);
    let collectd_dir = tempfile::tempdir().unwrap();
    let _collectd = start_collectd(collectd_dir.path(), graphite_port);

    // The cpu plugin sends rates from its second reading on: wait for
    // a few rounds of everything.
    let deadline = Instant::now() + Duration::from_secs(30);
    let port = server.http_port;
    loop {
        let ready = find(port, "collectd.e2e.*");
        let rates = rendered(port, "collectd.e2e.cpu-0.cpu-idle");
        let memory = rendered(port, "collectd.e2e.memory.memory-used");
        if ready.iter().any(|n| n == "memory") && rates.len() >= 2 && memory.len() >= 2 {
            break;
        }
        assert!(Instant::now() < deadline, "collectd's metrics did not arrive: {ready:?}");
        std::thread::sleep(Duration::from_millis(500));
    }

    let hosts = find(port, "collectd.*");
    assert_eq!(hosts, ["e2e"]);
    let plugins = find(port, "collectd.e2e.*");
    assert!(plugins.iter().any(|p| p == "cpu-0"), "{plugins:?}");
    assert!(plugins.iter().any(|p| p == "memory"), "{plugins:?}");
    assert!(plugins.iter().any(|p| p == "interface-lo"), "{plugins:?}");
    assert!(find(port, "collectd.e2e.memory.*").contains(&"memory-used".to_owned()));
    assert_eq!(find(port, "collectd.e2e.interface-lo.if_octets.*"), ["rx", "tx"]);

    // Memory in use: bytes, more than nothing, less than the machine has.
    let total = std::fs::read_to_string("/proc/meminfo").unwrap();
    let total_kib: f64 = total.lines().next().unwrap().split_whitespace().nth(1).unwrap().parse().unwrap();
    for used in rendered(port, "collectd.e2e.memory.memory-used") {
        assert!(used > 0.0 && used < total_kib * 1024.0, "{used}");
    }
    // CPU states as jiffies per second (100 a second per core): the sum
    // over every state of one core is about 100.
    let states = rendered(port, "sumSeries(collectd.e2e.cpu-0.cpu-*)");
    assert!(states.iter().any(|&sum| (50.0..150.0).contains(&sum)), "{states:?}");
    // Loopback traffic: collectd's own sending to eardrum is some of it.
    let octets = rendered(port, "sumSeries(collectd.e2e.interface-lo.if_octets.*)");
    assert!(octets.iter().any(|&rate| rate > 0.0), "{octets:?}");

    let stats = json(port, "/api/v1/stats");
    assert!(stats["graphite_points_stored"].as_u64().unwrap() > 50, "{stats}");
    assert_eq!(stats["graphite_lines_rejected"], 0, "{stats}");
}
