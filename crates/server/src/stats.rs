//! Counters of what the server has done, for logs now and `/metrics` later.

use std::sync::atomic::{AtomicU64, Ordering};

/// Monotonic counters and gauges shared by every connection.
///
/// Updated with relaxed atomics once per read buffer, not per request, so
/// counting costs nothing measurable on the hot path.
#[derive(Debug, Default)]
pub struct Stats {
    /// Connections accepted since start.
    pub connections_accepted: AtomicU64,
    /// Connections closed at once because `max_connections` were open.
    pub connections_refused: AtomicU64,
    /// Connections closed because they sent nothing for `idle_timeout`.
    pub connections_closed_idle: AtomicU64,
    /// Connections open now.
    pub connections_open: AtomicU64,
    /// `put` requests answered `ok`.
    pub puts_stored: AtomicU64,
    /// `get` requests answered.
    pub gets: AtomicU64,
    /// Requests answered with the error reply (malformed, or not stored).
    pub errors: AtomicU64,
    /// Puts refused because their key was longer than `max_key_bytes`
    /// (counted in `errors` too).
    pub keys_too_long: AtomicU64,
    /// Puts refused because their key would have created a series beyond
    /// the store's series limit (counted in `errors` too).
    pub series_refused: AtomicU64,
    /// Times a connection's replies did not fit in its socket's send buffer
    /// (a client slow to read its replies, or not reading them at all): the
    /// connection then reads no more requests until they are written.
    pub reply_stalls: AtomicU64,
    /// Connections closed because their first line was not `auth` with the
    /// right token (or did not come within the handshake timeout), and HTTP
    /// requests refused for a missing or wrong bearer token.
    pub auth_failures: AtomicU64,
    /// Connections whose TLS handshake failed or timed out.
    pub tls_handshake_failures: AtomicU64,
    /// Points stored from the Graphite listener.
    pub graphite_points_stored: AtomicU64,
    /// Graphite points whose log write failed (a full disk): no reply can
    /// say so, so this and the log do.
    pub graphite_points_not_stored: AtomicU64,
    /// Graphite lines that could not be read as a point (malformed,
    /// overlong, or a name over the key limit), skipped.
    pub graphite_lines_rejected: AtomicU64,
}

/// Counts of one read buffer's requests, added to [`Stats`] in one go.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tally {
    pub(crate) puts_stored: u64,
    pub(crate) gets: u64,
    pub(crate) errors: u64,
    pub(crate) keys_too_long: u64,
    pub(crate) series_refused: u64,
}

impl std::ops::AddAssign for Tally {
    fn add_assign(&mut self, other: Tally) {
        self.puts_stored += other.puts_stored;
        self.gets += other.gets;
        self.errors += other.errors;
        self.keys_too_long += other.keys_too_long;
        self.series_refused += other.series_refused;
    }
}

impl Stats {
    pub(crate) fn add(&self, tally: Tally) {
        self.puts_stored.fetch_add(tally.puts_stored, Ordering::Relaxed);
        self.gets.fetch_add(tally.gets, Ordering::Relaxed);
        self.errors.fetch_add(tally.errors, Ordering::Relaxed);
        self.keys_too_long.fetch_add(tally.keys_too_long, Ordering::Relaxed);
        self.series_refused.fetch_add(tally.series_refused, Ordering::Relaxed);
    }
}
