//! The eardrum storage engine: durable, synchronous, no I/O but files.
//!
//! A [`Store`] lives in a data folder. Batches of puts are appended to a
//! write-ahead log ([`wal`]) as one checksummed record per commit (batches
//! staged by several callers share one) before they are applied to memory,
//! so an acknowledged point survives the process being killed; [`SyncMode`]
//! says what also survives a power loss. In memory,
//! series are compressed chunks ([`codec`]); checkpoints write them to block
//! files and delete the log they cover. Opening a store loads the newest
//! checkpoint, replays the log after it, cuts off a torn last write, and
//! refuses any other damage unless [`RecoveryMode::Salvage`] is asked for.
//!
//! # Layout
//!
//! - [`Backend`]: the boundary a server stores through, which [`Store`]
//!   implements and the ClickHouse crate implements over a cluster.
//! - [`Store`]: open, [`put`](Store::put) a batch of [`Sample`]s (or
//!   [`stage`](Store::stage) batches and [`commit`](Store::commit) them together),
//!   [`scan`](Store::scan) or [`scan_some`](Store::scan_some) series
//!   ([`scan_values`](Store::scan_values) with each [`Value`]'s stored
//!   decimal, for readers that print them), [`checkpoint`](Store::checkpoint),
//!   [`stats`](Store::stats), [`close`](Store::close).
//! - `registry`: one id per key in first-put order, the order `get *` uses.
//! - `series`: one series' sealed chunks, open head and out-of-order overlay.
//! - [`codec`]: delta-of-delta timestamps, XOR and decimal values, chunks.
//! - `checkpoint`: block files, the manifest, the three checkpoint phases.
//! - `wal`: the log's format, writer, reader and recovery.
//!
//! There is no async here and no network: the server calls this crate from
//! its own threads.
//!
//! # Example
//!
//! ```
//! use eardrum_storage::{Keys, Options, Sample, Store};
//!
//! let dir = tempfile::tempdir()?;
//! let store = Store::open(dir.path(), Options::default())?;
//! store.put(&[
//!     Sample { key: "palm.cpu", timestamp: 1150864248, value: 23.7 },
//!     Sample { key: "palm.cpu", timestamp: 1150864247, value: 12.0 },
//! ])?;
//! store.close()?;
//!
//! // Everything comes back after a restart, sorted by timestamp.
//! let store = Store::open(dir.path(), Options::default())?;
//! let mut points = Vec::new();
//! store.scan(Keys::One("palm.cpu"), |_, timestamp, value| points.push((timestamp, value)))?;
//! assert_eq!(points, [(1150864247, 12.0), (1150864248, 23.7)]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod backend;
mod checkpoint;
pub mod codec;
mod damaged;
mod disk;
mod error;
mod failpoint;
pub mod names;
mod options;
mod periodic;
mod registry;
pub mod rollup;
mod series;
mod stats;
mod store;
mod value;
mod varint;
pub mod wal;

pub use backend::{Backend, Outcome, Ticket};
pub use disk::OPEN_BLOCK_FILES;
pub use error::{Corruption, Error, Result};
pub use options::{Options, RecoveryMode, RollupLevel, SyncMode, DEFAULT_MEMORY_BUDGET};
pub use registry::SeriesId;
pub use stats::{CheckpointStats, ShippingStats, Stats};
pub use store::{Keys, Sample, ScanCursor, Store};
pub use value::{Decimal, Value};
