//! Background threads that run a task on an interval: the log flusher
//! behind [`SyncMode::EverySecond`](crate::SyncMode) and the checkpointer.

use crate::error::Result;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::Duration;

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
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(interval) {
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
