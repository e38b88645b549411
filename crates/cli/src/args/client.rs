//! The flags of the client commands: where the server is and how to reach
//! it (one type each, shared by every command), and each command's own.

use super::parse::{parse_duration, parse_interval, parse_timeout, parse_timestamp, parse_value, Timeout};
use super::Fsync;
use clap::{Args, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;

/// Where a server is and how to reach it: its host, how long to wait, TLS
/// and the token. Every client command takes these flags.
#[derive(Debug, Clone, Args)]
pub(crate) struct Endpoint {
    /// Server host name or address.
    #[arg(long, default_value = "127.0.0.1", env = "EARDRUM_HOST")]
    pub host: String,
    /// How long to wait for connecting and for each reply: seconds (10,
    /// 0.5) or a duration (500ms, 1m); 0 waits forever.
    #[arg(long, default_value = "10", value_parser = parse_timeout)]
    pub timeout: Timeout,
    #[command(flatten)]
    pub security: ClientSecurity,
}

/// A server's protocol port and how to reach it, for the commands that
/// speak the protocol.
#[derive(Debug, Clone, Args)]
pub(crate) struct Remote {
    #[command(flatten)]
    pub endpoint: Endpoint,
    /// The server's protocol port.
    #[arg(long, default_value_t = eardrum_server::DEFAULT_PORT, env = "EARDRUM_PORT")]
    pub port: u16,
}

impl Remote {
    /// The server's address.
    pub(crate) fn address(&self) -> eardrum_client::Address {
        (self.endpoint.host.as_str(), self.port).into()
    }
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

/// `eardrum stats`.
#[derive(Debug, Args)]
pub(crate) struct StatsArgs {
    #[command(flatten)]
    pub endpoint: Endpoint,
    /// The server's HTTP port.
    #[arg(long, default_value_t = eardrum_server::DEFAULT_HTTP_PORT, env = "EARDRUM_HTTP_PORT")]
    pub http_port: u16,
    /// Print the JSON as the server sent it.
    #[arg(long)]
    pub json: bool,
}

/// `eardrum bench`.
#[derive(Debug, Args)]
pub(crate) struct BenchArgs {
    /// The server to load, if not --serve (plain TCP: bench has no TLS).
    #[command(flatten)]
    pub remote: Remote,
    /// Start `eardrum serve` on a fresh temporary data folder and load it
    /// instead; reports its CPU time and peak memory.
    #[arg(long)]
    pub serve: bool,
    /// The --threads of the server --serve starts (0: its default).
    #[arg(long, default_value_t = 0)]
    pub server_threads: usize,
    /// The --fsync policy of the server --serve starts.
    #[arg(long, value_enum, default_value_t = Fsync::Everysec)]
    pub fsync: Fsync,
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
    /// replies) to --port instead, e.g. to compare with another store; no
    /// replies means no latencies and no query phase.
    #[arg(long, conflicts_with = "serve")]
    pub graphite: bool,
    /// Skip the query phase (`get` of one key, then `get *`).
    #[arg(long)]
    pub no_query: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
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
    pub format: Option<FileFormat>,
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
    pub format: FileFormat,
    /// Write to this file instead of standard output.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

/// The formats of `import` and `export` files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum FileFormat {
    /// `key value timestamp` per line, as `eardrum get` prints (a leading
    /// `put ` is allowed, so a protocol transcript imports too).
    Lines,
    /// CSV with a header naming the columns `key`, `timestamp` and `value`
    /// (in any order; other columns are ignored).
    Csv,
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
