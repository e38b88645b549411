//! eardrum's points in ClickHouse, over ClickHouse's HTTP interface:
//! scale-out, where eardrum front ends keep only their local write-ahead
//! log and ship points to a ClickHouse cluster (docs/scale-out.md).
//!
//! - [`FrontEnd`]: the server's storage [`Backend`](eardrum_storage::Backend)
//!   over ClickHouse: puts acknowledged from a local log of embedded stores
//!   (outboxes), shipped by a thread, reads merged from ClickHouse and the
//!   outboxes.
//! - [`ClickHouse`]: the database over HTTP: the schema, inserts, and the
//!   reads the front end pages through.
//!
//! Two tables hold the data (created by [`ClickHouse::ensure_schema`] if
//! missing, in the database the URL names):
//!
//! - `points (key String, timestamp Int64, value Float64, version UInt64)`,
//!   a `ReplacingMergeTree(version)` ordered by `(key, timestamp)`. Every
//!   write carries a version that grows with time (see [`Version`]); reads
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
//! `insert_distributed_sync`, TabSeparated input and output. This crate is synchronous (a blocking HTTP agent), as
//! the storage engine is; the server calls it off its async workers.

mod front_end;
mod read;
mod tsv;

pub use front_end::{FrontEnd, DEFAULT_SHIP_INTERVAL};
pub use read::{KeysFrom, VersionedPoint};

use std::io::Read as _;
use std::time::Duration;

/// One point as ClickHouse stores it.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// The series' key.
    pub key: String,
    /// Unix seconds.
    pub timestamp: i64,
    /// The value (NaN and the infinities included).
    pub value: f64,
    /// Which write wins: the highest.
    pub version: u64,
}

/// What can go wrong talking to ClickHouse.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The URL is not `clickhouse://HOST:PORT/DATABASE`.
    #[error("invalid ClickHouse URL {url:?}: {reason} (expected clickhouse://HOST:PORT/DATABASE)")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// ClickHouse could not be reached, or the connection broke.
    #[error("cannot reach ClickHouse at {url}")]
    Unreachable {
        /// The HTTP interface's address.
        url: String,
        /// Why.
        #[source]
        source: ureq::Error,
    },
    /// ClickHouse answered with an error.
    #[error("ClickHouse refused the query ({status}): {message}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// ClickHouse's own message.
        message: String,
    },
    /// A shard of the cluster lacks the local tables: without ZooKeeper,
    /// ClickHouse creates tables only on the node asked.
    #[error(
        "not every shard of cluster {cluster} has the tables {database}.points_local and \
         {database}.series_local ({reason}): start a front end against each node once, or create \
         them there (docs/scale-out.md)"
    )]
    ShardsWithoutTables {
        /// The cluster.
        cluster: String,
        /// The database.
        database: String,
        /// ClickHouse's error.
        reason: String,
    },
    /// A reply did not have the shape asked for.
    #[error("unexpected reply from ClickHouse: {0}")]
    Malformed(String),
}

/// A `Result` whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A ClickHouse database over the HTTP interface.
#[derive(Debug, Clone)]
pub struct ClickHouse {
    agent: ureq::Agent,
    /// `http://HOST:PORT/`.
    base: String,
    database: String,
    /// The cluster whose shards hold the data, if any.
    cluster: Option<String>,
}

impl ClickHouse {
    /// Reads `clickhouse://HOST:PORT/DATABASE` (the HTTP interface's
    /// port, 8123 by default in ClickHouse's own configuration); no
    /// connection is made yet.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidUrl`] for another shape, or a database name that is
    /// not letters, digits and `_`.
    pub fn new(url: &str, timeout: Duration) -> Result<ClickHouse> {
        let invalid = |reason| Error::InvalidUrl { url: url.to_owned(), reason };
        let rest =
            url.strip_prefix("clickhouse://").ok_or_else(|| invalid("it must start with clickhouse://"))?;
        let (address, database) = rest.split_once('/').ok_or_else(|| invalid("the database is missing"))?;
        if address.is_empty() || !address.contains(':') {
            return Err(invalid("it needs a host and a port"));
        }
        if !valid_name(database) {
            return Err(invalid("the database name must be letters, digits and _"));
        }
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .build()
            .new_agent();
        Ok(ClickHouse {
            agent,
            base: format!("http://{address}/"),
            database: database.to_owned(),
            cluster: None,
        })
    }

