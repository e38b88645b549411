//! Reading the host from Linux's /proc: CPU times, load, memory, mounted
//! filesystems, disk and network counters, uptime. Each file is parsed by
//! a plain function of its text, so the parsers are tested on fixed
//! samples; a line that does not parse is skipped, never fatal (kernels
//! add fields over the years).
//!
//! /proc rather than a crate such as `sysinfo`: the agent sends the
//! kernel's raw counters under the kernel's own names (CPU jiffies by each
//! of the eight states, sectors and operations per block device), which
//! such crates fold into their own figures, and each file here is a few
//! lines of text to read.

use std::collections::HashSet;

/// The CPU states of /proc/stat, in its order.
pub(super) const CPU_STATES: [&str; 8] =
    ["user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal"];

/// One CPU line of /proc/stat: `total` for the sum over all, else the
/// core's number.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct CpuTimes {
    pub name: String,
    /// Jiffies spent in each of [`CPU_STATES`] since boot.
    pub jiffies: [u64; 8],
}

pub(super) fn parse_stat(text: &str) -> Vec<CpuTimes> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let label = fields.next()?.strip_prefix("cpu")?;
            let name = if label.is_empty() { "total".to_owned() } else { label.to_owned() };
            let mut jiffies = [0u64; 8];
            for slot in &mut jiffies {
                // Old kernels have fewer states: the missing ones are zero.
                *slot = fields.next().map_or(Ok(0), str::parse).ok()?;
            }
            Some(CpuTimes { name, jiffies })
        })
        .collect()
}

/// The 1, 5 and 15 minute load averages.
pub(super) fn parse_loadavg(text: &str) -> Option<[f64; 3]> {
    let mut fields = text.split_whitespace().map(str::parse::<f64>);
    Some([fields.next()?.ok()?, fields.next()?.ok()?, fields.next()?.ok()?])
}

/// Seconds since boot.
pub(super) fn parse_uptime(text: &str) -> Option<f64> {
    text.split_whitespace().next()?.parse().ok()
}

/// /proc/meminfo, in bytes.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Memory {
    pub total: u64,
    pub free: u64,
    pub available: u64,
    pub buffers: u64,
    pub cached: u64,
    pub swap_total: u64,
    pub swap_free: u64,
}

pub(super) fn parse_meminfo(text: &str) -> Memory {
    let mut memory = Memory::default();
    for line in text.lines() {
        let mut fields = line.split_whitespace();
        let (Some(name), Some(Ok(kib))) = (fields.next(), fields.next().map(str::parse::<u64>)) else {
            continue;
        };
        let bytes = kib * 1024;
        match name {
            "MemTotal:" => memory.total = bytes,
            "MemFree:" => memory.free = bytes,
            "MemAvailable:" => memory.available = bytes,
            "Buffers:" => memory.buffers = bytes,
            "Cached:" => memory.cached = bytes,
            "SwapTotal:" => memory.swap_total = bytes,
            "SwapFree:" => memory.swap_free = bytes,
            _ => {}
        }
    }
    memory
}

/// A mounted filesystem backed by a device.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Mount {
    pub device: String,
    pub path: String,
}

/// The filesystems of /proc/mounts that are on a block device (`/dev/…`),
/// each device once (bind mounts repeat it), loop devices left out (snap
/// images and the like are read-only and always full).
pub(super) fn parse_mounts(text: &str) -> Vec<Mount> {
    let mut seen = HashSet::new();
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let (device, path) = (fields.next()?, fields.next()?);
            let real = device.starts_with("/dev/") && !device.starts_with("/dev/loop");
            (real && seen.insert(device.to_owned()))
                .then(|| Mount { device: device.to_owned(), path: unescape_octal(path) })
        })
        .collect()
}

/// /proc/mounts writes a space in a path as `\040` (and tab, newline and
/// backslash likewise).
fn unescape_octal(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|d| bytes[i] == b'\\' && d.iter().all(|b| (b'0'..=b'7').contains(b)));
        match octal {
            Some(digits) => {
                out.push(digits.iter().fold(0u8, |acc, d| acc.wrapping_mul(8).wrapping_add(d - b'0')));
                i += 4;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// One block device's counters from /proc/diskstats.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct DiskIo {
    pub name: String,
    pub reads: u64,
    pub writes: u64,
    pub read_bytes: u64,
    pub written_bytes: u64,
    /// Milliseconds the device had I/O in flight.
    pub busy_ms: u64,
}

/// The devices of /proc/diskstats that `wanted` keeps.
pub(super) fn parse_diskstats(text: &str, wanted: impl Fn(&str) -> bool) -> Vec<DiskIo> {
    const SECTOR: u64 = 512;
    text.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let name = *fields.get(2)?;
            if !wanted(name) {
                return None;
            }
            let number = |index: usize| fields.get(index).and_then(|f| f.parse::<u64>().ok());
            Some(DiskIo {
                name: name.to_owned(),
                reads: number(3)?,
                read_bytes: number(5)? * SECTOR,
                writes: number(7)?,
                written_bytes: number(9)? * SECTOR,
                busy_ms: number(12)?,
            })
        })
        .collect()
}

