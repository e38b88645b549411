//! What one HTTP request may cost, and how long its connection may take:
//! the budgets that bound every read and the timeouts that govern every
//! connection, with their defaults.

use super::failure::ApiError;
use std::time::Duration;

/// The limits of the HTTP API. Every field has a flag of `eardrum serve`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpLimits {
    /// The most points one request may read (raw points for
    /// `/api/v1/points`, slots for `/render`).
    pub max_points_per_request: usize,
    /// The most series one request may match.
    pub max_series_per_request: usize,
    /// The largest reply body one request may send. Replies stream, so
    /// this bounds the transfer, not the server's memory; it is checked
    /// against a lower bound of the reply before it starts (a 422), and
    /// while it is written (the reply is cut short).
    pub max_reply_bytes: usize,
    /// Reads (finds, series listings, points, renders) that run at once;
    /// more wait for a turn.
    pub max_concurrent_reads: usize,
    /// How long a read waits for its turn before it is answered 503 with
    /// `Retry-After`.
    pub read_queue_timeout: Duration,
    /// How long a client has to send a request's whole head once it has
    /// sent its first byte (and a new connection to send its first head).
    pub header_timeout: Duration,
    /// How long a client has to send a request's whole body.
    pub body_timeout: Duration,
    /// The largest request body accepted (a form POST of targets).
    pub max_body_bytes: usize,
    /// How long a connection may sit between requests before it is closed.
    pub keep_alive_timeout: Duration,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            max_points_per_request: 10_000_000,
            max_series_per_request: 100_000,
            max_reply_bytes: 512 * 1024 * 1024,
            max_concurrent_reads: 4,
            read_queue_timeout: Duration::from_secs(10),
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            max_body_bytes: 2 * 1024 * 1024,
            keep_alive_timeout: Duration::from_secs(60),
        }
    }
}

/// What one request has left to spend, counted down as it reads.
#[derive(Debug, Clone)]
pub(crate) struct Budget {
    points_left: usize,
    series_left: usize,
    limits: HttpLimits,
}

impl Drop for Budget {
    /// A request that read a lot hands the memory back once it is done.
    fn drop(&mut self) {
        let points = self.limits.max_points_per_request - self.points_left;
        let series = self.limits.max_series_per_request - self.series_left;
        if points >= crate::memory::LARGE_READ_POINTS || series >= crate::memory::LARGE_READ_SERIES {
            crate::memory::release_free_memory();
        }
    }
}

impl Budget {
    /// A full budget under `limits`.
    pub(crate) fn new(limits: &HttpLimits) -> Budget {
        Budget {
            points_left: limits.max_points_per_request,
            series_left: limits.max_series_per_request,
            limits: limits.clone(),
        }
    }

    /// Spends `count` series.
    ///
    /// # Errors
    ///
    /// [`ApiError::OverBudget`] past the series budget.
    pub(crate) fn spend_series(&mut self, count: usize) -> Result<(), ApiError> {
        self.series_left = self.series_left.checked_sub(count).ok_or_else(|| {
            ApiError::OverBudget(format!(
                "the request matches more than {} series (--max-series-per-request): \
                 narrow the pattern",
                self.limits.max_series_per_request
            ))
        })?;
        Ok(())
    }

    /// Spends `count` points.
    ///
    /// # Errors
    ///
    /// [`ApiError::OverBudget`] past the points budget.
    pub(crate) fn spend_points(&mut self, count: usize) -> Result<(), ApiError> {
        self.points_left = self.points_left.checked_sub(count).ok_or_else(|| {
            ApiError::OverBudget(format!(
                "the request reads more than {} points (--max-points-per-request): \
                 narrow the pattern or the time range, or ask for a coarser step",
                self.limits.max_points_per_request
            ))
        })?;
        Ok(())
    }

    /// Checks that a reply of `bytes` is within the budget.
    ///
    /// # Errors
    ///
    /// [`ApiError::OverBudget`] past the reply budget.
    pub(crate) fn check_reply(&self, bytes: usize) -> Result<(), ApiError> {
        check_reply_bytes(bytes, self.limits.max_reply_bytes)
    }
}

/// Checks that a reply of `bytes` is at most `max_bytes`
/// (`--max-reply-bytes`), for a budget and for a streamed reply alike.
///
/// # Errors
///
/// [`ApiError::OverBudget`] past it, saying how to narrow the request.
pub(crate) fn check_reply_bytes(bytes: usize, max_bytes: usize) -> Result<(), ApiError> {
    if bytes > max_bytes {
        return Err(ApiError::OverBudget(format!(
            "the reply would be larger than {max_bytes} bytes (--max-reply-bytes): narrow the pattern \
             or the time range, or ask for fewer points (a step, maxDataPoints)"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_refuses_past_each_limit_and_names_its_flag() {
        let limits = HttpLimits {
            max_points_per_request: 10,
            max_series_per_request: 2,
            max_reply_bytes: 100,
            ..HttpLimits::default()
        };
        let mut budget = Budget::new(&limits);
        budget.spend_series(2).unwrap();
        budget.spend_points(10).unwrap();
        budget.check_reply(100).unwrap();
        let message = |error: ApiError| format!("{error:?}");
        assert!(message(budget.spend_series(1).unwrap_err()).contains("--max-series-per-request"));
        assert!(message(budget.spend_points(1).unwrap_err()).contains("--max-points-per-request"));
        assert!(message(budget.check_reply(101).unwrap_err()).contains("--max-reply-bytes"));
    }
}
