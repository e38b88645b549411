//! Framing lines and parsing them into requests.

use crate::number::{parse_timestamp, parse_value};
use crate::{Error, Result};

/// The default bound on one request line, `\n` excluded: far above any real
/// key (the course's keys are tens of bytes) yet small enough that a client
/// that never sends `\n` cannot make the server buffer without limit.
pub const DEFAULT_MAX_LINE_BYTES: usize = 64 * 1024;

/// Finds the first complete line in `buf`.
///
/// Returns the line without its `\n` and the number of bytes it used
/// (`\n` included), or `Ok(None)` when no `\n` has arrived yet.
///
/// # Errors
///
/// [`Error::LineTooLong`] when the line, or the unterminated bytes so far,
/// exceed `max_line_bytes`.
///
/// # Examples
///
/// ```
/// use eardrum_protocol::next_line;
///
/// assert_eq!(next_line(b"get a\nget", 100), Ok(Some((&b"get a"[..], 6))));
/// assert_eq!(next_line(b"get", 100), Ok(None));
/// assert!(next_line(b"get abcdef", 4).is_err());
/// ```
pub fn next_line(buf: &[u8], max_line_bytes: usize) -> Result<Option<(&[u8], usize)>> {
    match memchr::memchr(b'\n', buf) {
        Some(end) if end <= max_line_bytes => Ok(Some((&buf[..end], end + 1))),
        None if buf.len() <= max_line_bytes => Ok(None),
        _ => Err(Error::LineTooLong { limit: max_line_bytes }),
    }
}

/// One request of the protocol, borrowing its key from the line it was read
/// from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Request<'a> {
    /// `put <key> <value> <timestamp>`: store one point.
    Put(Put<'a>),
    /// `get <key>` or `get *`: read points.
    Get(Selector<'a>),
}

/// The point carried by a `put`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Put<'a> {
    /// The metric's name, any non-whitespace UTF-8 (`*` included).
    pub key: &'a str,
    /// The measured value.
    pub value: f64,
    /// Unix seconds.
    pub timestamp: i64,
}

/// Which series a `get` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selector<'a> {
    /// `get *`: every series, in first-put order.
    All,
    /// `get <key>`: the one series with exactly this key.
    Key(&'a str),
}

