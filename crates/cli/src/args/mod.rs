//! The command line, as clap reads it: doc comments become `--help`.

mod client;
mod limits;
mod parse;

pub(crate) use client::{
    AgentArgs, BenchArgs, Endpoint, ExportArgs, FileFormat, GetArgs, ImportArgs, PutArgs, Remote, StatsArgs,
};
pub(crate) use limits::LimitArgs;
#[cfg(test)]
use parse::Timeout;
use parse::{parse_duration, parse_retention, parse_size, Retention};

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

/// The default of `--max-series`: InfluxDB 1.x's default per database
/// too. About half a GiB of series bookkeeping before any point, and
/// room for 10,000 hosts with 100 metrics each.
const DEFAULT_MAX_SERIES: usize = 1_000_000;

/// eardrum: a durable metrics server, its client and shell.
#[derive(Debug, Parser)]
#[command(name = "eardrum", version, about, long_about = None, arg_required_else_help = true)]
pub(crate) struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run the server: the metrics protocol on TCP, stored in a data folder.
    Serve(Box<ServeArgs>),
    /// Store one point.
    Put(PutArgs),
    /// Print the points of a key, or of every key with `*`.
    Get(GetArgs),
    /// An interactive prompt that sends requests and prints replies.
    Shell(Remote),
    /// Load-test a server: pipelined puts of a fleet-shaped workload, then
    /// queries; reports samples/s, latency percentiles and, with --serve, the
    /// server's CPU and memory.
    Bench(BenchArgs),
    /// Print a running server's statistics: series, points, memory and disk
    /// per point, checkpoints, connections (from its HTTP API).
    Stats(StatsArgs),
    /// Collect this host's metrics (CPU, load, memory, swap, filesystems,
    /// disk and network I/O, uptime) every interval and send them to a
    /// server as HOST.METRIC, buffering while it is away.
    Agent(AgentArgs),
    /// Load points from a file (or - for standard input) of `key value
    /// timestamp` lines or CSV, pipelined, with a progress bar.
    Import(ImportArgs),
    /// Write the points of the keys a pattern matches (default: all),
    /// optionally between two times, as `key value timestamp` lines or CSV.
    Export(ExportArgs),
}

