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
