//! The crate's one error type.

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
    /// A local outbox (the points not yet shipped) could not be read.
    #[error("reading a local outbox")]
    Outbox(#[from] eardrum_storage::Error),
}

/// A `Result` whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