/// `eardrum serve`.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on. The default accepts local connections only;
    /// use 0.0.0.0 to accept any.
    #[arg(long, default_value = "127.0.0.1", env = "EARDRUM_HOST")]
    pub host: IpAddr,
    /// TCP port of the metrics protocol.
    #[arg(long, default_value_t = eardrum_server::DEFAULT_PORT, env = "EARDRUM_PORT")]
    pub port: u16,
    /// TCP port of the HTTP API (the dashboard, statistics, series and
    /// points, Graphite's find and render, Prometheus' /metrics), on
    /// the same address; 0 turns it off.
    #[arg(long, default_value_t = eardrum_server::DEFAULT_HTTP_PORT, env = "EARDRUM_HTTP_PORT")]
    pub http_port: u16,
    /// TCP port of the Graphite plaintext listener (`name value timestamp`
    /// lines, no replies), on the same address; 0 turns it off.
    #[arg(long, default_value_t = eardrum_server::DEFAULT_GRAPHITE_PORT, env = "EARDRUM_GRAPHITE_PORT")]
    pub graphite_port: u16,
    /// Folder holding the store; created if missing.
    #[arg(long, default_value = "./eardrum-data", env = "EARDRUM_DATA_DIR")]
    pub data_dir: PathBuf,
    /// When the log is flushed to disk. A killed process never loses an
    /// acknowledged point in any mode; this sets what a power loss can take.
    #[arg(long, value_enum, default_value_t = Fsync::Everysec, env = "EARDRUM_FSYNC")]
    pub fsync: Fsync,
    /// Longest request line accepted, in bytes; a longer one is answered with
    /// the error reply and its connection closed.
    #[arg(long, default_value_t = eardrum_protocol::DEFAULT_MAX_LINE_BYTES, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(16..=64 * 1024 * 1024))]
    pub max_line_bytes: usize,
    /// Longest key a put may create, in bytes; a longer one gets the error
    /// reply.
    #[arg(long, default_value_t = eardrum_server::DEFAULT_MAX_KEY_BYTES, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=64 * 1024 * 1024))]
    pub max_key_bytes: usize,
    /// Most reply bytes a connection buffers before writing them; a client
    /// that pipelines without reading its replies is then slowed by
    /// backpressure (the server stops reading from it).
    #[arg(long, default_value_t = eardrum_server::DEFAULT_MAX_REPLY_BUFFER_BYTES, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1024..=1024 * 1024 * 1024))]
    pub max_reply_buffer_bytes: usize,
    /// Most series the store creates; a put of a new key beyond it gets the
    /// error reply, while existing keys keep working. 0: no limit.
    #[arg(long, default_value_t = DEFAULT_MAX_SERIES)]
    pub max_series: usize,
    /// Most connections open at once, over the protocol, Graphite and HTTP
    /// ports; further ones are closed on accept.
    #[arg(long, default_value_t = eardrum_server::DEFAULT_MAX_CONNECTIONS, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1_000_000))]
    pub max_connections: usize,
    #[command(flatten)]
    pub limits: LimitArgs,
    /// Close a connection that has sent nothing for this long, e.g. 1h, 90s;
    /// 0 never does.
    #[arg(long, default_value = "1h", value_parser = parse_duration)]
    pub idle_timeout: Duration,
    /// Keep points no older than this before the newest timestamp put, e.g.
    /// 30d, 12h, 90m; or keep rollups longer than the raw points, with
    /// tiers: raw=30d,5m=1y,1h=5y (the raw points, then each rollup step,
    /// finest first, each kept at least as long as the one before;
    /// `forever` for ever). Enforced in whole two-hour windows at
    /// checkpoints. Omitted: keep everything, rolled up at 5m and 1h. With
    /// --storage-schemas, its retentions say this instead.
    #[arg(long, value_parser = parse_retention, env = "EARDRUM_RETENTION", conflicts_with = "storage_schemas")]
    pub retention: Option<Retention>,
    /// Memory the points may take, e.g. 256M, 2G: a quarter of it caches
    /// history read back from disk; the newest four hours of every series
    /// are held in memory, or only the newest two while that is over half
    /// of this.
    #[arg(long, default_value = "256M", value_parser = parse_size, env = "EARDRUM_MEMORY_BUDGET")]
    pub memory_budget: usize,
    /// Render series at the steps carbon's storage-schemas.conf in this file
    /// gives them (`[name]`, `pattern = REGEX`, `retentions =
    /// 10s:6h,1m:7d`), as graphite-web over whisper would, from archives
    /// stored as windows are checkpointed; and keep the raw points as long
    /// as the longest first archive, the archives as long as the longest
    /// last one. Omitted: each series' step is read from its points (see
    /// docs/http-api.md).
    #[arg(long, env = "EARDRUM_STORAGE_SCHEMAS", value_name = "FILE")]
    pub storage_schemas: Option<PathBuf>,
    /// With --storage-schemas: how coarser archives are rolled up, carbon's
    /// storage-aggregation.conf (`aggregationMethod`, `xFilesFactor`).
    #[arg(long, env = "EARDRUM_STORAGE_AGGREGATION", value_name = "FILE", requires = "storage_schemas")]
    pub storage_aggregation: Option<PathBuf>,
    /// How often changed data is checkpointed into block files and the log
    /// it covers deleted, e.g. 5m; 0 checkpoints only at shutdown.
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    pub checkpoint_interval: Duration,
    /// Threads serving connections; 0 means half the CPUs, at least 1 and
    /// at most 4: appends to the store are serialised anyway, and idle
    /// threads cost wake-ups (see BENCHMARKS.md).
    #[arg(long, default_value_t = 0, env = "EARDRUM_THREADS")]
    pub threads: usize,
    /// Serve TLS only, on every listener, with this certificate chain (PEM,
    /// leaf first); needs --tls-key.
    #[arg(long, env = "EARDRUM_TLS_CERT", value_name = "PEM_FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM: PKCS#8, PKCS#1 or SEC1).
    #[arg(long, env = "EARDRUM_TLS_KEY", value_name = "PEM_FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Require the token in this file: protocol connections must start with
    /// `auth <token>`, HTTP requests must send `Authorization: Bearer
    /// <token>`. Keep the file readable by the server's user only.
    #[arg(long, env = "EARDRUM_AUTH_TOKEN_FILE", value_name = "FILE")]
    pub auth_token_file: Option<PathBuf>,
    /// If the data folder is damaged (a log damaged other than by a torn
    /// last write, a missing or damaged manifest or block file), move every
    /// damaged file or tail aside into DATA_DIR/damaged/TIME/, fall back
    /// to the previous checkpoint when it is whole, and start with
    /// everything else instead of refusing to start. Nothing is deleted.
    #[arg(long, alias = "salvage-log")]
    pub salvage: bool,
    /// Keep the points in ClickHouse, through its HTTP interface:
    /// clickhouse://HOST:PORT/DATABASE. The server becomes a front end that
    /// keeps only its log of recent puts in --data-dir and ships them (see
    /// docs/scale-out.md). Omitted: the embedded store in --data-dir.
    #[arg(long, env = "EARDRUM_STORAGE", value_name = "URL")]
    pub storage: Option<String>,
    /// With --storage: spread the data over the shards of this ClickHouse
    /// cluster (as its remote_servers configuration names it), creating
    /// local and Distributed tables.
    #[arg(long, env = "EARDRUM_CLICKHOUSE_CLUSTER", value_name = "NAME", requires = "storage")]
    pub clickhouse_cluster: Option<String>,
    /// With --storage: how often puts are shipped to ClickHouse, e.g. 1s,
    /// 200ms: the most other front ends lag behind this one's puts while
    /// ClickHouse is up.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub ship_interval: Duration,
    /// With --storage: how long one ClickHouse request may take.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub clickhouse_timeout: Duration,
}

