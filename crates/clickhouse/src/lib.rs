//! eardrum's points in ClickHouse, over ClickHouse's HTTP interface:
//! scale-out, where eardrum front ends keep only their local write-ahead
//! log and ship points to a ClickHouse cluster (docs/scale-out.md).
//!
//! - [`FrontEnd`]: the server's storage [`Backend`](eardrum_storage::Backend)
//!   over ClickHouse: puts acknowledged from a local log of embedded stores
//!   (outboxes), shipped by a thread, reads merged from ClickHouse and the
//!   outboxes.
//! - [`ClickHouse`]: the database over HTTP (`transport`), the schema
//!   (`schema`), and the paged reads the front end merges (`reads`);
//!   `versions` makes those reads last-write-wins.
//!
//! Two tables hold the data (created by [`ClickHouse::ensure_schema`] if
//! missing, in the database the URL names):
//!
//! - `points (key String, timestamp Int64, value Float64, version UInt64)`,
//!   a `ReplacingMergeTree(version)` ordered by `(key, timestamp)`. Every
//!   write carries a version that grows with time (see `versions`); reads
//!   take the value of the highest version for each key and timestamp
//!   (`argMax`), so a batch sent twice, or a later value for the same point,
//!   gives the same answer as the embedded store's last write wins, before
//!   and after ClickHouse merges parts.
//! - `series (key String, first_seen UInt64)`, a `MergeTree` of when each
//!   key was first put; `get *` lists keys by their smallest `first_seen`,
//!   the embedded store's first-put order. Sent twice, a key keeps its
//!   smallest time.
//!
//! With [`ClickHouse::with_cluster`], both are `Distributed` tables over
//! `points_local` and `series_local` on each shard, sharded by key.
//!
//! Everything here works with ClickHouse 18.16, Debian's package: plain
//! `ReplacingMergeTree`, `argMax`, `ANY LEFT JOIN`, `Distributed` with
//! `insert_distributed_sync`, TabSeparated input and output. This crate is
//! synchronous (a blocking HTTP agent), as the storage engine is; the
//! server calls it off its async workers.

mod error;
mod front_end;
mod reads;
mod schema;
mod transport;
mod tsv;
mod versions;

#[cfg(test)]
mod against_clickhouse;

pub use error::{Error, Result};
pub use front_end::{FrontEnd, DEFAULT_SHIP_INTERVAL};
pub use transport::ClickHouse;
