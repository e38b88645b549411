//! The connection to ClickHouse: its HTTP interface, one statement per
//! request, ClickHouse's errors as [`Error`]s.

use crate::error::{Error, Result};
use std::io::Read as _;
use std::time::Duration;

/// A ClickHouse database over the HTTP interface.
#[derive(Debug, Clone)]
pub struct ClickHouse {
    pub(crate) agent: ureq::Agent,
    /// `http://HOST:PORT/`.
    pub(crate) base: String,
    pub(crate) database: String,
    /// The cluster whose shards hold the data, if any.
    pub(crate) cluster: Option<String>,
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

    /// The version of the ClickHouse server.
    ///
    /// # Errors
    ///
    /// [`Error::Unreachable`] when it does not answer.
    pub fn server_version(&self) -> Result<String> {
        Ok(self.run_in(None, "SELECT version()", b"")?.trim().to_owned())
    }

    /// Inserts TabSeparated `rows` into `table` (`points` or `series`).
    ///
    /// # Errors
    ///
    /// As every query; then nothing or all of the rows may be stored, and
    /// sending them again is harmless.
    pub(crate) fn insert_rows(&self, table: &str, rows: &[u8]) -> Result<()> {
        self.run(&format!("INSERT INTO {table} FORMAT TabSeparated"), rows).map(drop)
    }

    /// Runs one statement in the database, `body` holding its data if
    /// any, and returns what ClickHouse printed.
    pub(crate) fn run(&self, query: &str, body: &[u8]) -> Result<String> {
        self.run_in(Some(&self.database), query, body)
    }

    /// Runs one statement, in `database` if given (it may not exist yet).
    pub(crate) fn run_in(&self, database: Option<&str>, query: &str, body: &[u8]) -> Result<String> {
        let mut text = String::new();
        self.send(database, query, body)?
            .read_to_string(&mut text)
            .map_err(|e| self.unreachable(e.into()))?;
        Ok(text)
    }

    /// Sends one statement; the reader of ClickHouse's output when it
    /// succeeded, else ClickHouse's message as [`Error::Refused`].
    pub(crate) fn send(
        &self,
        database: Option<&str>,
        query: &str,
        body: &[u8],
    ) -> Result<impl std::io::Read + use<>> {
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

    pub(crate) fn unreachable(&self, source: ureq::Error) -> Error {
        Error::Unreachable { url: self.base.clone(), source }
    }
}

/// A database, table or cluster name ClickHouse takes unquoted.
pub(crate) fn valid_name(name: &str) -> bool {
    name.bytes().next().is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
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
}
