//! What the server has done and holds: counters kept by every connection,
//! and [`Stats`], the one snapshot that `/api/v1/stats` serves as JSON,
//! `/metrics` as Prometheus text and `eardrum stats` prints.

use eardrum_storage::Stats as StorageStats;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};

/// Declares the server's counters once: [`Counters`], the atomics that
/// connections update, and [`CounterValues`], a snapshot of them, with the
/// same fields.
macro_rules! counters {
    ($($(#[$doc:meta])* $name:ident,)*) => {
        /// Monotonic counters and gauges shared by every connection.
        ///
        /// Updated with relaxed atomics once per read buffer, not per
        /// request, so counting costs nothing measurable on the hot path.
        #[derive(Debug, Default)]
        pub struct Counters {
            $($(#[$doc])* pub $name: AtomicU64,)*
        }

        /// The [`Counters`] at one moment.
        #[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
        pub struct CounterValues {
            $($(#[$doc])* pub $name: u64,)*
        }

        impl Counters {
            /// Reads every counter (each on its own: they are not taken
            /// together atomically).
            pub fn values(&self) -> CounterValues {
                CounterValues { $($name: self.$name.load(Ordering::Relaxed),)* }
            }
        }
    };
}

counters! {
    /// Connections accepted since start.
    connections_accepted,
    /// Connections closed at once because `max_connections` were open.
    connections_refused,
    /// Connections closed because they sent nothing for `idle_timeout`.
    connections_closed_idle,
    /// Connections open now.
    connections_open,
    /// `put` requests answered `ok`.
    puts_stored,
    /// `get` requests answered.
    gets,
    /// Requests answered with the error reply (malformed, or not stored).
    errors,
    /// Puts refused because their key was longer than `max_key_bytes`
    /// (counted in `errors` too).
    keys_too_long,
    /// Puts refused because their key would have created a series beyond
    /// the store's series limit (counted in `errors` too).
    series_refused,
    /// Times a connection's replies did not fit in its socket's send buffer
    /// (a client slow to read its replies, or not reading them at all): the
    /// connection then reads no more requests until they are written.
    reply_stalls,
    /// Connections closed because their first line was not `auth` with the
    /// right token (or did not come within the handshake timeout), and HTTP
    /// requests refused for a missing or wrong bearer token.
    auth_failures,
    /// Connections whose TLS handshake failed or timed out.
    tls_handshake_failures,
    /// Points stored from the Graphite listener.
    graphite_points_stored,
    /// Graphite points whose log write failed (a full disk): no reply can
    /// say so, so this and the log do.
    graphite_points_not_stored,
    /// Graphite lines that could not be read as a point (malformed,
    /// overlong, or a name over the key limit), skipped.
    graphite_lines_rejected,
}

/// Everything the server reports about itself at one moment.
///
/// Serialized flat: the storage figures, the derived sizes and the counters
/// side by side, as `/api/v1/stats` has always served them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// The store's figures (a front end's: those of its local log, and how
    /// shipping goes).
    #[serde(flatten)]
    pub storage: StorageStats,
    /// Bytes on disk, blocks and log together.
    pub disk_bytes: u64,
    /// Memory per point held (0 without points).
    pub memory_bytes_per_point: f64,
    /// Disk per point held (0 without points).
    pub disk_bytes_per_point: f64,
    /// What the listeners have done since start.
    #[serde(flatten)]
    pub counters: CounterValues,
}

impl Stats {
    /// The derived figures computed from `storage` and `counters`.
    pub fn new(storage: StorageStats, counters: CounterValues) -> Stats {
        let per_point =
            |bytes: u64| if storage.points == 0 { 0.0 } else { bytes as f64 / storage.points as f64 };
        let disk_bytes = storage.block_bytes + storage.log_bytes;
        Stats {
            disk_bytes,
            memory_bytes_per_point: per_point(storage.memory_bytes),
            disk_bytes_per_point: per_point(disk_bytes),
            storage,
            counters,
        }
    }

    /// The fields that [`Stats::new`] computes from the others, which
    /// readers may leave out because they can compute them themselves.
    pub const DERIVED: [&'static str; 3] = ["disk_bytes", "memory_bytes_per_point", "disk_bytes_per_point"];
}

/// Counts of one read buffer's requests, added to [`Counters`] in one go.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tally {
    pub(crate) puts_stored: u64,
    pub(crate) gets: u64,
    pub(crate) errors: u64,
    pub(crate) keys_too_long: u64,
    pub(crate) series_refused: u64,
}

impl std::ops::AddAssign for Tally {
    fn add_assign(&mut self, other: Tally) {
        self.puts_stored += other.puts_stored;
        self.gets += other.gets;
        self.errors += other.errors;
        self.keys_too_long += other.keys_too_long;
        self.series_refused += other.series_refused;
    }
}

impl Counters {
    pub(crate) fn add(&self, tally: Tally) {
        self.puts_stored.fetch_add(tally.puts_stored, Ordering::Relaxed);
        self.gets.fetch_add(tally.gets, Ordering::Relaxed);
        self.errors.fetch_add(tally.errors, Ordering::Relaxed);
        self.keys_too_long.fetch_add(tally.keys_too_long, Ordering::Relaxed);
        self.series_refused.fetch_add(tally.series_refused, Ordering::Relaxed);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use eardrum_storage::{CheckpointStats, ShippingStats};
    use eardrum_test_support::fields::numbered;

    /// Stats with every optional part present and every number distinct.
    pub(crate) fn full_stats() -> Stats {
        let mut storage = StorageStats::default();
        storage.last_checkpoint = Some(CheckpointStats::default());
        storage.shipping = Some(ShippingStats::default());
        storage.memory_from = Some(0);
        numbered(&Stats::new(storage, CounterValues::default()))
    }

    #[test]
    fn the_json_carries_every_field_and_reads_back_the_same() {
        let stats = full_stats();
        let json = serde_json::to_string(&stats).unwrap();
        assert_eq!(serde_json::from_str::<Stats>(&json).unwrap(), stats);
        // Flat, as `/api/v1/stats` has always been.
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert!(value["series"].is_u64() && value["puts_stored"].is_u64(), "{value}");
        assert!(value["last_checkpoint"]["duration_ms"].is_u64(), "{value}");
        // A reader missing a field is told so, not given a zero.
        let mut without = value.clone();
        without.as_object_mut().unwrap().remove("gets");
        let error = serde_json::from_value::<Stats>(without).unwrap_err();
        assert!(error.to_string().contains("missing field `gets`"), "{error}");
    }

    #[test]
    fn the_derived_figures_follow_from_the_others() {
        let mut storage = StorageStats::default();
        (storage.points, storage.memory_bytes, storage.block_bytes, storage.log_bytes) = (4, 10, 6, 2);
        let stats = Stats::new(storage, CounterValues::default());
        assert_eq!(
            (stats.disk_bytes, stats.memory_bytes_per_point, stats.disk_bytes_per_point),
            (8, 2.5, 2.0)
        );
        let empty = Stats::new(StorageStats::default(), CounterValues::default());
        assert_eq!((empty.memory_bytes_per_point, empty.disk_bytes_per_point), (0.0, 0.0));
    }
}