/// The counters of /proc/net/dev the agent reports, in this order.
pub(super) const NET_COUNTERS: [&str; 8] = [
    "rx_bytes",
    "rx_packets",
    "rx_errors",
    "rx_dropped",
    "tx_bytes",
    "tx_packets",
    "tx_errors",
    "tx_dropped",
];

/// One interface's counters from /proc/net/dev.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct NetIo {
    pub name: String,
    /// In the order of [`NET_COUNTERS`].
    pub counters: [u64; 8],
}

pub(super) fn parse_net_dev(text: &str) -> Vec<NetIo> {
    text.lines()
        .filter_map(|line| {
            let (name, rest) = line.split_once(':')?;
            let fields: Vec<u64> = rest.split_whitespace().map(str::parse).collect::<Result<_, _>>().ok()?;
            // Receive: bytes packets errs drop fifo frame compressed
            // multicast; then transmit: bytes packets errs drop ...
            let pick = |i: usize| fields.get(i).copied();
            Some(NetIo {
                name: name.trim().to_owned(),
                counters: [pick(0)?, pick(1)?, pick(2)?, pick(3)?, pick(8)?, pick(9)?, pick(10)?, pick(11)?],
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_files_parse_into_counters() {
        let stat =
            "cpu  10 1 5 100 2 0 1 0 0 0\ncpu0 6 1 3 50 1 0 1 0 0 0\ncpu1 4 0 2 50 1 0 0\nintr 1 2 3\n";
        let cpus = parse_stat(stat);
        assert_eq!(cpus.len(), 3);
        assert_eq!(cpus[0], CpuTimes { name: "total".into(), jiffies: [10, 1, 5, 100, 2, 0, 1, 0] });
        assert_eq!((cpus[2].name.as_str(), cpus[2].jiffies[7]), ("1", 0), "an older kernel's shorter line");

        assert_eq!(parse_loadavg("0.52 0.58 0.59 1/467 12345\n"), Some([0.52, 0.58, 0.59]));
        assert_eq!(parse_uptime("350735.47 234388.90\n"), Some(350735.47));

        let meminfo = "MemTotal:       16314672 kB\nMemFree:         1234567 kB\nMemAvailable:    8000000 kB\n\
                       Buffers:          100000 kB\nCached:          4000000 kB\nSwapCached:            0 kB\n\
                       SwapTotal:       2097148 kB\nSwapFree:        2097148 kB\nHugePages_Total:       0\n";
        let memory = parse_meminfo(meminfo);
        assert_eq!(
            (memory.total, memory.available, memory.swap_free),
            (16314672 * 1024, 8000000 * 1024, 2097148 * 1024)
        );

        let mounts = "proc /proc proc rw 0 0\n/dev/vda / ext4 rw 0 0\n/dev/vda /var/lib/docker ext4 rw 0 0\n\
                      /dev/loop3 /snap/core/1 squashfs ro 0 0\n/dev/sdb1 /media/My\\040Disk vfat rw 0 0\n";
        let paths: Vec<String> = parse_mounts(mounts).into_iter().map(|m| m.path).collect();
        assert_eq!(paths, ["/", "/media/My Disk"]);

        let diskstats = "   7       0 loop0 1 0 2 0 3 0 4 0 0 5 6 0 0 0 0\n 253       0 vda 100 5 800 40 200 9 1600 90 0 120 130\n";
        let disks = parse_diskstats(diskstats, |name| !name.starts_with("loop"));
        assert_eq!(
            disks,
            [DiskIo {
                name: "vda".into(),
                reads: 100,
                writes: 200,
                read_bytes: 409_600,
                written_bytes: 819_200,
                busy_ms: 120
            }]
        );

        let net = "Inter-|   Receive |  Transmit\n face |bytes packets errs drop fifo frame compressed multicast|bytes\n\
                   \x20 eth0: 1000 10 1 2 0 0 0 0 2000 20 3 4 0 0 0 0\n";
        assert_eq!(
            parse_net_dev(net),
            [NetIo { name: "eth0".into(), counters: [1000, 10, 1, 2, 2000, 20, 3, 4] }]
        );
    }
}
