//! The tables: created where missing, on one node or on each shard of a
//! cluster, with the codecs of the server's release.

use crate::error::{Error, Result};
use crate::ClickHouse;

impl ClickHouse {
    /// Creates the database and the tables if they are missing, and with a
    /// cluster checks that every shard has its local tables. On
    /// ClickHouse 19.10 and later the points' columns are compressed with
    /// the codecs made for them.
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
}

/// The `points` table's columns for a server of `version` (as
/// `version()` prints it). From 19.10, which added the `DoubleDelta`
/// codec, timestamps are stored delta-of-delta then ZSTD-compressed and
/// values ZSTD-compressed: the defaults of ClickHouse's own `TimeSeries`
/// engine, which dropped the XOR (`Gorilla`) codec for values as unreliable
/// in practice. Before 19.10, ClickHouse's default LZ4 alone.
pub(crate) fn points_columns(version: &str) -> &'static str {
    let mut numbers = version.split('.').map(|n| n.parse::<u32>().unwrap_or(0));
    let (major, minor) = (numbers.next().unwrap_or(0), numbers.next().unwrap_or(0));
    if (major, minor) >= (19, 10) {
        "key String, timestamp Int64 CODEC(DoubleDelta, ZSTD(1)), value Float64 CODEC(ZSTD(1)), version UInt64"
    } else {
        "key String, timestamp Int64, value Float64, version UInt64"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codecs_are_used_from_the_release_that_has_them() {
        assert!(!points_columns("18.16.1").contains("CODEC"));
        assert!(!points_columns("19.9.2.4").contains("CODEC"));
        assert!(points_columns("19.10.1.5").contains("value Float64 CODEC(ZSTD(1))"));
        assert!(points_columns("24.8.4.13").contains("CODEC(DoubleDelta, ZSTD(1))"));
        assert!(!points_columns("unknown").contains("CODEC"));
    }
}
