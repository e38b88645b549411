//! How a store is opened: durability, recovery, checkpoints and retention.

use crate::wal::DEFAULT_SEGMENT_MAX_BYTES;
use eardrum_graphite::schema::StorageSchemas;
use std::sync::Arc;
use std::time::Duration;

/// When the log is flushed from the operating system to the disk itself.
///
/// Every mode writes each batch to the operating system before the batch
/// returns, so **a killed process never loses an acknowledged point** in any
/// mode. The modes differ only in what a power loss or kernel crash can take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SyncMode {
    /// fsync before every batch is acknowledged (group commit: batches that
    /// arrive while a sync runs share the next one). A power loss loses
    /// nothing acknowledged.
    Always,
    /// fsync in the background once a second, like Redis' `appendfsync
    /// everysec`. A power loss loses at most the points acknowledged in
    /// about the last two seconds: one acknowledged just after a sync began
    /// waits for the next sync to begin and finish (tested at 2 s with
    /// power cuts).
    #[default]
    EverySecond,
    /// Never fsync while running; the operating system writes back when it
    /// likes (typically within 30 s on Linux). A power loss can lose that
    /// much. A clean close still syncs.
    Never,
}

/// What opening does with damage to the data folder: a log that is damaged
/// other than by a torn last write, or ends before what it had synced; a
/// missing or damaged manifest; a damaged block file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RecoveryMode {
    /// Refuse to open, naming the file, the offset and what is wrong: the
    /// damaged part may hold acknowledged points that an operator wants to
    /// inspect first.
    #[default]
    Strict,
    /// Move every damaged file, or damaged tail of one, into
    /// `damaged/<unix time>/` in the data folder (deleting nothing), fall
    /// back to the checkpoint before a damaged one when it is whole, drop
    /// only what cannot be read, log exactly what was dropped, and open:
    /// a server is never stuck unable to start.
    Salvage,
}

/// Settings for [`Store::open`](crate::Store::open).
#[derive(Debug, Clone)]
pub struct Options {
    /// When the log is synced to disk.
    pub sync: SyncMode,
    /// What to do with a damaged log.
    pub recovery: RecoveryMode,
    /// Segment size at which the log starts a new file.
    pub segment_max_bytes: u64,
    /// How often [`SyncMode::EverySecond`] syncs.
    pub sync_interval: Duration,
    /// How often a background checkpoint writes changed windows to block
    /// files and deletes the log they cover; `None` checkpoints only on
    /// [`close`](crate::Store::close) and [`checkpoint`](crate::Store::checkpoint).
    pub checkpoint_interval: Option<Duration>,
    /// Keep points no older than this, measured back from the newest
    /// timestamp ever put; `None` keeps everything. Enforced at checkpoints
    /// in whole two-hour windows, so up to two hours more may be kept.
    /// Rollups may be kept longer ([`RollupLevel::retention`]): a window
    /// past this then keeps only them, and reads of points no longer see it.
    pub retention: Option<Duration>,
    /// Whether [`close`](crate::Store::close) writes a checkpoint, so that
    /// the next open replays almost nothing. Turning it off leaves the whole
    /// log to replay: faster to close, slower to open.
    pub checkpoint_on_close: bool,
    /// The most series the store creates: a put of a new key beyond it is
    /// refused (see [`Ticket::refused`](crate::Ticket::refused)), while keys
    /// that exist keep taking points. Series already in the data folder
    /// are all kept, even past a lowered limit. `None` sets no limit.
    pub max_series: Option<usize>,
    /// The memory the store's points may take: a quarter of it caches
    /// pieces of block files read back. Memory holds the newest two windows
    /// of every series whole (about 16 MB per 10,000 series reporting every
    /// 10 s), or only the newest one while the points in memory take more
    /// than half of this; whatever this is, it holds the newest window, the
    /// keys, and points put into older windows until a checkpoint merges
    /// them. A checkpoint is also started early whenever windows wait to
    /// move out of memory (a backfill outrunning the interval, or memory
    /// over half the budget).
    pub memory_budget: usize,
    /// Whether windows older than the newest two leave memory once a
    /// checkpoint has written them, to be read back from their block files.
    /// `false` keeps every point in memory, for a store that is read after
    /// its folder is renamed (the ClickHouse front end's outboxes, which
    /// are short-lived and renamed when sealed).
    pub history_on_disk: bool,
    /// The steps at which a checkpoint rolls each series' points up
    /// ([`Store::rollups`](crate::Store::rollups)), finest first, and how long
    /// each is kept. Empty for none. Opening refuses levels that break the
    /// rules of [`crate::rollup::check_levels`].
    pub rollups: Vec<RollupLevel>,
    /// Carbon's storage schemas: when given, a checkpoint also stores each
    /// series' archives of the layout its key has ([`Store::archive`]
    /// reads them).
    ///
    /// [`Store::archive`]: crate::Store::archive
    pub storage_schemas: Option<Arc<StorageSchemas>>,
}

/// One step at which a store rolls its points up, and how long it keeps
/// those rollups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RollupLevel {
    /// Seconds a slot: it must divide two hours, and the next level's step.
    pub step: i64,
    /// How long the rollups are kept, measured as
    /// [`Options::retention`] is; at least as long as the level before
    /// them (the raw points for the first). `None`: as long as the level
    /// before.
    pub retention: Option<Duration>,
}

/// The default [`Options::memory_budget`]: 256 MiB.
pub const DEFAULT_MEMORY_BUDGET: usize = 256 * 1024 * 1024;

impl Default for Options {
    fn default() -> Self {
        Options {
            sync: SyncMode::default(),
            recovery: RecoveryMode::default(),
            segment_max_bytes: DEFAULT_SEGMENT_MAX_BYTES,
            sync_interval: Duration::from_secs(1),
            checkpoint_interval: Some(Duration::from_secs(300)),
            retention: None,
            checkpoint_on_close: true,
            max_series: None,
            memory_budget: DEFAULT_MEMORY_BUDGET,
            history_on_disk: true,
            rollups: crate::rollup::DEFAULT_ROLLUP_STEPS
                .iter()
                .map(|&step| RollupLevel { step, retention: None })
                .collect(),
            storage_schemas: None,
        }
    }
}
