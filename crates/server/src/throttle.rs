//! Logging a repeated error at most once a second, with how many times it
//! happened meanwhile: a full disk or a descriptor limit fails every
//! request, and thousands of identical lines a second would bury the one
//! that says why (and fill the disk that is already full).

use parking_lot::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The shortest time between two lines of one throttled message.
const INTERVAL: Duration = Duration::from_secs(1);

/// One repeated message's throttle.
#[derive(Debug, Default)]
pub(crate) struct Throttle {
    last_logged: Mutex<Option<Instant>>,
    /// Occurrences since the last line.
    suppressed: AtomicU64,
}

impl Throttle {
    /// Whether to log this occurrence: `Some(n)` with how many were not
    /// logged since the last line, `None` to stay silent (it is counted).
    pub(crate) fn allow(&self) -> Option<u64> {
        let now = Instant::now();
        let mut last = self.last_logged.lock();
        if last.is_some_and(|at| now.duration_since(at) < INTERVAL) {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        *last = Some(now);
        Some(self.suppressed.swap(0, Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_logs_once_then_says_how_many_were_left_out() {
        let throttle = Throttle::default();
        assert_eq!(throttle.allow(), Some(0));
        for _ in 0..1000 {
            assert_eq!(throttle.allow(), None);
        }
        *throttle.last_logged.lock() = Some(Instant::now() - INTERVAL);
        assert_eq!(throttle.allow(), Some(1000));
    }
}
