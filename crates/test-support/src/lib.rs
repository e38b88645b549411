//! What eardrum's tests share, so that no test file includes
//! another crate's by path.
//!
//! - [`server`]: a real server in the test's own runtime, on ports the
//!   system picks, and helpers that talk raw bytes to it.
//! - [`protocol_suite`](mod@protocol_suite): every rule of PROTOCOL.md as one async function
//!   per case, run against any backend by [`protocol_suite!`].
//! - [`fields`]: each number of a snapshot changed in turn, to test that
//!   a reader shows every field.
//! - [`clickhouse`]: Debian's clickhouse-server started on loopback in a
//!   folder of its own, alone or as a cluster. The tests that use it are
//!   `#[ignore = "needs ClickHouse …"]`: `cargo xtask test` installs it and
//!   runs them.
//!
//! Test code: it panics on any failure, which is what a test wants.

#![expect(clippy::unwrap_used, clippy::missing_panics_doc, reason = "test code: a failure is a panic")]

pub mod clickhouse;
pub mod fields;
pub mod protocol_suite;
pub mod server;
