//! What a store reports about itself.

/// A snapshot of the store's size and activity, for monitoring.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Distinct keys.
    pub series: u64,
    /// Points held. Out-of-order puts not yet folded into their chunks are
    /// counted as new points even when they replace one.
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
    /// Checkpoints completed since the store was opened.
    pub checkpoints: u64,
    /// The newest checkpoint completed since opening, if any.
    pub last_checkpoint: Option<CheckpointStats>,
}

/// What one checkpoint did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
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

impl Stats {
    /// Bytes on disk, blocks and log together.
    pub fn disk_bytes(&self) -> u64 {
        self.block_bytes + self.log_bytes
    }
}
