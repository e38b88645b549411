//! The wall clock in the protocol's unit, Unix time: the timestamp of a put
//! sent without one, and what relative times count from.
//!
//! The workspace's one reading of the clock: a clock set before 1970 reads
//! as the epoch, one beyond what the type holds as its largest value.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The time since the Unix epoch.
pub fn since_unix_epoch() -> Duration {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default()
}

/// Now, in whole Unix seconds.
pub fn unix_seconds() -> i64 {
    i64::try_from(since_unix_epoch().as_secs()).unwrap_or(i64::MAX)
}

/// Now, in Unix milliseconds.
pub fn unix_millis() -> u64 {
    u64::try_from(since_unix_epoch().as_millis()).unwrap_or(u64::MAX)
}

/// Now, in Unix microseconds.
pub fn unix_micros() -> u64 {
    u64::try_from(since_unix_epoch().as_micros()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_units_agree() {
        let (seconds, millis, micros) = (unix_seconds(), unix_millis(), unix_micros());
        // 2020-01-01 or later, and each reading no earlier than the last.
        assert!(seconds > 1_577_836_800, "{seconds}");
        assert!(millis / 1000 >= seconds as u64 && micros / 1000 >= millis, "{seconds} {millis} {micros}");
    }
}
