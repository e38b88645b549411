//! Encoding replies (the server's side) and decoding them (the client's).
//!
//! Every reply is a status line, zero or more rows, and an empty line:
//!
//! ```text
//! ok\n\n                                   put stored, or get found nothing
//! ok\n<key> <value> <timestamp>\n…\n       get found points
//! error\nwrong command\n\n                 anything invalid
//! ```

use crate::number::{parse_timestamp, parse_value};
use crate::repr::{
    write_four_digits, write_integer, write_stored_decimal, write_value_fast, VALUE_TEXT_BYTES,
};
use crate::request::Words;
use crate::{format_value, Error, Result};

/// The whole reply to a stored `put`, or to a `get` that found nothing.
pub const OK_REPLY: &[u8] = b"ok\n\n";

/// The whole reply to any invalid request.
pub const ERROR_REPLY: &[u8] = b"error\nwrong command\n\n";

/// Appends the status line of a successful reply; rows may follow, then
/// [`end_reply`].
pub fn begin_ok(out: &mut Vec<u8>) {
    out.extend_from_slice(b"ok\n");
}

/// Appends one `<key> <value> <timestamp>\n` row of a `get` reply.
///
/// # Examples
///
/// ```
/// use eardrum_protocol::reply;
///
/// let mut out = Vec::new();
/// reply::begin_ok(&mut out);
/// reply::write_row(&mut out, "palm.cpu", 10.0, 1150864247);
/// reply::end_reply(&mut out);
/// assert_eq!(out, b"ok\npalm.cpu 10.0 1150864247\n\n");
/// ```
pub fn write_row(out: &mut Vec<u8>, key: &str, value: f64, timestamp: i64) {
    out.extend_from_slice(key.as_bytes());
    out.push(b' ');
    format_value(value, out);
    out.push(b' ');
    out.extend_from_slice(itoa::Buffer::new().format(timestamp).as_bytes());
    out.push(b'\n');
}

/// Writes the rows of a `get` reply as [`write_row`] does, faster for
/// the rows of a series: it remembers how many decimals the last value
/// had, which the next mostly shares, and writes each row straight into
/// the reply with copies of sizes known when compiling (a copy of a size
/// known only at run time is a call to `memcpy`, slow for a few bytes).
///
/// # Examples
///
/// ```
/// use eardrum_protocol::reply::RowWriter;
///
/// let (mut out, mut rows) = (Vec::new(), RowWriter::default());
/// rows.write(&mut out, "palm.cpu", 23.5, 1150864247);
/// rows.write(&mut out, "palm.cpu", 24.0, 1150864257);
/// assert_eq!(out, b"palm.cpu 23.5 1150864247\npalm.cpu 24.0 1150864257\n");
/// ```
#[derive(Debug, Clone, Default)]
pub struct RowWriter {
    decimals: usize,
    /// The digits of the last timestamp but its last four, which change
    /// only every 10,000 seconds: `high` is that timestamp / 10,000, and
    /// `high_text` its digits (none for 0).
    high: u64,
    high_text: [u8; HIGH_TEXT_BYTES],
    high_len: usize,
}

/// Room for the digits of a timestamp over 10,000.
const HIGH_TEXT_BYTES: usize = 16;

/// Keys up to this long are copied by [`copy_short`].
const SHORT_KEY_BYTES: usize = 64;

/// Copies `source` (8 to 64 bytes) to `target` (as long) in moves of
/// eight bytes, the last overlapping the one before: `memcpy` does so
/// too, but behind a call that costs more than the copy at these sizes.
#[inline]
fn copy_short(target: &mut [u8], source: &[u8]) {
    let len = source.len().min(target.len());
    let mut at = 0;
    while at + 8 < len {
        target[at..at + 8].copy_from_slice(&source[at..at + 8]);
        at += 8;
    }
    if len >= 8 {
        target[len - 8..len].copy_from_slice(&source[len - 8..len]);
    }
}

/// A row after its key, at most: a space, the value (24 bytes), a space,
/// the timestamp (20 with its sign) and the newline, rounded up.
const ROW_TAIL_BYTES: usize = 64;

