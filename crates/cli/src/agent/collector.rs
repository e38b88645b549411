//! One round of the host's metrics as points named `<host>.<metric>`:
//! gauges as read, counters as rates over the time since the previous
//! round (so the first round has gauges only).
//!
//! | metric | unit |
//! |---|---|
//! | `cpu.total.<state>`, `cpu.<n>.<state>` (user, nice, system, idle, iowait, irq, softirq, steal), `cpu.total.busy` | percent of the CPU's time |
//! | `load.1min`, `load.5min`, `load.15min` | runnable tasks |
//! | `memory.{total,used,free,available,buffers,cached}`, `memory.used_percent` | bytes, percent |
//! | `swap.{total,used,free}`, `swap.used_percent` | bytes, percent |
//! | `fs.<mount>.{total,used,free}`, `fs.<mount>.used_percent` (`root` for `/`) | bytes, percent |
//! | `disk.<device>.{reads,writes,read_bytes,write_bytes}`, `disk.<device>.busy_percent` | per second, percent |
//! | `net.<interface>.{rx,tx}_{bytes,packets,errors,dropped}` | per second |
//! | `uptime` | seconds |

use super::system::{self, CpuTimes, DiskIo, NetIo, CPU_STATES, NET_COUNTERS};
use super::Reading;
use std::path::Path;
use std::time::Instant;

/// The counters of the previous round.
struct Counters {
    at: Instant,
    cpus: Vec<CpuTimes>,
    disks: Vec<DiskIo>,
    nets: Vec<NetIo>,
}

/// Reads the host, round after round.
pub(super) struct Collector {
    host: String,
    previous: Option<Counters>,
}

impl Collector {
    /// A collector naming its points `<host>.…`.
    pub(super) fn new(host: &str) -> Collector {
        Collector { host: host.to_owned(), previous: None }
    }

    /// One round's points at `timestamp`. A file that cannot be read costs
    /// its metrics only.
    pub(super) fn collect(&mut self, timestamp: i64) -> Vec<Reading> {
        let mut round = Round { host: &self.host, timestamp, points: Vec::new() };
        let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
        let now = Instant::now();
        let counters = Counters {
            at: now,
            cpus: system::parse_stat(&read("/proc/stat")),
            disks: system::parse_diskstats(&read("/proc/diskstats"), is_block_device),
            nets: system::parse_net_dev(&read("/proc/net/dev")),
        };
        if let Some(load) = system::parse_loadavg(&read("/proc/loadavg")) {
            for (name, value) in ["1min", "5min", "15min"].iter().zip(load) {
                round.add(format_args!("load.{name}"), value);
            }
        }
        if let Some(uptime) = system::parse_uptime(&read("/proc/uptime")) {
            round.add(format_args!("uptime"), uptime);
        }
        round.memory(&system::parse_meminfo(&read("/proc/meminfo")));
        for mount in system::parse_mounts(&read("/proc/mounts")) {
            round.filesystem(&mount.path);
        }
        if let Some(previous) = &self.previous {
            let seconds = now.duration_since(previous.at).as_secs_f64();
            if seconds > 0.0 {
                round.cpus(&previous.cpus, &counters.cpus);
                round.disks(&previous.disks, &counters.disks, seconds);
                round.nets(&previous.nets, &counters.nets, seconds);
            }
        }
        self.previous = Some(counters);
        round.points
    }
}

/// Whole block devices, as /sys/block lists them, but loop and RAM disks.
fn is_block_device(name: &str) -> bool {
    !name.starts_with("loop") && !name.starts_with("ram") && Path::new("/sys/block").join(name).exists()
}

/// The points of one round being made.
struct Round<'a> {
    host: &'a str,
    timestamp: i64,
    points: Vec<Reading>,
}

