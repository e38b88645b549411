//! Turning a buffer of request lines into replies: the protocol's logic,
//! with no socket in sight.

use crate::stats::Tally;
use eardrum_protocol::{next_line, reply, Error as ProtocolError, Request, Selector};
use eardrum_storage::{Keys, Sample, ScanCursor, Store};

/// What [`process`] did with a buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Processed {
    /// Bytes of complete lines consumed from the front of the input.
    pub(crate) consumed: usize,
    /// The connection must close after the replies are sent: a line
    /// exceeded the length bound, so the stream cannot be resynchronised.
    pub(crate) close: bool,
    /// Requests handled, for the server's counters.
    pub(crate) tally: Tally,
    /// A `get` to answer next, by streaming its rows (see
    /// `Connection::stream_get`); the lines after it wait in the input.
    pub(crate) get: Option<Query>,
}

/// What a `get` reads, owned so that it outlives the input buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Query {
    /// `get *`.
    All,
    /// `get <key>`.
    Key(String),
}

impl Query {
    pub(crate) fn keys(&self) -> Keys<'_> {
        match self {
            Query::All => Keys::All,
            Query::Key(key) => Keys::One(key),
        }
    }
}

/// Handles the complete lines in `input`, appending one reply per
/// non-blank line to `out`, in order, up to and including the first `get`,
/// whose answer is left to the caller (it may be large, so the connection
/// streams it).
///
/// Consecutive puts are stored as one batch (one log write, one sync when the
/// store syncs every write) before any of their `ok`s is written, and before
/// a later `get` is answered, so a `get` sees every earlier `put` of the
/// same connection.
pub(crate) fn process(store: &Store, input: &[u8], max_line_bytes: usize, out: &mut Vec<u8>) -> Processed {
    let mut batch = Batch::default();
    let mut consumed = 0;
    let mut close = false;
    let mut get = None;
    loop {
        match next_line(&input[consumed..], max_line_bytes) {
            Ok(Some((line, used))) => {
                consumed += used;
                match Request::parse(line) {
                    Ok(None) => {}
                    Ok(Some(Request::Put(put))) => {
                        batch.push(Sample { key: put.key, timestamp: put.timestamp, value: put.value })
                    }
                    Ok(Some(Request::Get(selector))) => {
                        batch.tally.gets += 1;
                        get = Some(match selector {
                            Selector::All => Query::All,
                            Selector::Key(key) => Query::Key(key.to_owned()),
                        });
                        break;
                    }
                    Err(error) => {
                        tracing::debug!(%error, "rejected a request");
                        batch.reject(out);
                    }
                }
            }
            Ok(None) => break,
            Err(error @ ProtocolError::LineTooLong { .. }) => {
                tracing::debug!(%error, "closing the connection");
                batch.commit(store, out);
                batch.reject(out);
                close = true;
                break;
            }
            Err(error) => {
                // next_line only fails on length; keep the stream honest anyway.
                tracing::warn!(%error, "unexpected framing error");
                close = true;
                break;
            }
        }
    }
    batch.commit(store, out);
    Processed { consumed, close, tally: batch.tally, get }
}

/// Points formatted per hold of the store's lock while streaming a `get`.
const STREAM_POINTS: usize = 4096;

/// Starts the reply to a `get`: its status line.
pub(crate) fn begin_get(out: &mut Vec<u8>) {
    reply::begin_ok(out);
}

/// Appends the next rows of `query`'s reply to `out`, and the empty line
/// that ends it once there are no more; returns whether the reply is
/// complete.
pub(crate) fn continue_get(store: &Store, query: &Query, cursor: &mut ScanCursor, out: &mut Vec<u8>) -> bool {
    store.scan_some(query.keys(), cursor, STREAM_POINTS, |key, timestamp, value| {
        reply::write_row(out, key, value, timestamp);
    });
    if cursor.is_done() {
        reply::end_reply(out);
    }
    cursor.is_done()
}

/// Puts waiting to be stored, and the replies that wait with them.
#[derive(Default)]
struct Batch<'a> {
    samples: Vec<Sample<'a>>,
    /// One entry per reply held back while `samples` is non-empty: `true`
    /// for a put (its reply depends on the commit), `false` for an error.
    held: Vec<bool>,
    tally: Tally,
}

impl<'a> Batch<'a> {
    fn push(&mut self, sample: Sample<'a>) {
        self.samples.push(sample);
        self.held.push(true);
    }

    /// Answers an invalid request, after the puts before it.
    fn reject(&mut self, out: &mut Vec<u8>) {
        self.tally.errors += 1;
        if self.samples.is_empty() {
            out.extend_from_slice(reply::ERROR_REPLY);
        } else {
            self.held.push(false);
        }
    }

    /// Stores the pending puts and writes every held reply: `ok` only if
    /// the store took the batch.
    fn commit(&mut self, store: &Store, out: &mut Vec<u8>) {
        if self.samples.is_empty() {
            return;
        }
        let stored = match store.put(&self.samples) {
            Ok(()) => true,
            Err(error) => {
                let error: &dyn std::error::Error = &error;
                tracing::error!(error, points = self.samples.len(), "refused a batch of puts");
                false
            }
        };
        for &is_put in &self.held {
            if is_put && stored {
                out.extend_from_slice(reply::OK_REPLY);
                self.tally.puts_stored += 1;
            } else {
                out.extend_from_slice(reply::ERROR_REPLY);
                self.tally.errors += u64::from(is_put);
            }
        }
        self.samples.clear();
        self.held.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eardrum_storage::Options;

    /// Processes all of `input` the way a connection does, answering gets.
    fn run(store: &Store, input: &[u8]) -> (Vec<u8>, Processed) {
        let mut out = Vec::new();
        let mut consumed = 0;
        let mut tally = Tally::default();
        loop {
            let mut processed = process(store, &input[consumed..], 32, &mut out);
            consumed += processed.consumed;
            tally.puts_stored += processed.tally.puts_stored;
            tally.gets += processed.tally.gets;
            tally.errors += processed.tally.errors;
            match processed.get.take() {
                Some(query) => {
                    let mut cursor = ScanCursor::default();
                    begin_get(&mut out);
                    while !continue_get(store, &query, &mut cursor, &mut out) {}
                }
                None => return (out, Processed { consumed, tally, ..processed }),
            }
        }
    }

    #[test]
    fn replies_keep_request_order_around_batched_puts() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), Options::default()).unwrap();
        let (out, processed) = run(&store, b"put a 1 1\nbad\n\nput a 2 2\nget a\nget\nput a");
        assert_eq!(
            out,
            b"ok\n\nerror\nwrong command\n\nok\n\nok\na 1.0 1\na 2.0 2\n\nerror\nwrong command\n\n"
        );
        assert_eq!(processed.consumed, b"put a 1 1\nbad\n\nput a 2 2\nget a\nget\n".len());
        assert!(!processed.close);
        assert_eq!(processed.tally, Tally { puts_stored: 2, gets: 1, errors: 2 });
    }

    #[test]
    fn an_overlong_line_answers_the_lines_before_it_then_closes() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), Options::default()).unwrap();
        let (out, processed) = run(&store, b"put a 1 1\nget aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
        assert_eq!(out, b"ok\n\nerror\nwrong command\n\n");
        assert!(processed.close);
    }
}
