//! The command line, as clap reads it: doc comments become `--help`.

mod limits;
pub(crate) use limits::LimitArgs;

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
    /// TCP port of the HTTP API (statistics as JSON at /api/v1/stats), on
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
    /// 30d, 12h, 90m; enforced in whole two-hour windows at checkpoints.
    /// Omitted: keep everything.
    #[arg(long, value_parser = parse_duration, env = "EARDRUM_RETENTION")]
    pub retention: Option<Duration>,
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

/// Where the server is, for client commands.
#[derive(Debug, Clone, Args)]
pub(crate) struct Remote {
    /// Server host name or address.
    #[arg(long, default_value = "127.0.0.1", env = "EARDRUM_HOST")]
    pub host: String,
    /// Server port.
    #[arg(long, default_value_t = eardrum_server::DEFAULT_PORT, env = "EARDRUM_PORT")]
    pub port: u16,
    /// Seconds to wait for connecting and for each reply; 0 waits forever.
    #[arg(long, default_value_t = 10.0, value_parser = parse_seconds)]
    pub timeout: f64,
    #[command(flatten)]
    pub security: ClientSecurity,
}

/// TLS and the token, for commands that talk to a server.
#[derive(Debug, Clone, Args)]
pub(crate) struct ClientSecurity {
    /// Connect with TLS, trusting the system's certificate authorities
    /// (for a server started with --tls-cert).
    #[arg(long, env = "EARDRUM_TLS")]
    pub tls: bool,
    /// Connect with TLS, trusting the certificates in this PEM file (a
    /// private CA, or the server's self-signed certificate).
    #[arg(long, env = "EARDRUM_TLS_CA", value_name = "PEM_FILE")]
    pub tls_ca: Option<PathBuf>,
    /// Read the server's shared token from this file and authenticate with
    /// it (for a server started with --auth-token-file).
    #[arg(long, env = "EARDRUM_AUTH_TOKEN_FILE", value_name = "FILE")]
    pub auth_token_file: Option<PathBuf>,
}

/// `eardrum put`.
#[derive(Debug, Args)]
pub(crate) struct PutArgs {
    /// The metric's key, e.g. palm.cpu.
    pub key: String,
    /// The value: any number Python's float() reads (23.7, -1e5, nan, inf).
    #[arg(allow_hyphen_values = true, value_parser = parse_value)]
    pub value: f64,
    /// Unix seconds; now if omitted.
    #[arg(allow_hyphen_values = true, value_parser = parse_timestamp)]
    pub timestamp: Option<i64>,
    #[command(flatten)]
    pub remote: Remote,
}

/// `eardrum bench`.
#[derive(Debug, Args)]
pub(crate) struct BenchArgs {
    /// The server to load, if not --serve.
    #[arg(long, default_value = "127.0.0.1:8888")]
    pub addr: String,
    /// Start `eardrum serve` on a fresh temporary data folder and load it
    /// instead; reports its CPU time and peak memory.
    #[arg(long)]
    pub serve: bool,
    /// The --threads of the server --serve starts (0: its default).
    #[arg(long, default_value_t = 0)]
    pub server_threads: usize,
    /// The --fsync policy of the server --serve starts.
    #[arg(long, default_value = "everysec", value_parser = ["always", "everysec", "never"])]
    pub fsync: String,
    /// Connections, each sending its share of the series.
    #[arg(long, default_value_t = 4)]
    pub connections: usize,
    /// Puts each connection may have unanswered; 1 is strict
    /// request/response.
    #[arg(long, default_value_t = 64)]
    pub window: usize,
    /// Series in the fleet (ten metrics per host).
    #[arg(long, default_value_t = 10_000)]
    pub series: usize,
    /// Points per series, 10 s apart.
    #[arg(long, default_value_t = 100)]
    pub points: u64,
    /// Seed of the workload; the same flags always send the same points.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Stop sending after this long (e.g. 30s) even if points remain.
    #[arg(long, value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Send the points as Graphite plaintext (`key value timestamp`, no
    /// replies) to --addr instead, e.g. to compare with another store; no
    /// replies means no latencies and no query phase.
    #[arg(long, conflicts_with = "serve")]
    pub graphite: bool,
    /// Skip the query phase (`get` of one key, then `get *`).
    #[arg(long)]
    pub no_query: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Authenticate every connection with the token in this file (for a
    /// server started with --auth-token-file).
    #[arg(long, value_name = "FILE", conflicts_with = "serve")]
    pub auth_token_file: Option<PathBuf>,
}

/// `eardrum import`.
#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    #[command(flatten)]
    pub remote: Remote,
    /// The file to load, or - for standard input.
    pub file: String,
    /// The file's format; default: csv for a .csv file, else lines.
    #[arg(long, value_enum)]
    pub format: Option<crate::transfer::FileFormat>,
    /// Skip this many lines first, to go on where an interrupted import
    /// stopped (it prints the number).
    #[arg(long, default_value_t = 0)]
    pub skip_lines: u64,
    /// No progress bar and no summary.
    #[arg(long, short)]
    pub quiet: bool,
}

