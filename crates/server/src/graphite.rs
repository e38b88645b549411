//! Graphite's plaintext protocol on its own port: `name value timestamp`
//! lines, no replies, into the same store with the same semantics (the
//! last value put for a timestamp wins).
//!
//! Tagged names (`disk.used;host=a;dc=east`) are stored under the name
//! carbon gives them, tags sorted (`disk.used;dc=east;host=a`); one carbon
//! would refuse (`a;b`, `a;b=~c`) is a bad line.
//!
//! Nothing is answered, so nothing can tell a client its line was bad: a
//! bad line is counted and logged and the stream goes on at the next line,
//! and a line over the length limit is skipped through its `\n` rather
//! than closing the connection, so one bad writer cannot desync a stream.

use crate::handler::Limits;
use eardrum_graphite::tags::{is_tagged, TaggedName};
use eardrum_protocol::graphite::parse_line;
use eardrum_protocol::next_line;
use eardrum_storage::Sample;
use std::borrow::Cow;

/// The points of a buffer's complete lines, and what was wrong with the
/// others.
#[derive(Debug, Default)]
pub(crate) struct Lines<'a> {
    pub(crate) samples: Vec<Sample<'a>>,
    /// Points of tagged names written with their tags out of carbon's
    /// order, under the normalised name: `(place among the samples, name,
    /// timestamp, value)`.
    pub(crate) renamed: Vec<(usize, String, i64, f64)>,
    /// Bytes consumed from the front of the input.
    pub(crate) consumed: usize,
    /// Lines that could not be read as a point (overlong ones included).
    pub(crate) rejected: u64,
    /// Of those, lines whose name was over the key limit.
    pub(crate) keys_too_long: u64,
}

impl Lines<'_> {
    /// Every point, renamed ones too, in the order of their lines (so that
    /// of two for one name and time, the later still wins).
    pub(crate) fn in_order(&self) -> Cow<'_, [Sample<'_>]> {
        if self.renamed.is_empty() {
            return Cow::Borrowed(&self.samples);
        }
        let mut all = Vec::with_capacity(self.samples.len() + self.renamed.len());
        let mut renamed = self.renamed.iter().peekable();
        for (at, sample) in self.samples.iter().enumerate() {
            while let Some((_, key, timestamp, value)) = renamed.next_if(|(place, ..)| *place == at) {
                all.push(Sample { key, timestamp: *timestamp, value: *value });
            }
            all.push(*sample);
        }
        all.extend(renamed.map(|(_, key, timestamp, value)| Sample {
            key,
            timestamp: *timestamp,
            value: *value,
        }));
        Cow::Owned(all)
    }
}

/// Reads the complete lines of `input`. `skipping` carries across calls:
/// it is set while the rest of an overlong line is being discarded.
/// Points with carbon's `-1` timestamp get `now`.
pub(crate) fn parse_lines<'a>(input: &'a [u8], limits: Limits, skipping: &mut bool, now: i64) -> Lines<'a> {
    let mut lines = Lines::default();
    loop {
        let rest = &input[lines.consumed..];
        if *skipping {
            match memchr::memchr(b'\n', rest) {
                Some(end) => {
                    lines.consumed += end + 1;
                    *skipping = false;
                }
                None => {
                    lines.consumed = input.len();
                    return lines;
                }
            }
            continue;
        }
        let (line, used) = match next_line(rest, limits.max_line_bytes) {
            Ok(Some(found)) => found,
            Ok(None) => return lines,
            Err(error) => {
                tracing::debug!(%error, "skipping an overlong Graphite line");
                lines.rejected += 1;
                *skipping = true;
                continue;
            }
        };
        lines.consumed += used;
        match parse_line(line) {
            Ok(None) => {}
            Ok(Some(point)) if point.key.len() > limits.max_key_bytes => {
                tracing::debug!(bytes = point.key.len(), "rejected a Graphite name over the key limit");
                lines.rejected += 1;
                lines.keys_too_long += 1;
            }
            Ok(Some(point)) if is_tagged(point.key) => match TaggedName::parse(point.key) {
                Ok(name) => {
                    let timestamp = point.timestamp.unwrap_or(now);
                    let path = name.path();
                    match path == point.key {
                        true => lines.samples.push(Sample { key: point.key, timestamp, value: point.value }),
                        false => lines.renamed.push((lines.samples.len(), path, timestamp, point.value)),
                    }
                }
                Err(reason) => {
                    tracing::debug!(%reason, "rejected a Graphite line whose tags carbon would not read");
                    lines.rejected += 1;
                }
            },
            Ok(Some(point)) => lines.samples.push(Sample {
                key: point.key,
                timestamp: point.timestamp.unwrap_or(now),
                value: point.value,
            }),
            Err(error) => {
                tracing::debug!(%error, line = %String::from_utf8_lossy(line), "rejected a Graphite line");
                lines.rejected += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits { max_line_bytes: 40, max_key_bytes: 12, max_reply_bytes: 1024 };

    fn keys_and_times<'a>(lines: &Lines<'a>) -> Vec<(&'a str, i64)> {
        lines.samples.iter().map(|s| (s.key, s.timestamp)).collect()
    }

    #[test]
    fn good_lines_become_samples_and_bad_ones_are_counted_without_losing_the_stream() {
        let input = b"a.b 1 100\r\nbroken\r\n\r\nc.d nan -1\nname.far.too.long 1 1\nlast 2 200\npartial 3";
        let mut skipping = false;
        let lines = parse_lines(input, LIMITS, &mut skipping, 7);
        assert_eq!(keys_and_times(&lines), [("a.b", 100), ("c.d", 7), ("last", 200)]);
        assert!(lines.samples[1].value.is_nan());
        assert_eq!((lines.rejected, lines.keys_too_long), (2, 1));
        assert_eq!(lines.consumed, input.len() - b"partial 3".len());
    }

    #[test]
    fn an_overlong_line_is_skipped_through_its_newline_even_across_reads() {
        let mut skipping = false;
        let long = [b'x'; 50];
        let lines = parse_lines(&long, LIMITS, &mut skipping, 0);
        assert!(skipping);
        assert_eq!((lines.consumed, lines.rejected), (50, 1));
        let lines = parse_lines(b"xxxx 1 1\nafter 1 5\n", LIMITS, &mut skipping, 0);
        assert!(!skipping);
        assert_eq!(keys_and_times(&lines), [("after", 5)]);
        assert_eq!(lines.rejected, 0, "counted once, when it began");
    }

    #[test]
    fn tagged_names_are_stored_as_carbon_names_them() {
        let limits = Limits { max_line_bytes: 100, max_key_bytes: 50, ..LIMITS };
        let input = b"cpu;dc=e;host=a 1 10\ncpu;host=a;dc=e 2 20\nbad;tag 3 30\nbad;t=~x 4 40\n";
        let lines = parse_lines(input, limits, &mut false, 0);
        assert_eq!(keys_and_times(&lines), [("cpu;dc=e;host=a", 10)]);
        assert_eq!(lines.renamed, [(1, "cpu;dc=e;host=a".to_owned(), 20, 2.0)]);
        assert_eq!(lines.rejected, 2);
        let all: Vec<(&str, i64)> = lines.in_order().iter().map(|s| (s.key, s.timestamp)).collect();
        assert_eq!(all, [("cpu;dc=e;host=a", 10), ("cpu;dc=e;host=a", 20)]);
    }
}
