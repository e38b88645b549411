//! Which staged batches were stored: decided by commits, in order, and read
//! by whoever waits for one.

use crate::Outcome;
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::ops::RangeInclusive;
use std::sync::atomic::{AtomicU64, Ordering};

/// Failed ranges remembered; a waiter older than all of them is told its
/// batch failed, which is safe (an error reply never claims a point that
/// is missing) and needs this many failed commits while it waits.
const FAILURES_KEPT: usize = 4096;

/// The fate of every staged batch, by sequence number.
#[derive(Debug, Default)]
pub(super) struct Decisions {
    /// Every batch up to this one is decided.
    decided_through: AtomicU64,
    failures: Mutex<Failures>,
}

#[derive(Debug, Default)]
struct Failures {
    /// Batches whose commit failed, oldest first, adjacent ones merged.
    ranges: VecDeque<RangeInclusive<u64>>,
    /// Ranges up to here were dropped to bound memory.
    forgotten_through: u64,
}

impl Decisions {
    /// `batches` were stored. Commits decide in sequence order.
    pub(super) fn stored(&self, batches: &RangeInclusive<u64>) {
        self.decided_through.fetch_max(*batches.end(), Ordering::Release);
    }

    /// `batches` were not stored.
    pub(super) fn failed(&self, batches: &RangeInclusive<u64>) {
        let mut failures = self.failures.lock();
        match failures.ranges.back_mut() {
            Some(last) if last.end() + 1 == *batches.start() => *last = *last.start()..=*batches.end(),
            _ => failures.ranges.push_back(batches.clone()),
        }
        if failures.ranges.len() > FAILURES_KEPT {
            if let Some(oldest) = failures.ranges.pop_front() {
                failures.forgotten_through = *oldest.end();
            }
        }
        // Published after the failure is recorded, so a reader that sees the
        // batch decided also sees that it failed.
        self.decided_through.fetch_max(*batches.end(), Ordering::Release);
    }

    /// What became of batch `seq`.
    pub(super) fn outcome(&self, seq: u64) -> Outcome {
        if seq > self.decided_through.load(Ordering::Acquire) {
            return Outcome::Pending;
        }
        let failures = self.failures.lock();
        match seq <= failures.forgotten_through || failures.ranges.iter().any(|r| r.contains(&seq)) {
            true => Outcome::Failed,
            false => Outcome::Stored,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_are_undecided_until_a_commit_covers_them() {
        let decisions = Decisions::default();
        assert_eq!(decisions.outcome(1), Outcome::Pending);
        decisions.stored(&(1..=3));
        decisions.failed(&(4..=4));
        decisions.failed(&(5..=6));
        decisions.stored(&(7..=7));
        let outcomes: Vec<_> = (1..=8).map(|seq| decisions.outcome(seq)).collect();
        let (stored, failed) = (Outcome::Stored, Outcome::Failed);
        assert_eq!(outcomes, [stored, stored, stored, failed, failed, failed, stored, Outcome::Pending]);
        assert_eq!(decisions.failures.lock().ranges.len(), 1, "adjacent failures merge");
    }

    #[test]
    fn forgotten_failures_count_as_failed() {
        let decisions = Decisions::default();
        for seq in 1..=FAILURES_KEPT as u64 + 1 {
            // Failures separated by successes do not merge.
            decisions.failed(&(2 * seq..=2 * seq));
            decisions.stored(&(2 * seq + 1..=2 * seq + 1));
        }
        assert_eq!(decisions.outcome(2), Outcome::Failed);
        assert_eq!(decisions.outcome(1), Outcome::Failed, "unknown old batches are reported failed");
        assert_eq!(decisions.outcome(2 * FAILURES_KEPT as u64 + 3), Outcome::Stored);
    }
}