impl<'a> Request<'a> {
    /// Parses one line (without its `\n`).
    ///
    /// Returns `Ok(None)` for a blank line, which the protocol answers with
    /// nothing at all.
    ///
    /// # Errors
    ///
    /// Any other line that is not a valid request; the variant says why. On
    /// the wire every one of them is answered with the same error reply.
    ///
    /// # Examples
    ///
    /// ```
    /// use eardrum_protocol::{Put, Request, Selector};
    ///
    /// let put = Request::parse(b"put palm.cpu 23.7 1150864247\r").unwrap();
    /// let expected = Put { key: "palm.cpu", value: 23.7, timestamp: 1150864247 };
    /// assert_eq!(put, Some(Request::Put(expected)));
    /// assert_eq!(Request::parse(b"get *").unwrap(), Some(Request::Get(Selector::All)));
    /// assert_eq!(Request::parse(b"  \t").unwrap(), None);
    /// assert!(Request::parse(b"got palm.cpu").is_err());
    /// ```
    pub fn parse(line: &'a [u8]) -> Result<Option<Request<'a>>> {
        let line_end = line.strip_suffix(b"\r").unwrap_or(line).len();
        if let Some((put, _)) = parse_plain_put(line).filter(|&(_, end)| end == line_end) {
            return Ok(Some(Request::Put(put)));
        }
        let mut words = Words::new(line);
        let Some(command) = words.next() else {
            return Ok(None);
        };
        let request = match command {
            b"put" => {
                let (Some(key), Some(value), Some(timestamp), None) =
                    (words.next(), words.next(), words.next(), words.next())
                else {
                    return Err(wrong_count("put", 3, line));
                };
                let key = as_new_key(key)?;
                let value = parse_value(value).ok_or_else(|| Error::InvalidValue { text: lossy(value) })?;
                let timestamp = parse_timestamp(timestamp)
                    .ok_or_else(|| Error::InvalidTimestamp { text: lossy(timestamp) })?;
                Request::Put(Put { key, value, timestamp })
            }
            b"get" => {
                let (Some(key), None) = (words.next(), words.next()) else {
                    return Err(wrong_count("get", 1, line));
                };
                match key {
                    b"*" => Request::Get(Selector::All),
                    key => Request::Get(Selector::Key(as_key(key)?)),
                }
            }
            other => {
                return Err(match std::str::from_utf8(other) {
                    Ok(command) => Error::UnknownCommand { command: command.to_owned() },
                    Err(_) => Error::InvalidUtf8,
                })
            }
        };
        Ok(Some(request))
    }
}

/// Reads a put of the usual shape from the front of `buf`, when a whole
/// line of it is there: the put and the bytes its line used, `\n`
/// included. This is [`next_line`] and [`Request::parse`] in one pass for
/// what nearly every line is; `None` means "use those two", which accept or
/// reject whatever this does not take.
///
/// # Examples
///
/// ```
/// use eardrum_protocol::{parse_put_line, Put};
///
/// let put = Put { key: "palm.cpu", value: 23.7, timestamp: 1150864247 };
/// assert_eq!(parse_put_line(b"put palm.cpu 23.7 1150864247\nget", 100), Some((put, 29)));
/// assert_eq!(parse_put_line(b"put palm.cpu 23.7 1150864247", 100), None);
/// ```
pub fn parse_put_line(buf: &[u8], max_line_bytes: usize) -> Option<(Put<'_>, usize)> {
    let (put, end) = parse_plain_put(buf)?;
    let line_len = match &buf[end..] {
        [b'\n', ..] => end,
        [b'\r', b'\n', ..] => end + 1,
        _ => return None,
    };
    (line_len <= max_line_bytes).then_some((put, line_len + 1))
}

/// The shape nearly every put has: `put KEY VALUE TIMESTAMP`, one space
/// between words. Returns the put and where its timestamp ends; `None`
/// means "not this shape or not valid", so this only has to be right when
/// it says yes.
fn parse_plain_put(bytes: &[u8]) -> Option<(Put<'_>, usize)> {
    let rest = bytes.strip_prefix(b"put ")?;
    let word_end = |bytes: &[u8]| find_low_byte(bytes, stops_fast_path);
    let (key, rest) = rest.split_at(word_end(rest)?);
    let rest = rest.strip_prefix(b" ")?;
    let (value, rest) = rest.split_at(word_end(rest)?);
    let rest = rest.strip_prefix(b" ")?;
    let timestamp = &rest[..word_end(rest).unwrap_or(rest.len())];
    if key.is_empty() || value.is_empty() {
        return None;
    }
    // `word_end` stopped at `\x1c`-`\x1f`, so an ASCII key holds no
    // Python whitespace: only other keys need the whole check.
    let key = match key.is_ascii() {
        true => ascii_str(key),
        false => std::str::from_utf8(key).ok().filter(|key| check_key(key).is_none())?,
    };
    let put = Put { timestamp: parse_timestamp(timestamp)?, value: parse_value(value)?, key };
    Some((put, bytes.len() - rest.len() + timestamp.len()))
}

pub(crate) fn as_key(word: &[u8]) -> Result<&str> {
    // Keys are nearly always ASCII, which is checked a word at a time, far
    // faster than validating UTF-8 for words this short.
    if word.is_ascii() {
        return Ok(ascii_str(word));
    }
    std::str::from_utf8(word).map_err(|_| Error::InvalidUtf8)
}

/// `word`, which must be ASCII, as a `str` without validating it again.
fn ascii_str(word: &[u8]) -> &str {
    debug_assert!(word.is_ascii());
    #[expect(unsafe_code, reason = "skips validating a key twice on the path of every put")]
    // SAFETY: ASCII bytes are valid UTF-8, and every caller checked them.
    unsafe {
        std::str::from_utf8_unchecked(word)
    }
}

/// A key a put may create: [`as_key`], and free of every character that
/// Python's `str.split()` takes for whitespace (the course's clients split
/// `get` replies with it, so one such key would break `get *` for all of
/// them).
pub(crate) fn as_new_key(word: &[u8]) -> Result<&str> {
    let key = as_key(word)?;
    match check_key(key) {
        Some(_) => Err(Error::WhitespaceInKey { key: key.to_owned() }),
        None => Ok(key),
    }
}

/// The first character of `key` that Python's `str.split()` treats as
/// whitespace, if any: ASCII's (space, tab, `\n`, `\r`, `\v`, `\f`), the
/// separators `\x1c`-`\x1f`, and Unicode's White_Space characters (U+0085,
/// U+00A0, U+1680, U+2000-U+200A, U+2028, U+2029, U+202F, U+205F, U+3000).
/// Every way into the store refuses such keys.
///
/// # Examples
///
/// ```
/// assert_eq!(eardrum_protocol::check_key("palm.cpu"), None);
/// assert_eq!(eardrum_protocol::check_key("a\u{a0}b"), Some('\u{a0}'));
/// assert_eq!(eardrum_protocol::check_key("a\x1cb"), Some('\x1c'));
/// ```
pub fn check_key(key: &str) -> Option<char> {
    let is_python_whitespace = |c: char| c.is_whitespace() || ('\x1c'..='\x1f').contains(&c);
    // Keys are nearly always ASCII: a byte scan, no decoding.
    if key.is_ascii() {
        let bytes = key.as_bytes();
        return bytes.iter().find(|&&b| is_python_whitespace(char::from(b))).map(|&b| char::from(b));
    }
    key.chars().find(|&c| is_python_whitespace(c))
}

pub(crate) fn lossy(word: &[u8]) -> String {
    String::from_utf8_lossy(word).into_owned()
}

fn wrong_count(command: &'static str, expected: usize, line: &[u8]) -> Error {
    Error::WrongArgumentCount { command, expected, actual: Words::new(line).count() - 1 }
}

/// The whitespace-separated words of a line, as Python's `bytes.split()`
/// finds them (`\n` never occurs inside a line).
#[derive(Debug, Clone)]
pub(crate) struct Words<'a> {
    rest: &'a [u8],
}

