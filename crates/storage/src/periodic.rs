//! Background threads that run a task on an interval: the log flusher
//! behind [`SyncMode::EverySecond`](crate::SyncMode) and the checkpointer.

use crate::error::Result;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A thread running a task every interval until stopped.
#[derive(Debug)]
pub(crate) struct Periodic {
    stop: mpsc::Sender<()>,
    thread: JoinHandle<()>,
}

impl Periodic {
    /// Starts the thread. A failing task is reported once per run of
    /// failures, not on every tick.
    pub(crate) fn start(
        name: &'static str,
        interval: Duration,
        mut task: impl FnMut() -> Result<()> + Send + 'static,
    ) -> Periodic {
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(format!("eardrum-{name}"))
            .spawn(move || {
                let mut failing = false;
                // Runs start on a fixed cadence, not an interval after the
                // previous one ended: a slow run (a sync behind a busy disk)
                // must not stretch how long a point waits for the next. A
                // run that overran its slot is followed at once, without
                // bursts to catch up.
                let mut next = Instant::now() + interval;
                while let Err(RecvTimeoutError::Timeout) =
                    stopped.recv_timeout(next.saturating_duration_since(Instant::now()))
                {
                    next = (next + interval).max(Instant::now());
                    match task() {
                        Ok(()) => failing = false,
                        Err(error) if !failing => {
                            failing = true;
                            let error: &dyn std::error::Error = &error;
                            tracing::error!(task = name, error, "background task failed");
                        }
                        Err(_) => {}
                    }
                }
            })
            // Failing to spawn a thread at startup leaves nothing sensible to do.
            .expect("spawning a storage background thread");
        Periodic { stop, thread }
    }

    /// Stops the thread and waits for its current run to finish.
    pub(crate) fn stop(self) {
        drop(self.stop);
        let _ = self.thread.join();
    }
}
