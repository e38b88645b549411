//! Turning a buffer of request lines into replies: the protocol's logic,
//! with no socket in sight.

use crate::stats::Tally;
use eardrum_protocol::{next_line, parse_put_line, reply, Put, Request, Selector};
use eardrum_storage::{Backend, Decimal, Keys, Sample, ScanCursor, Value};

/// The requests [`parse`] found in a buffer, up to the first `get`.
#[derive(Debug)]
pub(crate) struct Parsed<'a> {
    /// Bytes of complete lines consumed from the front of the input.
    pub(crate) consumed: usize,
    /// The connection must close after the replies are sent: a line
    /// exceeded the length bound, so the stream cannot be resynchronised.
    pub(crate) close: bool,
    /// A `get` to answer after the batch, by streaming its rows (see
    /// `Connection::stream_get`); the lines after it wait in the input.
    pub(crate) get: Option<Query>,
    /// The puts to store, and the replies held back behind them.
    pub(crate) batch: Batch<'a>,
    /// Parsing stopped because the replies reached
    /// [`Limits::max_reply_bytes`]: complete lines may remain, to parse
    /// once these replies are written.
    pub(crate) reply_buffer_full: bool,
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

/// Reads the complete lines in `input` up to and including the first
/// `get`: puts are gathered into one batch, and the replies that need no
/// store are appended to `out`, or held behind the batch's puts so that
/// replies keep request order. Nothing is stored here: parsing needs no
/// lock, so connections parse in parallel, and then store their batches
/// through the server's `Committer`.
///
/// A `get` ends the batch, so that it sees every earlier `put` of the
/// same connection; its answer is left to the caller, which streams it.
pub(crate) fn parse<'a>(input: &'a [u8], limits: Limits, out: &mut Vec<u8>) -> Parsed<'a> {
    let max_line_bytes = limits.max_line_bytes;
    // Sized for the lines a buffer of typical puts holds, so that pushing
    // them rarely grows the vectors.
    let lines = input.len() / TYPICAL_PUT_BYTES + 1;
    let mut batch = Batch {
        samples: Vec::with_capacity(lines),
        held: Vec::with_capacity(lines),
        tally: Tally::default(),
    };
    let mut consumed = 0;
    let mut close = false;
    let mut get = None;
    let mut reply_buffer_full = false;
    loop {
        // Every held reply counted at its longest; at least one line is
        // always read, so that a tiny limit still makes progress.
        if consumed > 0 && out.len() + batch.held.len() * reply::ERROR_REPLY.len() >= limits.max_reply_bytes {
            reply_buffer_full = true;
            break;
        }
        if let Some((put, used)) = parse_put_line(&input[consumed..], max_line_bytes) {
            consumed += used;
            batch.push_put(put, limits, out);
            continue;
        }
        match next_line(&input[consumed..], max_line_bytes) {
            Ok(Some((line, used))) => {
                consumed += used;
                match Request::parse(line) {
                    Ok(None) => {}
                    Ok(Some(Request::Put(put))) => batch.push_put(put, limits, out),
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
            Err(error) => {
                // Only a line over the length bound fails framing: answer
                // it, after the puts before it, and give up on the stream.
                tracing::debug!(%error, "closing the connection");
                batch.reject(out);
                close = true;
                break;
            }
        }
    }
    Parsed { consumed, close, get, batch, reply_buffer_full }
}

/// What [`parse`] enforces on each line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    /// The longest line; a longer one closes the connection.
    pub(crate) max_line_bytes: usize,
    /// The longest key a put may create; a longer one gets the error reply.
    pub(crate) max_key_bytes: usize,
    /// About the most reply bytes a connection buffers before writing them
    /// to its socket: parsing pauses there, and a streamed `get` is written
    /// out in pieces of about this size.
    pub(crate) max_reply_bytes: usize,
}

/// A `put` line as metric agents send them, about: `put host17.cpu.user
/// 23.5 1700000000` and its newline.
const TYPICAL_PUT_BYTES: usize = 40;

/// Points formatted per hold of the store's lock while streaming a `get`.
const STREAM_POINTS: usize = 4096;

/// Starts the reply to a `get`: its status line.
pub(crate) fn begin_get(out: &mut Vec<u8>) {
    reply::begin_ok(out);
}

