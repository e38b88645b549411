//! What a store reports about itself.

use serde::{Deserialize, Serialize};

/// A snapshot of the store's size and activity, for monitoring.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Stats {
    /// Distinct keys.
    pub series: u64,
    /// Points held. A point put into a window read from disk counts as new
    /// until the next checkpoint merges it into the window's file, even
    /// when it replaces one there.
    pub points: u64,
    /// Bytes of memory the points and keys take, approximately.
    pub memory_bytes: u64,
    /// Bytes of block files on disk.
    pub block_bytes: u64,
    /// Bytes of log segments on disk.
    pub log_bytes: u64,
    /// Log bytes written since the store was opened.
    pub log_bytes_written: u64,
    /// Log records replayed when the store was opened.
    pub records_replayed: u64,
    /// The memory the points may take
    /// ([`Options::memory_budget`](crate::Options::memory_budget)).
    pub memory_budget_bytes: u64,
    /// Points before this Unix time are read back from block files on
    /// demand; later ones are held in memory. `None` while everything is.
    pub memory_from: Option<i64>,
    /// Two-hour windows read back from block files on demand.
    pub windows_on_disk: u64,
    /// Bytes of block file pieces (indexes, series' runs) cached for reads.
    pub cache_bytes: u64,
    /// Reads of a block file piece that the cache answered.
    pub cache_hits: u64,
    /// Reads of a block file piece that went to the file.
    pub cache_misses: u64,
    /// Checkpoints completed since the store was opened.
    pub checkpoints: u64,
    /// The newest checkpoint completed since opening, if any.
    pub last_checkpoint: Option<CheckpointStats>,
    /// For a backend that ships its points elsewhere (a front end over
    /// ClickHouse): how shipping goes. The figures above are then those of
    /// its local log.
    pub shipping: Option<ShippingStats>,
}

/// How a front end's shipping goes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ShippingStats {
    /// Points sent since start (a point sent again after a failure counts
    /// again).
    pub points_shipped: u64,
    /// Inserts that succeeded since start.
    pub inserts: u64,
    /// Attempts that failed since start.
    pub failed_attempts: u64,
    /// Sealed outboxes waiting to be sent.
    pub outboxes_waiting: u64,
    /// Every point acknowledged before this time (Unix milliseconds) is in
    /// the remote store; 0 until a first round has finished.
    pub caught_up_unix_ms: u64,
    /// How far shipping was behind when these figures were taken: points
    /// acknowledged longer ago than this are in the remote store.
    pub lag_ms: u64,
}

/// What one checkpoint did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CheckpointStats {
    /// Its generation number (one more per checkpoint, kept across restarts).
    pub generation: u64,
    /// When it finished, in Unix milliseconds.
    pub finished_unix_ms: u64,
    /// How long it took, in milliseconds.
    pub duration_ms: u64,
    /// The longest time writers waited on it at once (it copies the
    /// snapshot in batches under the store's lock), in milliseconds.
    pub longest_stall_ms: u64,
    /// Windows whose block files it wrote.
    pub windows_written: u64,
    /// Bytes of block and manifest files it wrote.
    pub bytes_written: u64,
}
