//! The two file formats of `import` and `export`: the protocol's own rows
//! (`key value timestamp`, as `eardrum get` prints them) and CSV with a
//! `key,timestamp,value` header.

pub(crate) use crate::args::FileFormat as Format;
use eardrum_protocol::PyFloat;
use std::fmt::Write as _;
use std::path::Path;

impl Format {
    /// The given format, else by the file's extension: `.csv` is CSV,
    /// anything else lines.
    pub(crate) fn of(given: Option<Format>, path: &str) -> Format {
        given.unwrap_or_else(|| match Path::new(path).extension() {
            Some(extension) if extension.eq_ignore_ascii_case("csv") => Format::Csv,
            _ => Format::Lines,
        })
    }
}

/// Where the columns are in a CSV file, from its header.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct CsvColumns {
    key: usize,
    timestamp: usize,
    value: usize,
}

impl CsvColumns {
    /// Reads the header line.
    pub(super) fn from_header(line: &str) -> Result<CsvColumns, String> {
        let names = split_csv(line)?;
        let find = |wanted: &str| {
            names.iter().position(|name| name.trim().eq_ignore_ascii_case(wanted)).ok_or_else(|| {
                format!("the CSV header {line:?} has no {wanted:?} column (key,timestamp,value)")
            })
        };
        Ok(CsvColumns { key: find("key")?, timestamp: find("timestamp")?, value: find("value")? })
    }
}

/// One point read from a line of either format; `None` for a blank line.
pub(super) fn parse_line(
    line: &str,
    format: Format,
    columns: Option<CsvColumns>,
) -> Result<Option<(String, f64, i64)>, String> {
    if line.trim().is_empty() {
        return Ok(None);
    }
    match (format, columns) {
        (Format::Lines, _) => {
            let row = line.strip_prefix("put ").unwrap_or(line);
            let (key, value, timestamp) = eardrum_protocol::reply::parse_row(row.trim_end().as_bytes())
                .map_err(|error| match error {
                    // The row parser is the reply's: say what is wrong with
                    // the line, not with a reply.
                    eardrum_protocol::Error::MalformedReply { reason } => reason,
                    other => other.to_string(),
                })?;
            if let Some(c) = eardrum_protocol::check_key(key) {
                return Err(format!("the key {key:?} holds {c:?}, which Python clients take for whitespace"));
            }
            Ok(Some((key.to_owned(), value, timestamp)))
        }
        (Format::Csv, Some(columns)) => {
            let fields = split_csv(line)?;
            let field = |index: usize| fields.get(index).map(|f| f.trim()).ok_or("a column is missing");
            let key = field(columns.key)?;
            if key.is_empty() || eardrum_protocol::check_key(key).is_some() {
                return Err(format!(
                    "the key {key:?} is empty or holds whitespace (as Python clients see it)"
                ));
            }
            let value = eardrum_protocol::parse_value(field(columns.value)?.as_bytes()).ok_or_else(|| {
                format!("the value {:?} is not a number", field(columns.value).unwrap_or_default())
            })?;
            let timestamp = field(columns.timestamp)?.parse().map_err(|_| {
                format!(
                    "the timestamp {:?} is not whole seconds",
                    field(columns.timestamp).unwrap_or_default()
                )
            })?;
            Ok(Some((key.to_owned(), value, timestamp)))
        }
        (Format::Csv, None) => Err("a CSV file starts with its header".to_owned()),
    }
}

/// Appends one point in `format` (with its newline).
pub(super) fn write_point(out: &mut String, format: Format, key: &str, value: f64, timestamp: i64) {
    let _ = match format {
        Format::Lines => writeln!(out, "{key} {} {timestamp}", PyFloat(value)),
        Format::Csv => writeln!(out, "{},{timestamp},{}", csv_field(key), PyFloat(value)),
    };
}

/// The header line of `format`, if it has one.
pub(super) fn header(format: Format) -> Option<&'static str> {
    (format == Format::Csv).then_some("key,timestamp,value\n")
}

/// A field quoted as RFC 4180 asks when it holds a comma or a quote.
fn csv_field(text: &str) -> String {
    match text.contains([',', '"']) {
        true => format!("\"{}\"", text.replace('"', "\"\"")),
        false => text.to_owned(),
    }
}

/// The fields of one CSV line, quoted ones unquoted.
fn split_csv(line: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = line.trim_end_matches(['\r', '\n']).chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', false) if field.is_empty() => quoted = true,
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', true) => quoted = false,
            (',', false) => fields.push(std::mem::take(&mut field)),
            (c, _) => field.push(c),
        }
    }
    if quoted {
        return Err("a quoted field is not closed".to_owned());
    }
    fields.push(field);
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_formats_read_what_they_write() {
        for format in [Format::Lines, Format::Csv] {
            let mut text = String::new();
            write_point(&mut text, format, "palm.cpu", 23.7, 1150864247);
            write_point(&mut text, format, "odd,\"key\"", f64::NEG_INFINITY, -5);
            let columns = header(format).map(|h| CsvColumns::from_header(h).unwrap());
            let points: Vec<_> =
                text.lines().map(|line| parse_line(line, format, columns).unwrap().unwrap()).collect();
            if format == Format::Lines {
                assert_eq!(text, "palm.cpu 23.7 1150864247\nodd,\"key\" -inf -5\n");
            } else {
                assert_eq!(text, "palm.cpu,1150864247,23.7\n\"odd,\"\"key\"\"\",-5,-inf\n");
            }
            assert_eq!(points[0], ("palm.cpu".to_owned(), 23.7, 1150864247));
            assert_eq!(points[1], ("odd,\"key\"".to_owned(), f64::NEG_INFINITY, -5));
        }
    }

    #[test]
    fn bad_lines_say_what_is_wrong() {
        let columns = CsvColumns::from_header("Value,Key,Timestamp,host").unwrap();
        assert_eq!(
            parse_line("1.5,a.b,10,x", Format::Csv, Some(columns)).unwrap(),
            Some(("a.b".into(), 1.5, 10))
        );
        assert_eq!(parse_line("put a 1 2", Format::Lines, None).unwrap(), Some(("a".into(), 1.0, 2)));
        assert_eq!(parse_line("   ", Format::Lines, None).unwrap(), None);
        for (line, format, message) in [
            ("a 1", Format::Lines, "three words"),
            ("a x 1", Format::Lines, "not a float"),
            ("a 1 1.5", Format::Lines, "not an integer"),
            ("x,a b,1", Format::Csv, "holds whitespace"),
            ("x,a\u{a0}b,1", Format::Csv, "holds whitespace"),
            ("a\x1cb 1 2", Format::Lines, "Python clients take for whitespace"),
            ("a\u{2028}b 1 2", Format::Lines, "Python clients take for whitespace"),
            ("x,a,1", Format::Csv, "not a number"),
            ("1,a,soon", Format::Csv, "not whole seconds"),
            ("1,\"a", Format::Csv, "not closed"),
            ("1", Format::Csv, "missing"),
        ] {
            let error = parse_line(line, format, Some(columns)).unwrap_err();
            assert!(error.contains(message), "{line:?}: {error}");
        }
        assert!(CsvColumns::from_header("key,time,value").unwrap_err().contains("no \"timestamp\" column"));
    }
}
