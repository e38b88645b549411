//! Storing the connections' put batches: each connection stages its batch,
//! and one of them commits for all, so that the connections ready at the
//! same moment share one log write (and, with `--fsync always`, one sync).

use crate::throttle::Throttle;
use eardrum_storage::{Backend, Outcome, Sample, Ticket};
use std::sync::Arc;
use tokio::sync::{Mutex, MutexGuard, Notify};

/// Shared by every connection of a server.
#[derive(Debug)]
pub(crate) struct Committer {
    store: Arc<dyn Backend>,
    /// Held by the connection that is committing for everyone.
    turn: Mutex<()>,
    /// Woken after every commit, and when a committer gives up its turn.
    committed: Notify,
    /// How often failed commits are logged.
    failures_logged: Throttle,
}

/// The turn to commit; waiters are woken when it ends, however it ends (a
/// connection dropped mid-commit must not leave them waiting).
struct Turn<'a> {
    /// `Some` until the turn ends.
    held: Option<MutexGuard<'a, ()>>,
    committed: &'a Notify,
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        // The turn is released before the waiters are woken: one woken
        // while it is still held finds it taken, waits for the next
        // notification, and with no other committer none comes (a put then
        // went unanswered, about once in 150,000 under 50 clients).
        drop(self.held.take());
        self.committed.notify_waiters();
    }
}

impl Committer {
    pub(crate) fn new(store: Arc<dyn Backend>) -> Committer {
        Committer {
            store,
            turn: Mutex::new(()),
            committed: Notify::new(),
            failures_logged: Throttle::default(),
        }
    }

    /// Stores `samples` (not empty) as one batch; returns whether they were
    /// stored, with the durability the store promises, and the batch's
    /// ticket, which lists the samples the series limit refused.
    ///
    /// The batch is staged at once. Then either a commit is running and
    /// this waits for the next one to take the batch, or this connection
    /// commits: first it lets every other connection that is ready stage
    /// its batch (a yield to the runtime), then it writes them all.
    pub(crate) async fn store(&self, samples: &[Sample<'_>]) -> (bool, Ticket) {
        let ticket = self.store.stage(samples);
        loop {
            let notified = self.committed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            match self.store.outcome(&ticket) {
                Outcome::Pending => {}
                decided => return (decided == Outcome::Stored, ticket),
            }
            let Ok(held) = self.turn.try_lock() else {
                notified.await;
                continue;
            };
            let _turn = Turn { held: Some(held), committed: &self.committed };
            tokio::task::yield_now().await;
            if let Err(error) = self.commit().await {
                // A full disk fails every commit: one line a second says so.
                if let Some(left_out) = self.failures_logged.allow() {
                    let error: &dyn std::error::Error = &error;
                    tracing::error!(error, left_out, "refused the puts of a commit");
                }
            }
        }
    }

    /// One commit. A commit that waits (a sync per commit waits on the
    /// disk, a backend may wait on a network) runs on tokio's blocking pool,
    /// so the thread keeps serving connections, which stage their batches
    /// for the next commit meanwhile.
    async fn commit(&self) -> eardrum_storage::Result<()> {
        if !self.store.commits_wait() {
            return self.store.commit();
        }
        let store = Arc::clone(&self.store);
        match tokio::task::spawn_blocking(move || store.commit()).await {
            Ok(committed) => committed,
            Err(join_error) => match join_error.try_into_panic() {
                Ok(panic) => std::panic::resume_unwind(panic),
                // The runtime is shutting down; waiters find out on their own.
                Err(_) => Ok(()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::Future;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::task::{Context, Wake, Waker};

    /// A waiter's waker that, when woken, does what the waiter does first:
    /// tries to take the turn.
    struct TriesTheTurn {
        turn: Mutex<()>,
        took_it: AtomicBool,
    }

    impl Wake for TriesTheTurn {
        fn wake(self: Arc<Self>) {
            self.took_it.store(self.turn.try_lock().is_ok(), Ordering::SeqCst);
        }
    }

    #[test]
    fn a_waiter_woken_by_the_end_of_a_turn_finds_the_turn_free() {
        let waiter = Arc::new(TriesTheTurn { turn: Mutex::new(()), took_it: AtomicBool::new(false) });
        let committed = Notify::new();
        let waker = Waker::from(Arc::clone(&waiter));
        let mut notified = std::pin::pin!(committed.notified());
        assert!(notified.as_mut().poll(&mut Context::from_waker(&waker)).is_pending());
        let turn = Turn { held: Some(waiter.turn.try_lock().unwrap()), committed: &committed };
        drop(turn);
        assert!(waiter.took_it.load(Ordering::SeqCst), "woken while the turn was still held");
    }
}