impl RowWriter {
    /// Appends one `<key> <value> <timestamp>\n` row.
    pub fn write(&mut self, out: &mut Vec<u8>, key: &str, value: f64, timestamp: i64) {
        let mut decimals = self.decimals;
        if !self.write_with(out, key, timestamp, |text| write_value_fast(value, &mut decimals, text)) {
            // Shortest digits found the long way: as any row.
            write_row(out, key, value, timestamp);
        }
        self.decimals = decimals;
    }

    /// Appends one row whose value is the double nearest
    /// `integer / 10^decimals`, as a store that keeps decimals has it:
    /// the text is [`RowWriter::write`]'s, printed from the decimal's digits
    /// when they are that text (see `write_stored_decimal`).
    #[inline]
    pub fn write_decimal(
        &mut self,
        out: &mut Vec<u8>,
        key: &str,
        (integer, decimals): (i64, u8),
        timestamp: i64,
    ) {
        if !self.write_with(out, key, timestamp, |text| write_stored_decimal(integer, decimals, text)) {
            // Exact powers of ten up to 10^22: one division, correctly
            // rounded.
            let value = integer as f64 / 10f64.powi(i32::from(decimals.min(22)));
            self.write(out, key, value, timestamp);
        }
    }

    /// Appends a row, its value's text written by `value` to the start of
    /// the slice it is given (returning the length); `false`, appending
    /// nothing, when `value` writes none.
    #[inline]
    fn write_with(
        &mut self,
        out: &mut Vec<u8>,
        key: &str,
        timestamp: i64,
        value: impl FnOnce(&mut [u8; VALUE_TEXT_BYTES]) -> Option<usize>,
    ) -> bool {
        let row = out.len();
        let key = key.as_bytes();
        let start = match key.len() {
            // Most keys: copied in moves of eight bytes, without a call.
            8..=SHORT_KEY_BYTES => {
                out.extend_from_slice(&[0; SHORT_KEY_BYTES + ROW_TAIL_BYTES]);
                copy_short(&mut out[row..row + key.len()], key);
                row + key.len()
            }
            _ => {
                out.reserve(key.len() + ROW_TAIL_BYTES);
                out.extend_from_slice(key);
                out.extend_from_slice(&[0; ROW_TAIL_BYTES]);
                row + key.len()
            }
        };
        let tail = &mut out[start..];
        tail[0] = b' ';
        let written = tail.get_mut(1..1 + VALUE_TEXT_BYTES).and_then(|text| value(text.try_into().ok()?));
        let Some(value_len) = written else {
            out.truncate(row);
            return false;
        };
        let mut len = 1 + value_len;
        tail[len] = b' ';
        len += 1;
        len += self.write_timestamp(timestamp, &mut tail[len..]);
        tail[len] = b'\n';
        out.truncate(start + len + 1);
        true
    }

    /// Writes `timestamp` to the start of `text` (at least 36 bytes);
    /// returns the length.
    #[inline]
    fn write_timestamp(&mut self, timestamp: i64, text: &mut [u8]) -> usize {
        let Ok(timestamp) = u64::try_from(timestamp) else {
            text[0] = b'-';
            return 1 + write_integer(timestamp.unsigned_abs(), &mut text[1..]);
        };
        let high = timestamp / 10_000;
        if high == 0 {
            return write_integer(timestamp, text);
        }
        if high != self.high {
            self.high = high;
            self.high_len = write_integer(high, &mut self.high_text);
        }
        text[..HIGH_TEXT_BYTES].copy_from_slice(&self.high_text);
        write_four_digits((timestamp % 10_000) as u16, &mut text[self.high_len..]);
        self.high_len + 4
    }
}

/// Appends the empty line that ends every reply.
pub fn end_reply(out: &mut Vec<u8>) {
    out.push(b'\n');
}

/// The length of the first complete reply in `buf` (its ending empty line
/// included), or `None` while it is incomplete.
///
/// `searched` is how much of `buf` an earlier call already looked through,
/// so that a client reading a large reply chunk by chunk scans each byte
/// once instead of rescanning the whole buffer per chunk.
///
/// # Examples
///
/// ```
/// use eardrum_protocol::reply::complete_len;
///
/// assert_eq!(complete_len(b"ok\nk 1.0 1\n", 0), None);
/// assert_eq!(complete_len(b"ok\nk 1.0 1\n\nok", 10), Some(12));
/// ```
pub fn complete_len(buf: &[u8], searched: usize) -> Option<usize> {
    // The ending `\n\n` may straddle the old end: back up one byte.
    let from = searched.saturating_sub(1).min(buf.len());
    memchr::memmem::find(&buf[from..], b"\n\n").map(|at| from + at + 2)
}