/// Appends the next rows of `query`'s reply to `out`, and the empty line
/// that ends it once there are no more; returns whether the reply is
/// complete.
///
/// # Errors
///
/// When the backend cannot be read; rows visited before stay in `out`.
pub(crate) fn continue_get(
    store: &dyn Backend,
    query: &Query,
    cursor: &mut ScanCursor,
    out: &mut Vec<u8>,
) -> eardrum_storage::Result<bool> {
    let mut rows = reply::RowWriter::default();
    store.scan_values(query.keys(), cursor, STREAM_POINTS, &mut |key, timestamp, value| {
        write_point(&mut rows, out, key, timestamp, value)
    })?;
    if cursor.is_done() {
        reply::end_reply(out);
    }
    Ok(cursor.is_done())
}

/// Points of a `get` reply read from the store and not yet printed: each
/// series' key with how many of the points follow it.
#[derive(Debug, Default)]
pub(crate) struct ReadRows {
    series: Vec<(String, usize)>,
    points: Vec<(i64, Value)>,
}

/// Reads about `points` more points of `query`'s reply into `rows`
/// (emptied first), as [`continue_get`] would print them; returns whether
/// the reply has no more.
///
/// # Errors
///
/// As [`continue_get`].
pub(crate) fn read_rows(
    store: &dyn Backend,
    query: &Query,
    cursor: &mut ScanCursor,
    rows: &mut ReadRows,
    points: usize,
) -> eardrum_storage::Result<bool> {
    rows.series.clear();
    rows.points.clear();
    store.scan_values(query.keys(), cursor, points, &mut |key, timestamp, value| {
        match rows.series.last_mut() {
            Some((last, count)) if last == key => *count += 1,
            _ => rows.series.push((key.to_owned(), 1)),
        }
        rows.points.push((timestamp, value));
    })?;
    Ok(cursor.is_done())
}

/// Prints `rows` as [`continue_get`] does, and the reply's end after them
/// when `last`.
pub(crate) fn write_rows(rows: &ReadRows, last: bool, out: &mut Vec<u8>) {
    let mut writer = reply::RowWriter::default();
    let mut points = rows.points.iter();
    for (key, count) in &rows.series {
        for &(timestamp, value) in points.by_ref().take(*count) {
            write_point(&mut writer, out, key, timestamp, value);
        }
    }
    if last {
        reply::end_reply(out);
    }
}

/// One row, from the stored decimal when there is one.
fn write_point(writer: &mut reply::RowWriter, out: &mut Vec<u8>, key: &str, timestamp: i64, value: Value) {
    match value.decimal() {
        Some(Decimal { integer, decimals }) => writer.write_decimal(out, key, (integer, decimals), timestamp),
        None => writer.write(out, key, value.as_f64(), timestamp),
    }
}

/// Puts waiting to be stored, and the replies that wait with them.
#[derive(Debug, Default)]
pub(crate) struct Batch<'a> {
    samples: Vec<Sample<'a>>,
    /// One entry per reply held back while `samples` is non-empty: `true`
    /// for a put (its reply depends on the commit), `false` for an error.
    held: Vec<bool>,
    tally: Tally,
}