/// `eardrum export`.
#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    #[command(flatten)]
    pub remote: Remote,
    /// The keys to export: one key, or a pattern with Graphite's rules per
    /// dot-separated level (`palm.*`, `{palm,eardrum}.cpu`); default all.
    pub pattern: Option<String>,
    /// The first time to export (Unix seconds, or relative such as -1h,
    /// -7d); default the oldest point.
    #[arg(long, allow_hyphen_values = true)]
    pub from: Option<String>,
    /// The last time to export, as --from; default the newest point.
    #[arg(long, allow_hyphen_values = true)]
    pub until: Option<String>,
    /// The output's format.
    #[arg(long, value_enum, default_value = "lines")]
    pub format: crate::transfer::FileFormat,
    /// Write to this file instead of standard output.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

/// `eardrum agent`.
#[derive(Debug, Args)]
pub(crate) struct AgentArgs {
    #[command(flatten)]
    pub remote: Remote,
    /// The first level of every key; default: this machine's host name,
    /// with dots and other characters a key level cannot hold made `_`.
    #[arg(long)]
    pub name: Option<String>,
    /// Time between rounds (s, m, h: 10s, 1m).
    #[arg(long, default_value = "10s", value_parser = parse_interval)]
    pub interval: Duration,
    /// Collect one round (two readings a second apart, for the rates), send
    /// it, and exit; fails if the server cannot be reached within --timeout.
    #[arg(long)]
    pub once: bool,
    /// Points kept in memory while the server is away; beyond, the oldest
    /// are dropped (and counted in HOST.agent.dropped).
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub buffer_points: usize,
    /// Keep unsent points in files in this folder instead of memory, so
    /// that they outlive a restart of the agent too.
    #[arg(long, value_name = "DIR")]
    pub spool_dir: Option<PathBuf>,
    /// The most bytes of files in --spool-dir; beyond, the oldest files
    /// are dropped (and counted).
    #[arg(long, default_value_t = 1 << 30, requires = "spool_dir")]
    pub spool_max_bytes: u64,
}

fn parse_interval(text: &str) -> Result<Duration, String> {
    let interval = parse_duration(text)?;
    match interval.is_zero() {
        true => Err("the interval must be at least a second".to_owned()),
        false => Ok(interval),
    }
}

/// `eardrum stats`.
#[derive(Debug, Args)]
pub(crate) struct StatsArgs {
    /// Server host name or address.
    #[arg(long, default_value = "127.0.0.1", env = "EARDRUM_HOST")]
    pub host: String,
    /// The server's HTTP port.
    #[arg(long, default_value_t = eardrum_server::DEFAULT_HTTP_PORT, env = "EARDRUM_HTTP_PORT")]
    pub http_port: u16,
    /// Print the JSON as the server sent it.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub security: ClientSecurity,
}

/// `eardrum get`.
#[derive(Debug, Args)]
pub(crate) struct GetArgs {
    /// The key to read, or `*` for every key.
    pub key: String,
    /// Print JSON: {"key": [[timestamp, value], ...]}, non-finite values as
    /// the strings "nan", "inf" and "-inf".
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub remote: Remote,
}

/// Reads a number of seconds such as `10` or `0.5`: finite, not negative.
fn parse_seconds(text: &str) -> Result<f64, String> {
    text.parse::<f64>()
        .ok()
        .filter(|seconds| {
            seconds.is_finite() && *seconds >= 0.0 && Duration::try_from_secs_f64(*seconds).is_ok()
        })
        .ok_or_else(|| format!("{text:?} is not a number of seconds such as 10 or 0.5 (0: wait forever)"))
}

/// Reads `90`, `90s`, `15m`, `12h`, `30d` or `2w`.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let millis_per_unit: u64 = match unit {
        "ms" => 1,
        "" | "s" => 1000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 7 * 86_400_000,
        _ => return Err(format!("{text:?}: the unit must be ms, s, m, h, d or w (e.g. 30d)")),
    };
    number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(millis_per_unit))
        .map(Duration::from_millis)
        .ok_or_else(|| format!("{text:?} is not a duration such as 90s, 15m, 12h or 30d"))
}

fn parse_value(text: &str) -> Result<f64, String> {
    eardrum_protocol::parse_value(text.as_bytes())
        .ok_or_else(|| format!("{text:?} is not a number (try 23.7, -1e5, nan or inf)"))
}

fn parse_timestamp(text: &str) -> Result<i64, String> {
    eardrum_protocol::parse_timestamp(text.as_bytes())
        .ok_or_else(|| format!("{text:?} is not a whole number of Unix seconds"))
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
    fn durations_take_units() {
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("30d"), Ok(Duration::from_secs(30 * 86_400)));
        for bad in ["", "d", "1.5h", "10y", "-1h", "99999999999999999999w"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
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
        ] {
            assert!(Cli::try_parse_from(args).is_err(), "{args:?}");
        }
    }
}