/// A reply as a client reads it.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// `ok`, with the rows of a `get` (none for a `put`).
    Ok(Vec<Row>),
    /// `error`, with the message line(s) the server sent (`wrong command`).
    Error(String),
}

/// One `<key> <value> <timestamp>` row of a `get` reply.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The series' key.
    pub key: String,
    /// The point's value.
    pub value: f64,
    /// The point's Unix timestamp in seconds.
    pub timestamp: i64,
}

impl Reply {
    /// Decodes the first complete reply in `buf`.
    ///
    /// Returns the reply and the number of bytes it used, or `Ok(None)` while
    /// the empty line that ends it has not arrived. Nothing past that empty
    /// line is looked at.
    ///
    /// # Errors
    ///
    /// [`Error::MalformedReply`] when a complete reply does not have the
    /// protocol's shape: an unknown status, a row without exactly three
    /// words, a value that is not a float, a timestamp that is not an integer.
    /// No partial data is returned.
    ///
    /// # Examples
    ///
    /// ```
    /// use eardrum_protocol::{Reply, Row};
    ///
    /// let (reply, used) = Reply::decode(b"ok\na 1.5 10\n\nok\n").unwrap().unwrap();
    /// let row = Row { key: "a".into(), value: 1.5, timestamp: 10 };
    /// assert_eq!((reply, used), (Reply::Ok(vec![row]), 13));
    /// assert_eq!(Reply::decode(b"ok\na 1.5 10\n").unwrap(), None);
    /// ```
    pub fn decode(buf: &[u8]) -> Result<Option<(Reply, usize)>> {
        let Some(len) = complete_len(buf, 0) else {
            return Ok(None);
        };
        let end = len - 2;
        let body = &buf[..end];
        let mut lines = body.split(|&b| b == b'\n');
        let status = lines.next().unwrap_or_default();
        let reply = match status {
            b"ok" => Reply::Ok(lines.map(decode_row).collect::<Result<_>>()?),
            b"error" => {
                let message: Vec<&[u8]> = lines.collect();
                Reply::Error(String::from_utf8_lossy(&message.join(&b'\n')).into_owned())
            }
            other => return Err(malformed(format!("unknown status {:?}", String::from_utf8_lossy(other)))),
        };
        Ok(Some((reply, end + 2)))
    }
}

fn decode_row(line: &[u8]) -> Result<Row> {
    let (key, value, timestamp) = parse_row(line)?;
    Ok(Row { key: key.to_owned(), value, timestamp })
}

/// Reads one row of a `get` reply (`<key> <value> <timestamp>`, without its
/// `\n`) as borrowed parts, for readers that stream a reply row by row.
///
/// # Errors
///
/// [`Error::MalformedReply`] for a row without exactly three words, a key
/// that is not UTF-8, a value that is not a float or a timestamp that is
/// not an integer.
///
/// # Examples
///
/// ```
/// use eardrum_protocol::reply::parse_row;
///
/// assert_eq!(parse_row(b"palm.cpu 23.7 1150864247").unwrap(), ("palm.cpu", 23.7, 1150864247));
/// assert!(parse_row(b"palm.cpu 23.7").is_err());
/// ```
pub fn parse_row(line: &[u8]) -> Result<(&str, f64, i64)> {
    let mut words = Words::new(line);
    let (Some(key), Some(value), Some(timestamp), None) =
        (words.next(), words.next(), words.next(), words.next())
    else {
        return Err(malformed(format!("row {:?} does not have three words", String::from_utf8_lossy(line))));
    };
    let key = std::str::from_utf8(key).map_err(|_| malformed("row key is not valid UTF-8".to_owned()))?;
    let value = parse_value(value)
        .ok_or_else(|| malformed(format!("value {:?} is not a float", String::from_utf8_lossy(value))))?;
    let timestamp = parse_timestamp(timestamp).ok_or_else(|| {
        malformed(format!("timestamp {:?} is not an integer", String::from_utf8_lossy(timestamp)))
    })?;
    Ok((key, value, timestamp))
}

