//! Feeding the connections their requests in rounds, so that a run of any
//! size fits in memory.
//!
//! Encoded requests take about 40 bytes a point, so a billion points cannot
//! be encoded ahead. A run is cut into rounds of at most [`ROUND_POINTS`]
//! points: the first is encoded before the clock starts, and each later one
//! on a thread of its own while the connections send the one before. A run
//! of one round (every run up to 16 million points) therefore measures
//! exactly what it did when everything was encoded ahead; a larger one has
//! its client encoding beside the server, which it reports.

use super::requests::{self, Format, Requests};
use eardrum_workload::Fleet;
use tokio::sync::mpsc;

/// The most points encoded in one round, over every connection.
pub(super) const ROUND_POINTS: u64 = 16_000_000;

/// Each connection's stream of rounds, oldest first.
pub(super) type Rounds = mpsc::Receiver<Requests>;

/// The plan of a run: its connections, its steps, and how they are cut.
#[derive(Debug)]
pub(super) struct Feed {
    /// One fleet per connection, each advanced only over its own series, so
    /// that the same flags always send the same points.
    fleets: Vec<Fleet>,
    format: Format,
    steps: u64,
    steps_per_round: u64,
}

impl Feed {
    pub(super) fn new(fleet: &Fleet, connections: usize, steps: u64, format: Format) -> Feed {
        let steps_per_round = (ROUND_POINTS / fleet.len().max(1) as u64).max(1);
        Feed { fleets: vec![fleet.clone(); connections], format, steps, steps_per_round }
    }

    /// How many rounds the run takes.
    pub(super) fn rounds(&self) -> u64 {
        self.steps.div_ceil(self.steps_per_round)
    }

    /// Encodes the first round, then hands back each connection's stream of
    /// rounds and starts the thread that encodes the rest. Each stream
    /// holds at most one round beyond the one being sent.
    pub(super) fn start(mut self) -> Vec<Rounds> {
        let connections = self.fleets.len();
        let (senders, receivers): (Vec<_>, Vec<_>) = (0..connections).map(|_| mpsc::channel(1)).unzip();
        let mut round = 0;
        self.send_round(&senders, round, |sender, requests| {
            // A fresh channel of capacity one has room for the first round.
            let _ = sender.try_send(requests);
        });
        round += 1;
        if round < self.rounds() {
            std::thread::spawn(move || {
                while round < self.rounds() {
                    let mut receivers_gone = false;
                    self.send_round(&senders, round, |sender, requests| {
                        receivers_gone |= sender.blocking_send(requests).is_err();
                    });
                    if receivers_gone {
                        // A deadline stopped the run early.
                        return;
                    }
                    round += 1;
                }
            });
        }
        receivers
    }

    fn send_round(
        &mut self,
        senders: &[mpsc::Sender<Requests>],
        round: u64,
        mut send: impl FnMut(&mpsc::Sender<Requests>, Requests),
    ) {
        let from = round * self.steps_per_round;
        let steps = from..(from + self.steps_per_round).min(self.steps);
        let connections = self.fleets.len();
        for (connection, (fleet, sender)) in self.fleets.iter_mut().zip(senders).enumerate() {
            send(sender, requests::encode(fleet, connection, connections, steps.clone(), self.format));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_send_what_one_encoding_would() {
        let fleet = Fleet::new(7, 3);
        let mut feed = Feed::new(&fleet, 2, 10, Format::Put);
        // Small rounds, so the test is quick.
        feed.steps_per_round = 4;
        assert_eq!(feed.rounds(), 3);
        // The connections read their rounds side by side, as in a run.
        let readers: Vec<_> = feed
            .start()
            .into_iter()
            .map(|mut rounds| {
                std::thread::spawn(move || {
                    let mut bytes = Vec::new();
                    while let Some(round) = rounds.blocking_recv() {
                        bytes.extend_from_slice(&round.bytes);
                    }
                    bytes
                })
            })
            .collect();
        let sent: Vec<Vec<u8>> = readers.into_iter().map(|reader| reader.join().unwrap()).collect();
        for (connection, bytes) in sent.iter().enumerate() {
            let whole = requests::encode(&mut fleet.clone(), connection, 2, 0..10, Format::Put);
            assert_eq!(*bytes, whole.bytes);
        }
    }
}
