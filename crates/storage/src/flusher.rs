//! The background thread behind [`SyncMode::EverySecond`](crate::SyncMode).

use crate::store::Shared;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// Syncs the log on an interval until stopped.
#[derive(Debug)]
pub(crate) struct Flusher {
    stop: mpsc::Sender<()>,
    thread: JoinHandle<()>,
}

impl Flusher {
    /// Starts the thread.
    pub(crate) fn start(shared: Arc<Shared>, interval: Duration) -> Flusher {
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("eardrum-log-flusher".into())
            .spawn(move || {
                let mut failing = false;
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(interval) {
                    match shared.sync_written() {
                        Ok(()) => failing = false,
                        // Say it once, not every second.
                        Err(error) if !failing => {
                            failing = true;
                            tracing::error!(error = %error, "background sync of the log failed");
                        }
                        Err(_) => {}
                    }
                }
            })
            // Failing to spawn a thread at startup leaves nothing sensible to do.
            .expect("spawning the log flusher thread");
        Flusher { stop, thread }
    }

    /// Stops the thread and waits for it.
    pub(crate) fn stop(self) {
        drop(self.stop);
        let _ = self.thread.join();
    }
}