    /// Spreads the data over the shards of `cluster` (as ClickHouse's
    /// `remote_servers` configuration names it): each node keeps its share
    /// in `points_local` and `series_local`, and `points` and `series`
    /// become `Distributed` tables over them, sharded by key so that all the
    /// points of a key are on one shard. Every front end creates the
    /// schema on the node it talks to.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidUrl`] for a name that is not letters, digits and `_`.
    pub fn with_cluster(mut self, cluster: &str) -> Result<ClickHouse> {
        if !valid_name(cluster) {
            return Err(Error::InvalidUrl {
                url: cluster.to_owned(),
                reason: "a cluster name is letters, digits and _",
            });
        }
        self.cluster = Some(cluster.to_owned());
        Ok(self)
    }

    /// The database's name.
    pub fn database(&self) -> &str {
        &self.database
    }

    /// Where the data is, for logs: the HTTP address, the database and the
    /// cluster if any.
    pub fn describe(&self) -> String {
        match &self.cluster {
            None => format!("{}{}", self.base, self.database),
            Some(cluster) => format!("{}{} (cluster {cluster})", self.base, self.database),
        }
    }

    /// Inserts TabSeparated `rows` into `table` (`points` or `series`).
    ///
    /// # Errors
    ///
    /// As every query; then nothing or all of the rows may be stored, and
    /// sending them again is harmless.
    pub fn insert_rows(&self, table: &str, rows: &[u8]) -> Result<()> {
        self.run(&format!("INSERT INTO {table} FORMAT TabSeparated"), rows).map(drop)
    }

    /// Runs one statement in the database, `body` holding its data if
    /// any, and returns what ClickHouse printed.
    fn run(&self, query: &str, body: &[u8]) -> Result<String> {
        self.run_in(Some(&self.database), query, body)
    }

    /// Runs one statement, in `database` if given (it may not exist yet).
    fn run_in(&self, database: Option<&str>, query: &str, body: &[u8]) -> Result<String> {
        let mut text = String::new();
        self.send(database, query, body)?
            .read_to_string(&mut text)
            .map_err(|e| self.unreachable(e.into()))?;
        Ok(text)
    }

    /// Sends one statement; the reader of ClickHouse's output when it
    /// succeeded, else ClickHouse's message as [`Error::Refused`].
    fn send(&self, database: Option<&str>, query: &str, body: &[u8]) -> Result<impl std::io::Read + use<>> {
        // Inserts into a Distributed table return once every shard has its
        // rows, so that what was acknowledged is there to read; a subquery
        // on a Distributed table inside one reads each shard's own part
        // (`series` and `points` are sharded alike, by key).
        // A statement with data (an insert) goes in the URL, the data in the
        // body; any other in the body, where its length is not limited by
        // the HTTP server's line length (a page of `get *` names a thousand
        // keys).
        let (in_url, body) = match body {
            [] => (None, query.as_bytes()),
            data => (Some(query), data),
        };
        let mut request = self
            .agent
            .post(&self.base)
            .query("insert_distributed_sync", "1")
            .query("distributed_product_mode", "local")
            // A page of `get *` names up to a thousand keys in its query.
            .query("max_query_size", "67108864");
        if let Some(database) = database {
            request = request.query("database", database);
        }
        if let Some(query) = in_url {
            request = request.query("query", query);
        }
        let response = request.send(body).map_err(|source| self.unreachable(source))?;
        let status = response.status().as_u16();
        let mut reader = response.into_body().into_reader();
        if status == 200 {
            return Ok(reader);
        }
        let mut message = String::new();
        reader.read_to_string(&mut message).map_err(|e| self.unreachable(e.into()))?;
        Err(Error::Refused { status, message: message.trim().to_owned() })
    }

    fn unreachable(&self, source: ureq::Error) -> Error {
        Error::Unreachable { url: self.base.clone(), source }
    }

    /// The version of the ClickHouse server.
    ///
    /// # Errors
    ///
    /// [`Error::Unreachable`] when it does not answer.
    pub fn server_version(&self) -> Result<String> {
        Ok(self.run_in(None, "SELECT version()", b"")?.trim().to_owned())
    }

    /// Creates the database and the tables if they are missing, and with a
    /// cluster checks that every shard has its local tables. On
    /// ClickHouse 19.10 and later the points' columns are compressed with
    /// the codecs made for them (see [`points_columns`]).
    ///
    /// # Errors
    ///
    /// As every query.
    pub fn ensure_schema(&self) -> Result<()> {
        self.create_schema()?;
        let Some(cluster) = &self.cluster else {
            return Ok(());
        };
        // Each shard must hold the local tables; ClickHouse creates them on
        // every node only with ZooKeeper (`ON CLUSTER`), so check.
        for table in ["series", "points"] {
            if let Err(error) = self.run(&format!("SELECT count() FROM {table}"), b"") {
                return Err(Error::ShardsWithoutTables {
                    cluster: cluster.clone(),
                    database: self.database.clone(),
                    reason: error.to_string(),
                });
            }
        }
        Ok(())
    }