impl<'a> Words<'a> {
    pub(crate) fn new(line: &'a [u8]) -> Self {
        Words { rest: line }
    }
}

/// Space, tab, `\r`, vertical tab and form feed: Python's ASCII whitespace.
fn is_separator(byte: u8) -> bool {
    SEPARATORS[usize::from(byte)]
}

/// [`is_separator`] as a table: one load per byte instead of six compares.
static SEPARATORS: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < 6 {
        table[[b' ', b'\t', b'\r', b'\x0b', b'\x0c', b'\n'][i] as usize] = true;
        i += 1;
    }
    table
};

impl<'a> Iterator for Words<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let start = self.rest.iter().position(|&b| !is_separator(b))?;
        let rest = &self.rest[start..];
        let end = find_separator(rest).unwrap_or(rest.len());
        self.rest = &rest[end..];
        Some(&rest[..end])
    }
}

/// The position of the first separator in `bytes`.
fn find_separator(bytes: &[u8]) -> Option<usize> {
    find_low_byte(bytes, is_separator)
}

/// The position of the first byte in `bytes` that `wanted` takes; `wanted`
/// must take no byte above `0x20`. Words are long and the gaps between
/// them short, so this looks at eight bytes at a time: a word-wide
/// subtraction flags the bytes below `0x21` (the lowest flag is always
/// exact; `wanted` settles the rest).
#[inline]
fn find_low_byte(bytes: &[u8], wanted: impl Fn(u8) -> bool) -> Option<usize> {
    const ONES: u64 = u64::from_le_bytes([0x21; 8]);
    const HIGH_BITS: u64 = u64::from_le_bytes([0x80; 8]);
    let mut chunks = bytes.chunks_exact(8);
    let mut offset = 0;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word);
        let mut flagged = x.wrapping_sub(ONES) & !x & HIGH_BITS;
        while flagged != 0 {
            let at = flagged.trailing_zeros() as usize / 8;
            if wanted(chunk[at]) {
                return Some(offset + at);
            }
            flagged &= flagged - 1;
        }
        offset += 8;
    }
    chunks.remainder().iter().position(|&b| wanted(b)).map(|at| offset + at)
}

