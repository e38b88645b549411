//! `eardrum serve`'s limits on connections and on what one HTTP request
//! may cost: every way in is bounded, and each bound is a flag.

use super::parse::parse_duration;
use clap::builder::RangedU64ValueParser;
use clap::Args;
use eardrum_server::HttpLimits;
use std::time::Duration;

/// The limits, flattened into `serve`'s flags.
#[derive(Debug, Args)]
pub(crate) struct LimitArgs {
    /// Most connections still in their TLS handshake or yet to send the
    /// token; each has --handshake-timeout to finish, and none can take a
    /// --max-connections slot before it has.
    #[arg(long, default_value_t = eardrum_server::DEFAULT_MAX_PENDING_CONNECTIONS, value_parser = RangedU64ValueParser::<usize>::new().range(1..=1_000_000))]
    pub max_pending_connections: usize,
    /// How long a new connection has to finish its TLS handshake and send
    /// the token, e.g. 10s.
    #[arg(long, default_value = "10s", value_parser = positive_duration)]
    pub handshake_timeout: Duration,
    /// Length of each listener's queue of connections not yet accepted
    /// (the kernel caps it at net.core.somaxconn).
    #[arg(long, default_value_t = eardrum_server::DEFAULT_LISTEN_BACKLOG, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub listen_backlog: u32,
    /// Most points one HTTP request may read (raw points, or slots of a
    /// render); past it the request gets a 422 saying how to narrow it.
    #[arg(long, default_value_t = HttpLimits::default().max_points_per_request, value_parser = RangedU64ValueParser::<usize>::new().range(1..))]
    pub max_points_per_request: usize,
    /// Most series one HTTP request may match.
    #[arg(long, default_value_t = HttpLimits::default().max_series_per_request, value_parser = RangedU64ValueParser::<usize>::new().range(1..))]
    pub max_series_per_request: usize,
    /// Largest reply body one HTTP request may send, in bytes (replies
    /// stream: this bounds the transfer, not the memory).
    #[arg(long, default_value_t = HttpLimits::default().max_reply_bytes, value_parser = RangedU64ValueParser::<usize>::new().range(1024..))]
    pub max_reply_bytes: usize,
    /// HTTP reads (finds, listings, points, renders) that run at once; more
    /// wait up to --read-queue-timeout, then get a 503 with Retry-After.
    #[arg(long, default_value_t = HttpLimits::default().max_concurrent_reads, value_parser = RangedU64ValueParser::<usize>::new().range(1..=4096))]
    pub max_concurrent_reads: usize,
    /// How long an HTTP read waits for its turn, e.g. 10s; 0 answers 503 at
    /// once when every slot is taken.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub read_queue_timeout: Duration,
    /// How long an HTTP client has to send a request's head once it has
    /// begun it (and a new connection its first one), e.g. 10s.
    #[arg(long, default_value = "10s", value_parser = positive_duration)]
    pub http_header_timeout: Duration,
    /// How long an HTTP client has to send a request's body, e.g. 30s.
    #[arg(long, default_value = "30s", value_parser = positive_duration)]
    pub http_body_timeout: Duration,
    /// Largest HTTP request body accepted, in bytes.
    #[arg(long, default_value_t = HttpLimits::default().max_body_bytes, value_parser = RangedU64ValueParser::<usize>::new().range(1024..=1024 * 1024 * 1024))]
    pub max_body_bytes: usize,
    /// How long an HTTP connection may sit idle between requests, e.g. 60s.
    #[arg(long, default_value = "60s", value_parser = positive_duration)]
    pub http_keep_alive_timeout: Duration,
}

impl LimitArgs {
    /// The HTTP API's limits these flags set.
    pub(crate) fn http_limits(&self) -> HttpLimits {
        HttpLimits {
            max_points_per_request: self.max_points_per_request,
            max_series_per_request: self.max_series_per_request,
            max_reply_bytes: self.max_reply_bytes,
            max_concurrent_reads: self.max_concurrent_reads,
            read_queue_timeout: self.read_queue_timeout,
            header_timeout: self.http_header_timeout,
            body_timeout: self.http_body_timeout,
            max_body_bytes: self.max_body_bytes,
            keep_alive_timeout: self.http_keep_alive_timeout,
        }
    }
}

/// A duration that must not be zero: a timeout of nothing would close
/// every connection at once.
fn positive_duration(text: &str) -> Result<Duration, String> {
    match parse_duration(text)? {
        duration if duration.is_zero() => Err(format!("{text:?}: this timeout must be longer than 0")),
        duration => Ok(duration),
    }
}

#[cfg(test)]
mod tests {
    use crate::args::{Cli, Command};
    use clap::Parser;
    use std::time::Duration;

    #[test]
    fn the_limits_reach_the_server_config() {
        let cli = Cli::try_parse_from([
            "eardrum",
            "serve",
            "--max-points-per-request",
            "5",
            "--http-header-timeout",
            "2s",
            "--max-pending-connections",
            "7",
        ])
        .unwrap();
        let Command::Serve(serve) = cli.command else { panic!("not serve") };
        let limits = serve.limits.http_limits();
        assert_eq!((limits.max_points_per_request, limits.header_timeout), (5, Duration::from_secs(2)));
        assert_eq!(serve.limits.max_pending_connections, 7);
    }
}