    /// What [`ensure_schema`](ClickHouse::ensure_schema) creates, on the
    /// node this talks to only, without checking the other shards: for
    /// preparing each node of a cluster.
    ///
    /// # Errors
    ///
    /// As every query.
    pub fn create_schema(&self) -> Result<()> {
        let columns = points_columns(&self.server_version()?);
        let database = &self.database;
        self.run_in(None, &format!("CREATE DATABASE IF NOT EXISTS {database}"), b"")?;
        let (points, series) = match &self.cluster {
            None => ("points", "series"),
            Some(_) => ("points_local", "series_local"),
        };
        self.run(
            &format!(
                "CREATE TABLE IF NOT EXISTS {points} ({columns}) \
                 ENGINE = ReplacingMergeTree(version) PARTITION BY tuple() ORDER BY (key, timestamp)"
            ),
            b"",
        )?;
        self.run(
            &format!(
                "CREATE TABLE IF NOT EXISTS {series} (key String, first_seen UInt64) \
                 ENGINE = MergeTree PARTITION BY tuple() ORDER BY key"
            ),
            b"",
        )?;
        if let Some(cluster) = &self.cluster {
            for (table, local) in [("points", points), ("series", series)] {
                self.run(
                    &format!(
                        "CREATE TABLE IF NOT EXISTS {table} AS {local} \
                         ENGINE = Distributed({cluster}, {database}, {local}, cityHash64(key))"
                    ),
                    b"",
                )?;
            }
        }
        Ok(())
    }

    /// Stores `points` (in one insert: ClickHouse takes large batches best)
    /// and the keys' first-seen times.
    ///
    /// # Errors
    ///
    /// As every query; then nothing or all of the batch may be stored, and
    /// sending it again is harmless.
    pub fn insert(&self, points: &[Point], first_seen: &[(String, u64)]) -> Result<()> {
        if !first_seen.is_empty() {
            let mut rows = String::new();
            for (key, seen) in first_seen {
                tsv::push_series_row(&mut rows, key, *seen);
            }
            self.insert_rows("series", rows.as_bytes())?;
        }
        if points.is_empty() {
            return Ok(());
        }
        let mut rows = String::with_capacity(points.len() * 40);
        for point in points {
            tsv::push_point_row(&mut rows, &point.key, point.timestamp, point.value, point.version);
        }
        self.insert_rows("points", rows.as_bytes())
    }

    /// The points of `key` from `from` through `until`, one per timestamp
    /// (the highest version's), ascending.
    ///
    /// # Errors
    ///
    /// As every query, and [`Error::Malformed`] for a reply without three
    /// fields a row.
    pub fn points(&self, key: &str, from: i64, until: i64) -> Result<Vec<(i64, f64)>> {
        let query = format!(
            "SELECT timestamp, argMax(value, version) FROM points \
             WHERE key = {} AND timestamp >= {from} AND timestamp <= {until} \
             GROUP BY timestamp ORDER BY timestamp FORMAT TabSeparated",
            tsv::sql_string(key)
        );
        let text = self.run(&query, b"")?;
        text.lines()
            .map(|line| {
                let mut fields = line.split('\t');
                let timestamp = fields.next().and_then(|t| t.parse().ok());
                let value = fields.next().and_then(tsv::parse_float);
                timestamp.zip(value).ok_or_else(|| Error::Malformed(format!("row {line:?}")))
            })
            .collect()
    }

    /// Every point, key by key in first-put order, each key's points
    /// ascending: what `get *` answers. `visit` sees them as they arrive.
    ///
    /// # Errors
    ///
    /// As [`points`](ClickHouse::points); rows before a malformed one have
    /// been visited.
    pub fn scan_all(&self, mut visit: impl FnMut(&str, i64, f64)) -> Result<u64> {
        let query = "SELECT key, timestamp, argMax(value, version) AS value FROM points \
                     ANY LEFT JOIN (SELECT key, min(first_seen) AS seen FROM series GROUP BY key) USING key \
                     GROUP BY key, timestamp, seen ORDER BY seen, key, timestamp FORMAT TabSeparated";
        let reader = std::io::BufReader::new(self.send(Some(&self.database), query, b"")?);
        let mut rows = 0;
        for line in std::io::BufRead::lines(reader) {
            let line = line.map_err(|e| self.unreachable(e.into()))?;
            let mut fields = line.split('\t');
            let key = fields.next().map(tsv::unescape);
            let timestamp = fields.next().and_then(|t| t.parse().ok());
            let value = fields.next().and_then(tsv::parse_float);
            let (Some(key), Some(timestamp), Some(value)) = (key, timestamp, value) else {
                return Err(Error::Malformed(format!("row {line:?}")));
            };
            visit(&key, timestamp, value);
            rows += 1;
        }
        Ok(rows)
    }