/// The `--fsync` policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Fsync {
    /// Sync before every acknowledgement (batched): a power loss loses nothing
    /// acknowledged.
    Always,
    /// Sync once a second: a power loss loses at most about the last two
    /// seconds.
    Everysec,
    /// Leave syncing to the operating system: a power loss can lose what it
    /// has not written back yet (typically up to 30 s).
    Never,
}

impl Fsync {
    /// The policy as `--fsync` spells it, for a server this tool starts.
    pub(crate) fn as_flag(self) -> &'static str {
        match self {
            Fsync::Always => "always",
            Fsync::Everysec => "everysec",
            Fsync::Never => "never",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn negative_and_special_values_are_values_not_flags() {
        let cli = Cli::try_parse_from(["eardrum", "put", "k", "-inf", "-5"]).unwrap();
        let Command::Put(put) = cli.command else { panic!("not put") };
        assert_eq!((put.value, put.timestamp), (f64::NEG_INFINITY, Some(-5)));
    }

    #[test]
    fn each_fsync_policy_reads_back_from_its_flag() {
        for policy in Fsync::value_variants() {
            assert_eq!(Fsync::from_str(policy.as_flag(), false), Ok(*policy));
        }
    }

    #[test]
    fn shared_flags_read_alike_in_every_command() {
        let cli = Cli::try_parse_from([
            "eardrum",
            "bench",
            "--port",
            "9000",
            "--timeout",
            "2s",
            "--fsync",
            "never",
        ]);
        let Command::Bench(bench) = cli.unwrap().command else { panic!("not bench") };
        assert_eq!(
            (bench.remote.port, bench.remote.endpoint.timeout),
            (9000, Timeout(Some(Duration::from_secs(2))))
        );
        assert_eq!(bench.fsync, Fsync::Never);
        let cli = Cli::try_parse_from(["eardrum", "stats", "--host", "db1", "--timeout", "0"]).unwrap();
        let Command::Stats(stats) = cli.command else { panic!("not stats") };
        assert_eq!((stats.endpoint.host.as_str(), stats.endpoint.timeout), ("db1", Timeout(None)));
    }

    #[test]
    fn bad_flags_are_clear_errors() {
        for args in [
            &["eardrum", "put", "k", "10,5"][..],
            &["eardrum", "put", "k", "1", "1.5"],
            &["eardrum", "serve", "--fsync", "sometimes"],
            &["eardrum", "serve", "--port", "70000"],
            &["eardrum", "serve", "--host", "localhost:1"],
            &["eardrum", "serve", "--max-line-bytes", "0"],
            &["eardrum", "agent", "--once", "--timeout", "inf"],
            &["eardrum", "get", "k", "--timeout", "nan"],
            &["eardrum", "get", "k", "--timeout", "-1"],
            &["eardrum", "get", "k", "--timeout", "1e300"],
            &["eardrum", "serve", "--idle-timeout", "inf"],
            &["eardrum", "serve", "--handshake-timeout", "-1s"],
            &["eardrum", "serve", "--http-header-timeout", "nan"],
            &["eardrum", "serve", "--http-header-timeout", "0"],
            &["eardrum", "serve", "--max-concurrent-reads", "0"],
            &["eardrum", "bench", "--fsync", "sometimes"],
            &["eardrum", "stats", "--timeout", "soon"],
        ] {
            assert!(Cli::try_parse_from(args).is_err(), "{args:?}");
        }
    }
}