impl Round<'_> {
    fn add(&mut self, metric: std::fmt::Arguments<'_>, value: f64) {
        if value.is_finite() {
            self.points.push(Reading {
                key: format!("{}.{metric}", self.host),
                value,
                timestamp: self.timestamp,
            });
        }
    }

    fn memory(&mut self, memory: &system::Memory) {
        if memory.total == 0 {
            return;
        }
        let used = memory.total.saturating_sub(memory.available);
        for (name, bytes) in [
            ("total", memory.total),
            ("used", used),
            ("free", memory.free),
            ("available", memory.available),
            ("buffers", memory.buffers),
            ("cached", memory.cached),
        ] {
            self.add(format_args!("memory.{name}"), bytes as f64);
        }
        self.add(format_args!("memory.used_percent"), percent(used, memory.total));
        if memory.swap_total > 0 {
            let swap_used = memory.swap_total.saturating_sub(memory.swap_free);
            self.add(format_args!("swap.total"), memory.swap_total as f64);
            self.add(format_args!("swap.used"), swap_used as f64);
            self.add(format_args!("swap.free"), memory.swap_free as f64);
            self.add(format_args!("swap.used_percent"), percent(swap_used, memory.swap_total));
        }
    }

    /// Size and use of the filesystem mounted at `path`, as `df` counts
    /// them: used of what is usable, leaving out the root-reserved blocks.
    fn filesystem(&mut self, path: &str) {
        let Ok(stats) = rustix::fs::statvfs(path) else {
            return;
        };
        let block = stats.f_frsize;
        let total = stats.f_blocks * block;
        let used = stats.f_blocks.saturating_sub(stats.f_bfree) * block;
        let available = stats.f_bavail * block;
        let name = metric_name(path);
        self.add(format_args!("fs.{name}.total"), total as f64);
        self.add(format_args!("fs.{name}.used"), used as f64);
        self.add(format_args!("fs.{name}.free"), available as f64);
        self.add(format_args!("fs.{name}.used_percent"), percent(used, used + available));
    }

    fn cpus(&mut self, before: &[CpuTimes], after: &[CpuTimes]) {
        for cpu in after {
            let Some(old) = before.iter().find(|old| old.name == cpu.name) else { continue };
            let deltas: Vec<u64> =
                cpu.jiffies.iter().zip(&old.jiffies).map(|(new, old)| new.saturating_sub(*old)).collect();
            let total: u64 = deltas.iter().sum();
            if total == 0 {
                continue;
            }
            for (state, delta) in CPU_STATES.iter().zip(&deltas) {
                self.add(format_args!("cpu.{}.{state}", cpu.name), percent(*delta, total));
            }
            // Busy: everything but idle and waiting for I/O.
            self.add(format_args!("cpu.{}.busy", cpu.name), percent(total - deltas[3] - deltas[4], total));
        }
    }

    fn disks(&mut self, before: &[DiskIo], after: &[DiskIo], seconds: f64) {
        for disk in after {
            let Some(old) = before.iter().find(|old| old.name == disk.name) else { continue };
            let rate = |new: u64, old: u64| new.checked_sub(old).map(|delta| delta as f64 / seconds);
            let name = metric_name(&disk.name);
            for (metric, value) in [
                ("reads", rate(disk.reads, old.reads)),
                ("writes", rate(disk.writes, old.writes)),
                ("read_bytes", rate(disk.read_bytes, old.read_bytes)),
                ("write_bytes", rate(disk.written_bytes, old.written_bytes)),
                // Milliseconds busy per second, as a percentage.
                ("busy_percent", rate(disk.busy_ms, old.busy_ms).map(|ms| (ms / 10.0).min(100.0))),
            ] {
                if let Some(value) = value {
                    self.add(format_args!("disk.{name}.{metric}"), value);
                }
            }
        }
    }

    fn nets(&mut self, before: &[NetIo], after: &[NetIo], seconds: f64) {
        for net in after {
            let Some(old) = before.iter().find(|old| old.name == net.name) else { continue };
            let name = metric_name(&net.name);
            for ((metric, new), old) in NET_COUNTERS.iter().zip(net.counters).zip(old.counters) {
                // A counter that went back was reset (the interface came
                // back): no rate this round.
                if let Some(delta) = new.checked_sub(old) {
                    self.add(format_args!("net.{name}.{metric}"), delta as f64 / seconds);
                }
            }
        }
    }
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

/// A mount point, device or interface as one level of a key: `/` is
/// `root`, `/var/lib` is `var_lib`, and anything but letters, digits, `-`
/// and `_` becomes `_` (dots would add levels, spaces would end the key).
pub(super) fn metric_name(name: &str) -> String {
    let trimmed = name.trim_matches('/');
    if trimmed.is_empty() {
        return "root".to_owned();
    }
    trimmed.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_one_safe_level() {
        assert_eq!(metric_name("/"), "root");
        assert_eq!(metric_name("/var/lib/docker"), "var_lib_docker");
        assert_eq!(metric_name("/media/My Disk"), "media_My_Disk");
        assert_eq!(metric_name("eth0.100"), "eth0_100");
    }

    #[test]
    fn rounds_give_gauges_then_rates_with_plausible_values() {
        let mut collector = Collector::new("testhost");
        let first = collector.collect(1000);
        let find = |points: &[Reading], key: &str| points.iter().find(|p| p.key == key).map(|p| p.value);
        assert!(first.iter().all(|p| p.key.starts_with("testhost.") && p.timestamp == 1000));
        let total = find(&first, "testhost.memory.total").unwrap();
        let used = find(&first, "testhost.memory.used").unwrap();
        assert!(used > 0.0 && used < total);
        assert!(find(&first, "testhost.uptime").unwrap() > 0.0);
        assert!(find(&first, "testhost.cpu.total.user").is_none(), "no rates without a previous round");
        std::thread::sleep(std::time::Duration::from_millis(200));
        let second = collector.collect(1010);
        let states: f64 =
            CPU_STATES.iter().map(|s| find(&second, &format!("testhost.cpu.total.{s}")).unwrap()).sum();
        assert!((states - 100.0).abs() < 0.01, "{states}");
        assert!(second.iter().any(|p| p.key.starts_with("testhost.net.lo.rx_bytes")));
        assert!(second.iter().all(|p| p.value.is_finite() && !p.key.contains(char::is_whitespace)));
    }
}