    /// The keys in first-put order.
    ///
    /// # Errors
    ///
    /// As every query.
    pub fn keys(&self) -> Result<Vec<String>> {
        let text = self.run(
            "SELECT key FROM series GROUP BY key ORDER BY min(first_seen), key FORMAT TabSeparated",
            b"",
        )?;
        Ok(text.lines().map(tsv::unescape).collect())
    }
}

/// The `points` table's columns for a server of `version` (as
/// `version()` prints it). From 19.10, which added the `DoubleDelta`
/// codec, timestamps are stored delta-of-delta then ZSTD-compressed and
/// values ZSTD-compressed: the defaults of ClickHouse's own `TimeSeries`
/// engine, which dropped the XOR (`Gorilla`) codec for values as unreliable
/// in practice. Before 19.10, ClickHouse's default LZ4 alone.
pub fn points_columns(version: &str) -> &'static str {
    let mut numbers = version.split('.').map(|n| n.parse::<u32>().unwrap_or(0));
    let (major, minor) = (numbers.next().unwrap_or(0), numbers.next().unwrap_or(0));
    if (major, minor) >= (19, 10) {
        "key String, timestamp Int64 CODEC(DoubleDelta, ZSTD(1)), value Float64 CODEC(ZSTD(1)), version UInt64"
    } else {
        "key String, timestamp Int64, value Float64, version UInt64"
    }
}

/// A database, table or cluster name ClickHouse takes unquoted.
fn valid_name(name: &str) -> bool {
    name.bytes().next().is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Versions that grow with time on every front end and never tie between
/// two: microseconds since the epoch times 4096, plus the front end's
/// number (0 to 4095). Within one front end each version is above the
/// last, however the clock moves, so two writes to one point keep their
/// order.
#[derive(Debug)]
pub struct Version {
    node: u64,
    last: u64,
}

impl Version {
    /// Versions for front end `node` (taken modulo 4096).
    pub fn new(node: u16) -> Version {
        Version { node: u64::from(node) % 4096, last: 0 }
    }

    /// The next version, from the time now in microseconds since the epoch.
    pub fn next(&mut self, now_micros: u64) -> u64 {
        let micros = now_micros.max((self.last >> 12) + 1);
        self.last = micros << 12 | self.node;
        self.last
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked() {
        let clickhouse =
            ClickHouse::new("clickhouse://127.0.0.1:8123/metrics", Duration::from_secs(1)).unwrap();
        assert_eq!((clickhouse.base.as_str(), clickhouse.database()), ("http://127.0.0.1:8123/", "metrics"));
        for (bad, reason) in [
            ("http://127.0.0.1:8123/metrics", "clickhouse://"),
            ("clickhouse://127.0.0.1:8123", "database is missing"),
            ("clickhouse://127.0.0.1/metrics", "host and a port"),
            ("clickhouse://127.0.0.1:8123/drop table", "letters, digits"),
            ("clickhouse://127.0.0.1:8123/", "letters, digits"),
        ] {
            let error = ClickHouse::new(bad, Duration::from_secs(1)).unwrap_err().to_string();
            assert!(error.contains(reason), "{bad}: {error}");
        }
    }

    #[test]
    fn codecs_are_used_from_the_release_that_has_them() {
        assert!(!points_columns("18.16.1").contains("CODEC"));
        assert!(!points_columns("19.9.2.4").contains("CODEC"));
        assert!(points_columns("19.10.1.5").contains("value Float64 CODEC(ZSTD(1))"));
        assert!(points_columns("24.8.4.13").contains("CODEC(DoubleDelta, ZSTD(1))"));
        assert!(!points_columns("unknown").contains("CODEC"));
    }

    #[test]
    fn versions_grow_and_never_tie_between_front_ends() {
        let (mut a, mut b) = (Version::new(1), Version::new(2));
        let first = a.next(1_000);
        assert!(a.next(1_000) > first, "same microsecond");
        assert!(a.next(500) > first, "the clock went back");
        assert_ne!(a.next(2_000), b.next(2_000));
        assert!(b.next(3_000) > a.next(2_999));
    }
}