fn malformed(reason: String) -> Error {
    Error::MalformedReply { reason }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Values of a few kinds a series mixes: decimals of any count, whole
    /// numbers, and any double at all.
    fn any_value() -> impl Strategy<Value = f64> {
        prop_oneof![
            (-99_999_999i64..99_999_999, 0i32..9).prop_map(|(n, d)| n as f64 / 10f64.powi(d)),
            (-1i64 << 53..1i64 << 53).prop_map(|n| n as f64),
            any::<f64>(),
        ]
    }

    /// Timestamps that step forward by little or much, jump back, cross a
    /// power of ten or go negative.
    fn any_times() -> impl Strategy<Value = Vec<i64>> {
        let start = prop_oneof![Just(999_999_990i64), Just(-25i64), Just(0i64), any::<i64>()];
        let steps = prop::collection::vec(prop_oneof![1i64..20, Just(10), -50i64..0, any::<i64>()], 1..60);
        (start, steps).prop_map(|(start, steps)| {
            steps
                .iter()
                .scan(start, |time, &step| {
                    *time = time.saturating_add(step);
                    Some(*time)
                })
                .collect()
        })
    }

    proptest! {
        #[test]
        fn the_row_writer_writes_what_write_row_writes(
            times in any_times(),
            values in prop::collection::vec(any_value(), 60),
            keys in prop::collection::vec("[a-z0-9._]{1,80}", 1..4),
        ) {
            let (mut fast, mut plain, mut rows) = (Vec::new(), Vec::new(), RowWriter::default());
            for ((&time, &value), key) in times.iter().zip(&values).zip(keys.iter().cycle()) {
                rows.write(&mut fast, key, value, time);
                write_row(&mut plain, key, value, time);
            }
            prop_assert_eq!(String::from_utf8(fast).unwrap(), String::from_utf8(plain).unwrap());
        }

        #[test]
        fn rows_of_stored_decimals_are_written_as_their_doubles_are(
            times in any_times(),
            decimals in prop::collection::vec((-(1i64 << 53)..1i64 << 53, 0u8..9), 60),
            small in prop::collection::vec(-2_000i64..2_000, 60),
        ) {
            let (mut fast, mut plain, mut rows) = (Vec::new(), Vec::new(), RowWriter::default());
            // Large integers and tiny ones, where the forms change.
            let stored = decimals.iter().zip(&small).flat_map(|(&(integer, count), &tiny)| {
                [(integer, count), (tiny, count)]
            });
            for (&time, (integer, count)) in times.iter().zip(stored) {
                let value = integer as f64 / 10f64.powi(i32::from(count));
                rows.write_decimal(&mut fast, "a.b", (integer, count), time);
                write_row(&mut plain, "a.b", value, time);
            }
            prop_assert_eq!(String::from_utf8(fast).unwrap(), String::from_utf8(plain).unwrap());
        }
    }

    #[test]
    fn decodes_ok_error_and_rows() {
        assert_eq!(Reply::decode(OK_REPLY).unwrap(), Some((Reply::Ok(vec![]), 4)));
        assert_eq!(Reply::decode(ERROR_REPLY).unwrap(), Some((Reply::Error("wrong command".into()), 21)));
        let (reply, _) = Reply::decode(b"ok\nk -inf 1\nk nan 2\n\n").unwrap().unwrap();
        let Reply::Ok(rows) = reply else { panic!("expected rows") };
        assert_eq!(rows[0].value, f64::NEG_INFINITY);
        assert!(rows[1].value.is_nan());
    }

    #[test]
    fn waits_for_the_empty_line() {
        for partial in
            [&b""[..], b"o", b"ok", b"ok\n", b"ok\nk 1 2", b"ok\nk 1 2\n", b"error\nwrong command\n"]
        {
            assert_eq!(Reply::decode(partial).unwrap(), None, "{partial:?}");
        }
    }

    #[test]
    fn malformed_replies_are_errors() {
        for bad in [
            &b"okay\n\n"[..],
            b"\n\n",
            b"ok\nk 1\n\n",
            b"ok\nk 1 2 3\n\n",
            b"ok\nk x 2\n\n",
            b"ok\nk 1 2.5\n\n",
            b"ok\n\xff 1 2\n\n",
        ] {
            assert!(Reply::decode(bad).is_err(), "{bad:?}");
        }
    }
}
