//! The benchmark workload: a fleet of hosts reporting every 10 s, shared by
//! `eardrum bench` and the storage crate's benchmarks and examples.
//!
//! Each host reports ten metrics, named `host<N>.<metric>`: four gauges
//! with one or two decimals that wander and are unchanged 40 % of the time,
//! three counters with random increments, and three constants. One report in
//! twenty is a second early or late, as agents drift. Everything follows
//! from the seed, so a run can be repeated exactly and its points checked.
//!
//! ```
//! use eardrum_workload::Fleet;
//!
//! let mut fleet = Fleet::new(20, 7);
//! assert_eq!(fleet.key(12), "host1.load.1m");
//! let (timestamp, value) = fleet.next_point(12, 0);
//! assert!((1_699_999_999..=1_700_000_001).contains(&timestamp));
//! assert!((0.0..=16.0).contains(&value));
//! ```

/// What one metric does over time.
#[derive(Debug, Clone, Copy)]
enum Shape {
    /// Wanders by up to `step` hundredths within `0..=max`; printed with
    /// `decimals` decimals.
    Gauge { max: i64, step: i64, decimals: u32 },
    /// Grows by a random amount in `min..=max` every interval.
    Counter { min: i64, max: i64 },
    /// Never changes.
    Constant(f64),
}

const METRICS: [(&str, Shape); 10] = [
    ("cpu.user", Shape::Gauge { max: 10_000, step: 300, decimals: 1 }),
    ("cpu.system", Shape::Gauge { max: 10_000, step: 100, decimals: 1 }),
    ("load.1m", Shape::Gauge { max: 1_600, step: 20, decimals: 2 }),
    ("memory.used_percent", Shape::Gauge { max: 10_000, step: 20, decimals: 1 }),
    ("net.rx_bytes", Shape::Counter { min: 2_000, max: 60_000 }),
    ("net.tx_bytes", Shape::Counter { min: 1_000, max: 20_000 }),
    ("disk.io_ops", Shape::Counter { min: 0, max: 300 }),
    ("memory.total_bytes", Shape::Constant(17_179_869_184.0)),
    ("cpu.count", Shape::Constant(8.0)),
    ("disk.total_bytes", Shape::Constant(512_110_190_592.0)),
];

/// The first timestamp of every run.
pub const START_TIMESTAMP: i64 = 1_700_000_000;
/// Seconds between a series' reports.
pub const INTERVAL_SECONDS: i64 = 10;

/// A deterministic fleet of `series` series (ten per host).
#[derive(Debug, Clone)]
pub struct Fleet {
    keys: Vec<String>,
    state: Vec<i64>,
    random: SplitMix,
}

impl Fleet {
    /// A fleet of `series` series, generated from `seed`.
    pub fn new(series: usize, seed: u64) -> Fleet {
        let keys = (0..series)
            .map(|i| format!("host{}.{}", i / METRICS.len(), METRICS[i % METRICS.len()].0))
            .collect();
        let mut random = SplitMix(seed);
        let state = (0..series)
            .map(|i| match METRICS[i % METRICS.len()].1 {
                Shape::Gauge { max, .. } => random.below(max as u64 + 1) as i64,
                Shape::Counter { .. } => random.below(1 << 30) as i64,
                Shape::Constant(_) => 0,
            })
            .collect();
        Fleet { keys, state, random }
    }

    /// How many series there are.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the fleet has no series.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The key of series `index`.
    ///
    /// # Panics
    ///
    /// When `index` is not below [`Fleet::len`].
    pub fn key(&self, index: usize) -> &str {
        &self.keys[index]
    }

    /// The next point of series `index`, its `step`-th report: the
    /// timestamp (10 s steps, sometimes a second off) and the value.
    /// Call it with increasing `step` per series.
    ///
    /// # Panics
    ///
    /// When `index` is not below [`Fleet::len`].
    pub fn next_point(&mut self, index: usize, step: u64) -> (i64, f64) {
        let jitter = match self.random.below(40) {
            0 => -1,
            1 => 1,
            _ => 0,
        };
        let timestamp = START_TIMESTAMP + step as i64 * INTERVAL_SECONDS + jitter;
        let state = &mut self.state[index];
        let value = match METRICS[index % METRICS.len()].1 {
            Shape::Gauge { max, step, decimals } => {
                if self.random.below(10) < 6 {
                    let delta = self.random.below(2 * step as u64 + 1) as i64 - step;
                    *state = (*state + delta).clamp(0, max);
                }
                if decimals == 1 {
                    (*state / 10) as f64 / 10.0
                } else {
                    *state as f64 / 100.0
                }
            }
            Shape::Counter { min, max } => {
                *state += min + self.random.below((max - min + 1) as u64) as i64;
                *state as f64
            }
            Shape::Constant(value) => value,
        };
        (timestamp, value)
    }
}

/// SplitMix64: tiny, fast, and good enough for workloads.
#[derive(Debug, Clone)]
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound.max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_points() {
        let (mut a, mut b) = (Fleet::new(30, 1), Fleet::new(30, 1));
        for step in 0..50 {
            for series in 0..30 {
                assert_eq!(a.next_point(series, step).1.to_bits(), b.next_point(series, step).1.to_bits());
            }
        }
    }

    #[test]
    fn values_keep_their_shape() {
        let mut fleet = Fleet::new(10, 3);
        let mut previous_counter = 0.0;
        for step in 0..200 {
            let gauge = fleet.next_point(0, step).1;
            assert!((0.0..=100.0).contains(&gauge) && (gauge * 10.0).fract().abs() < 1e-9);
            let counter = fleet.next_point(4, step).1;
            assert!(counter >= previous_counter + 2_000.0);
            previous_counter = counter;
            assert_eq!(fleet.next_point(8, step).1, 8.0);
        }
    }
}