impl<'a> Batch<'a> {
    /// Adds a put to the batch, or answers it with the error reply when its
    /// key is over the limit (a series is kept for good: one huge key per
    /// put would fill the memory).
    fn push_put(&mut self, put: Put<'a>, limits: Limits, out: &mut Vec<u8>) {
        if put.key.len() > limits.max_key_bytes {
            tracing::debug!(
                bytes = put.key.len(),
                limit = limits.max_key_bytes,
                "rejected a key over the limit"
            );
            self.tally.keys_too_long += 1;
            self.reject(out);
            return;
        }
        self.samples.push(Sample { key: put.key, timestamp: put.timestamp, value: put.value });
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

    /// The puts to store.
    pub(crate) fn samples(&self) -> &[Sample<'a>] {
        &self.samples
    }

    /// Writes every held reply once the batch's fate is known: `ok` for
    /// each put if `stored`, else the error reply; the puts at the sample
    /// indices in `refused` (ascending: new keys beyond the series limit)
    /// get the error reply either way. Returns the counts.
    pub(crate) fn answer(mut self, stored: bool, refused: &[u32], out: &mut Vec<u8>) -> Tally {
        let mut refused = refused.iter().peekable();
        let mut index = 0;
        for &is_put in &self.held {
            let is_refused = is_put && refused.next_if_eq(&&index).is_some();
            index += u32::from(is_put);
            if is_put && stored && !is_refused {
                out.extend_from_slice(reply::OK_REPLY);
                self.tally.puts_stored += 1;
            } else {
                out.extend_from_slice(reply::ERROR_REPLY);
                self.tally.errors += u64::from(is_put);
                self.tally.series_refused += u64::from(is_refused);
            }
        }
        self.tally
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eardrum_storage::{Options, Store};

    /// What [`run`] did: bytes consumed, whether to close, the counts.
    type Outcome = (usize, bool, Tally);

    const LIMITS: Limits = Limits { max_line_bytes: 32, max_key_bytes: 8, max_reply_bytes: 1024 };

    fn open(options: Options) -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), options).unwrap();
        (dir, store)
    }

    /// Handles all of `input` the way a connection does, answering gets.
    fn run(store: &Store, input: &[u8], limits: Limits) -> (Vec<u8>, Outcome) {
        let mut out = Vec::new();
        let mut consumed = 0;
        let mut tally = Tally::default();
        loop {
            let parsed = parse(&input[consumed..], limits, &mut out);
            consumed += parsed.consumed;
            let staged = store.stage(parsed.batch.samples());
            store.commit().unwrap();
            let stored = store.outcome(&staged) == eardrum_storage::Outcome::Stored;
            tally += parsed.batch.answer(stored, staged.refused(), &mut out);
            match parsed.get {
                Some(query) => {
                    let mut cursor = ScanCursor::default();
                    begin_get(&mut out);
                    while !continue_get(store, &query, &mut cursor, &mut out).unwrap() {}
                }
                None if parsed.reply_buffer_full => {}
                None => return (out, (consumed, parsed.close, tally)),
            }
        }
    }

    #[test]
    fn replies_keep_request_order_around_batched_puts() {
        let (_dir, store) = open(Options::default());
        let (out, (consumed, close, tally)) =
            run(&store, b"put a 1 1\nbad\n\nput a 2 2\nget a\nget\nput a", LIMITS);
        assert_eq!(
            out,
            b"ok\n\nerror\nwrong command\n\nok\n\nok\na 1.0 1\na 2.0 2\n\nerror\nwrong command\n\n"
        );
        assert_eq!(consumed, b"put a 1 1\nbad\n\nput a 2 2\nget a\nget\n".len());
        assert!(!close);
        assert_eq!(tally, Tally { puts_stored: 2, gets: 1, errors: 2, ..Tally::default() });
    }

    #[test]
    fn a_put_with_a_key_over_the_limit_gets_the_error_reply_and_the_rest_goes_on() {
        let (_dir, store) = open(Options::default());
        let (out, (_, close, tally)) =
            run(&store, b"put abcdefghi 1 1\nput abcdefgh 2 2\nget abcdefghi\n", LIMITS);
        assert_eq!(out, b"error\nwrong command\n\nok\n\nok\n\n");
        assert!(!close);
        assert_eq!(tally, Tally { puts_stored: 1, gets: 1, errors: 1, keys_too_long: 1, ..Tally::default() });
    }

    #[test]
    fn puts_of_new_keys_beyond_the_series_limit_get_the_error_reply_in_their_place() {
        let (_dir, store) = open(Options { max_series: Some(1), ..Options::default() });
        let (out, (_, close, tally)) = run(&store, b"put a 1 1\nput b 1 1\nbad\nput a 2 2\nget *\n", LIMITS);
        assert_eq!(
            out,
            b"ok\n\nerror\nwrong command\n\nerror\nwrong command\n\nok\n\nok\na 1.0 1\na 2.0 2\n\n"
        );
        assert!(!close);
        assert_eq!(
            tally,
            Tally { puts_stored: 2, gets: 1, errors: 2, series_refused: 1, ..Tally::default() }
        );
    }

    #[test]
    fn a_full_reply_buffer_pauses_parsing_until_the_replies_are_written() {
        let (_dir, store) = open(Options::default());
        let input = b"put a 1 1\nbad\nput a 2 2\nput a 3 3\nbad\nput a 4 4\n";
        let limits = Limits { max_reply_bytes: 30, ..LIMITS };
        let mut out = Vec::new();
        let first = parse(input, limits, &mut out);
        assert!(first.reply_buffer_full);
        assert_eq!(
            first.consumed,
            b"put a 1 1\nbad\n".len(),
            "stops once the held replies may reach the limit"
        );
        let (out, (consumed, close, tally)) = run(&store, input, limits);
        assert_eq!((consumed, close), (input.len(), false));
        assert_eq!(tally, Tally { puts_stored: 4, errors: 2, ..Tally::default() });
        assert_eq!(out.len(), 4 * reply::OK_REPLY.len() + 2 * reply::ERROR_REPLY.len());
    }

    #[test]
    fn an_overlong_line_answers_the_lines_before_it_then_closes() {
        let (_dir, store) = open(Options::default());
        let (out, (_, close, _)) =
            run(&store, b"put a 1 1\nget aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", LIMITS);
        assert_eq!(out, b"ok\n\nerror\nwrong command\n\n");
        assert!(close);
    }
}
