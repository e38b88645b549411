//! Connection slots, shared by every listener (protocol, Graphite, HTTP).
//!
//! A connection that has yet to prove itself (finish its TLS handshake,
//! send the token) holds a *pending* slot, from a pool of its own with a
//! short deadline; only once it has proved itself does it take one of the
//! `--max-connections` *established* slots. So clients without the
//! certificate or the token, however many, cannot keep out the ones that
//! have them: they can only fill the pending pool, each for at most the
//! handshake timeout.

use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The two pools.
#[derive(Debug, Clone)]
pub(crate) struct ConnectionSlots {
    established: Arc<Semaphore>,
    pending: Arc<Semaphore>,
}

/// The slot one connection holds; released when dropped.
#[derive(Debug)]
pub(crate) struct Slot {
    permit: OwnedSemaphorePermit,
    /// Where an established slot comes from, while this one is pending.
    established_pool: Option<Arc<Semaphore>>,
}

impl ConnectionSlots {
    /// `max_connections` established slots and `max_pending` pending ones.
    pub(crate) fn new(max_connections: usize, max_pending: usize) -> ConnectionSlots {
        ConnectionSlots {
            established: Arc::new(Semaphore::new(max_connections)),
            pending: Arc::new(Semaphore::new(max_pending)),
        }
    }

    /// A slot for a connection just accepted: pending when it must first
    /// prove itself, else established. `None` when that pool is full.
    pub(crate) fn admit(&self, needs_proof: bool) -> Option<Slot> {
        if needs_proof {
            let permit = Arc::clone(&self.pending).try_acquire_owned().ok()?;
            Some(Slot { permit, established_pool: Some(Arc::clone(&self.established)) })
        } else {
            let permit = Arc::clone(&self.established).try_acquire_owned().ok()?;
            Some(Slot { permit, established_pool: None })
        }
    }
}

impl Slot {
    /// Whether the connection has proved itself.
    pub(crate) fn is_established(&self) -> bool {
        self.established_pool.is_none()
    }

    /// Trades a pending slot for an established one (the pending one is
    /// freed); `false`, keeping the pending one, when every established
    /// slot is taken. An established slot stays as it is.
    pub(crate) fn establish(&mut self) -> bool {
        let Some(pool) = &self.established_pool else {
            return true;
        };
        match Arc::clone(pool).try_acquire_owned() {
            Ok(permit) => {
                self.permit = permit;
                self.established_pool = None;
                true
            }
            Err(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_connections_cannot_take_established_slots() {
        let slots = ConnectionSlots::new(1, 2);
        let mut first = slots.admit(true).unwrap();
        let _second = slots.admit(true).unwrap();
        assert!(slots.admit(true).is_none(), "the pending pool is full");
        let plain = slots.admit(false).unwrap();
        assert!(plain.is_established());
        assert!(!first.establish(), "the one established slot is taken");
        drop(plain);
        assert!(first.establish() && first.is_established());
        assert!(slots.admit(true).is_some(), "establishing freed the pending slot");
        assert!(slots.admit(false).is_none());
    }
}
