//! Graphite's render language as graphite-web 1.1.10 speaks it, with no
//! I/O: what `/render` needs besides reading the points.
//!
//! - [`pattern`]: name patterns (`palm.*.{cpu,mem}`), level by level,
//!   with limits on their expansion.
//! - [`time`]: `from`/`until` (Unix seconds, `now`, offsets such as `-1h`,
//!   dates), the one grammar of durations (also the CLI's flags),
//!   aggregations and consolidation into buckets.
//! - [`expr`]: target expressions (`sumSeries(a.*,b.{x,y})`) parsed into a
//!   tree, with limits on length and nesting.
//! - [`series`]: a rendered series (values at a fixed step, NaN for
//!   graphite's `None`), whisper's slot alignment and step inference.
//! - [`schema`]: carbon's `storage-schemas.conf` and
//!   `storage-aggregation.conf`, and whisper's archives made from raw points.
//! - [`tags`]: tagged series (`disk.used;dc=east`) and the tag
//!   expressions of `seriesByTag` and `/tags`.
//! - [`functions`]: evaluating an expression over series a caller fetches,
//!   with graphite-web's names, tags and values.
//!
//! The server (`eardrum-server`'s `http::render`) reads the points, calls
//! [`functions::evaluate`] and writes the JSON; the differential test
//! there compares the answers with graphite-web's own.

pub mod expr;
pub mod functions;
pub mod pattern;
pub mod schema;
pub mod series;
pub mod tags;
pub mod time;
