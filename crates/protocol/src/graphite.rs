//! Graphite's plaintext protocol, as carbon reads it: one `name value
//! timestamp` line per point, no replies.
//!
//! What collectd, Diamond and other agents send is accepted: `\r\n` line
//! ends, runs of spaces or tabs, `nan` and other Python float spellings for
//! values, timestamps with a fraction (`1700000000.5`, truncated as carbon
//! does) and `-1` for "now".

use crate::number::{parse_timestamp, parse_value};
use crate::request::{as_new_key, lossy, Words};
use crate::{Error, Result};

/// One point of a plaintext line, its name borrowed from the line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GraphitePoint<'a> {
    /// The metric's dotted name.
    pub key: &'a str,
    /// The value.
    pub value: f64,
    /// Unix seconds, or `None` for carbon's `-1`: the time it arrives.
    pub timestamp: Option<i64>,
}

/// Parses one line (without its `\n`); `Ok(None)` for a blank line.
///
/// # Errors
///
/// [`Error::WrongArgumentCount`] unless the line has exactly three words,
/// [`Error::InvalidUtf8`] for a name that is not UTF-8, and
/// [`Error::InvalidValue`] or [`Error::InvalidTimestamp`] for numbers
/// carbon would not read.
///
/// # Examples
///
/// ```
/// use eardrum_protocol::graphite::{parse_line, GraphitePoint};
///
/// let point = parse_line(b"collectd.host.cpu-0.idle nan 1700000000\r").unwrap().unwrap();
/// assert_eq!((point.key, point.timestamp), ("collectd.host.cpu-0.idle", Some(1700000000)));
/// assert!(point.value.is_nan());
/// assert_eq!(parse_line(b"a.b 1.5 -1").unwrap().unwrap().timestamp, None);
/// assert!(parse_line(b"a.b 1.5").is_err());
/// ```
pub fn parse_line(line: &[u8]) -> Result<Option<GraphitePoint<'_>>> {
    let mut words = Words::new(line);
    let Some(name) = words.next() else {
        return Ok(None);
    };
    let (Some(value), Some(timestamp), None) = (words.next(), words.next(), words.next()) else {
        let actual = Words::new(line).count() - 1;
        return Err(Error::WrongArgumentCount { command: "graphite", expected: 2, actual });
    };
    let key = as_new_key(name)?;
    let value = parse_value(value).ok_or_else(|| Error::InvalidValue { text: lossy(value) })?;
    let timestamp = parse_graphite_timestamp(timestamp)
        .ok_or_else(|| Error::InvalidTimestamp { text: lossy(timestamp) })?;
    Ok(Some(GraphitePoint { key, value, timestamp }))
}

/// Whole seconds, or seconds with a fraction (truncated toward zero, as
/// carbon's `int(float(t))` does); `-1` means now.
fn parse_graphite_timestamp(word: &[u8]) -> Option<Option<i64>> {
    let seconds = match parse_timestamp(word) {
        Some(seconds) => seconds,
        None => {
            let seconds = parse_value(word).filter(|s| s.is_finite())?.trunc();
            // Only values an i64 holds exactly; 2^63 itself does not fit.
            if !(-9.223_372_036_854_775e18..9.223_372_036_854_775e18).contains(&seconds) {
                return None;
            }
            seconds as i64
        }
    };
    Some((seconds != -1).then_some(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(line: &str) -> GraphitePoint<'_> {
        parse_line(line.as_bytes()).unwrap().unwrap()
    }

    #[test]
    fn collectd_shaped_lines_parse() {
        let p = point("collectd.palm.memory.memory-used 1.2345e+09 1700000000\r");
        assert_eq!(
            (p.key, p.value, p.timestamp),
            ("collectd.palm.memory.memory-used", 1.2345e9, Some(1_700_000_000))
        );
        assert!(point("collectd.palm.cpu-0.cpu-idle nan 1700000010").value.is_nan());
        assert_eq!(point("a\t\t2  1700000000.987 ").timestamp, Some(1_700_000_000));
        assert_eq!(point("a -inf 0").value, f64::NEG_INFINITY);
        assert_eq!(point("a 1 -1").timestamp, None);
        assert_eq!(point("a 1 -1.0").timestamp, None);
        assert_eq!(point("a 1 -5").timestamp, Some(-5));
        assert_eq!(parse_line(b"   \r"), Ok(None));
    }

    #[test]
    fn bad_lines_are_errors_that_say_why() {
        for (line, expected) in [
            (&b"a 1"[..], "takes 2"),
            (b"a 1 2 3", "takes 2"),
            (b"a 1,5 1700000000", "invalid value"),
            (b"a 1 yesterday", "invalid timestamp"),
            (b"a 1 1e30", "invalid timestamp"),
            (b"a 1 inf", "invalid timestamp"),
            (b"a\xff 1 1", "UTF-8"),
        ] {
            let error = parse_line(line).unwrap_err().to_string();
            assert!(error.contains(expected), "{:?}: {error}", String::from_utf8_lossy(line));
        }
    }
}