/// Where the put fast path's words end: a separator, or `\x1c`-`\x1f`,
/// which Python also splits on. A word that holds one is left to the
/// general parser (a put's key with one is an error), so that the fast path
/// checks for them at no cost: bytes below `!` are looked at one by one
/// anyway.
fn stops_fast_path(byte: u8) -> bool {
    is_separator(byte) || byte.wrapping_sub(0x1c) < 4
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<Option<Request<'_>>> {
        Request::parse(line.as_bytes())
    }

    #[test]
    fn words_split_on_runs_of_ascii_whitespace() {
        let words: Vec<&[u8]> = Words::new(b" \tput  a\x0b1\x0c 2 \r").collect();
        assert_eq!(words, [&b"put"[..], b"a", b"1", b"2"]);
    }

    #[test]
    fn separators_are_found_at_any_offset_among_any_bytes() {
        for separator in [b' ', b'\t', b'\r', b'\x0b', b'\x0c'] {
            for len in 0..40 {
                for at in 0..len {
                    // Control characters and bytes above 0x80 around it are not separators.
                    let mut bytes: Vec<u8> =
                        (0..len).map(|i| [b'a', 0x01, 0xff, b'!', 0x20 + 1][i % 5]).collect();
                    bytes[at] = separator;
                    assert_eq!(find_separator(&bytes), Some(at), "{bytes:?}");
                }
                let plain: Vec<u8> = (0..len).map(|i| [0x01, 0x1b, 0x80, b'z'][i % 4]).collect();
                assert_eq!(find_separator(&plain), None, "{plain:?}");
                // Python's other ASCII whitespace stops the fast path's words.
                for stop in 0x1c..=0x1f {
                    let mut stopped = plain.clone();
                    if let Some(last) = stopped.last_mut() {
                        *last = stop;
                        assert_eq!(find_low_byte(&stopped, stops_fast_path), Some(len - 1), "{stopped:?}");
                        assert_eq!(find_separator(&stopped), None, "{stopped:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn the_plain_put_shape_parses_as_the_general_path_does() {
        let lines: &[&[u8]] = &[
            b"put a 1 2",
            b"put a 1 2\r",
            b"put host1.cpu 23.5 1700000000",
            b"put a 1 2 ",
            b"put a  1 2",
            b"put a 1\t2",
            b"put  a 1 2",
            b"put a 1 2\r\r",
            b"put a 1",
            b"put a 1 2 3",
            b"put a x 2",
            b"put a 1 x",
            b"put \xff 1 2",
            b"put a 1_0 -2",
            b"put a nan +2",
            b"put a 1 ",
            b"put a ",
            b"put ",
        ];
        for &line in lines {
            let general = {
                let mut words = Words::new(line);
                words.next();
                match (words.next(), words.next(), words.next(), words.next()) {
                    (Some(key), Some(value), Some(ts), None) => {
                        std::str::from_utf8(key).ok().and_then(|key| {
                            Some(Put { key, value: parse_value(value)?, timestamp: parse_timestamp(ts)? })
                        })
                    }
                    _ => None,
                }
            };
            let mut framed = line.to_vec();
            framed.push(b'\n');
            let plain = parse_put_line(&framed, 100);
            if let Some((put, used)) = plain {
                assert_eq!(used, framed.len());
                let expected = general.unwrap_or_else(|| panic!("{line:?} is not a valid put"));
                assert_eq!(
                    (put.key, put.value.to_bits(), put.timestamp),
                    (expected.key, expected.value.to_bits(), expected.timestamp)
                );
            }
            assert_eq!(Request::parse(line).ok().flatten().is_some(), general.is_some(), "{line:?}");
        }
        assert!(parse_put_line(b"put host1.cpu 23.5 1700000000\r\n", 100).is_some());
        assert!(parse_put_line(b"put host1.cpu 23.5 1700000000\n", 20).is_none(), "too long");
    }

    #[test]
    fn put_and_get_parse() {
        assert_eq!(
            parse("put * -1 -5").unwrap(),
            Some(Request::Put(Put { key: "*", value: -1.0, timestamp: -5 }))
        );
        assert_eq!(parse("\tget   palm.cpu\r").unwrap(), Some(Request::Get(Selector::Key("palm.cpu"))));
        assert_eq!(parse("get ключ").unwrap(), Some(Request::Get(Selector::Key("ключ"))));
    }

    #[test]
    fn blank_lines_are_not_requests() {
        for line in ["", " ", "\t\t", "\r", " \r"] {
            assert_eq!(parse(line).unwrap(), None, "{line:?}");
        }
    }

    #[test]
    fn every_malformed_line_is_an_error() {
        let cases = [
            ("got test_key", "unknown command"),
            ("PUT a 1 2", "unknown command"),
            ("malformed command test", "unknown command"),
            ("put a 1", "takes 3"),
            ("put a 1 2 3", "takes 3"),
            ("put", "takes 3"),
            ("get", "takes 1"),
            ("get a b", "takes 1"),
            ("put a 10,5 1", "invalid value"),
            ("put a abc 1", "invalid value"),
            ("put a 1 1.5", "invalid timestamp"),
            ("put a 1 1e3", "invalid timestamp"),
            ("put a 1 abc", "invalid timestamp"),
            ("put a 1 9223372036854775808", "invalid timestamp"),
        ];
        for (line, expected) in cases {
            let error = parse(line).expect_err(line).to_string();
            assert!(error.contains(expected), "{line:?} gave {error:?}");
        }
    }

    #[test]
    fn invalid_utf8_is_an_error_wherever_it_is() {
        for line in [&b"put \xff 1 2"[..], b"get \xc3", b"\xffput a 1 2", b"put a \xff 2", b"put a 1 \xff"] {
            assert!(Request::parse(line).is_err(), "{line:?}");
        }
        assert_eq!(Request::parse(b"get \xff"), Err(Error::InvalidUtf8));
    }

    #[test]
    fn the_fast_path_and_the_general_parser_agree_on_every_ascii_byte_at_every_position_of_a_key() {
        for len in 1..20 {
            for position in 0..len {
                for byte in 0..0x80u8 {
                    let mut key = vec![b'a'; len];
                    key[position] = byte;
                    let line = [&b"put "[..], &key, b" 1 2\n"].concat();
                    let general = next_line(&line, 1024).ok().flatten().map(|(line, _)| Request::parse(line));
                    // The fast path may decline any line (the general parser
                    // then decides), but what it takes, it takes as that does.
                    if let Some((put, _)) = parse_put_line(&line, 1024) {
                        assert_eq!(general, Some(Ok(Some(Request::Put(put)))), "{line:?}");
                    }
                    let text = String::from_utf8(key.clone()).unwrap();
                    if check_key(&text).is_some() && !is_separator(byte) {
                        assert!(matches!(general, Some(Err(Error::WhitespaceInKey { .. }))), "{line:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn keys_python_clients_would_split_are_refused_on_put_only() {
        let python_whitespace = [
            "\x1c", "\x1d", "\x1e", "\x1f", "\u{85}", "\u{a0}", "\u{1680}", "\u{2000}", "\u{200a}",
            "\u{2028}", "\u{2029}", "\u{202f}", "\u{205f}", "\u{3000}",
        ];
        for space in python_whitespace {
            let line = format!("put a{space}b 1 2\n");
            assert!(
                matches!(Request::parse(line.trim_end().as_bytes()), Err(Error::WhitespaceInKey { .. })),
                "{space:?}"
            );
            assert_eq!(parse_put_line(line.as_bytes(), 100), None, "{space:?}: the fast path declines");
            assert!(crate::graphite::parse_line(format!("a{space}b 1 2").as_bytes()).is_err(), "{space:?}");
        }
        // Lookalikes that are not whitespace stay keys, and get is unchanged.
        for fine in ["a\u{200b}b", "a\u{180e}b", "ключ.значение", "a*b"] {
            assert!(Request::parse(format!("put {fine} 1 2").as_bytes()).is_ok(), "{fine:?}");
        }
        assert!(Request::parse("get a\u{a0}b".as_bytes()).is_ok());
    }

    #[test]
    fn line_limit_applies_with_and_without_newline() {
        assert_eq!(next_line(b"abcd\n", 4), Ok(Some((&b"abcd"[..], 5))));
        assert_eq!(next_line(b"abcde\n", 4), Err(Error::LineTooLong { limit: 4 }));
        assert_eq!(next_line(b"abcd", 4), Ok(None));
        assert_eq!(next_line(b"abcde", 4), Err(Error::LineTooLong { limit: 4 }));
        assert_eq!(next_line(b"\nrest", 4), Ok(Some((&b""[..], 1))));
    }
}
