//! ClickHouse's TabSeparated format and SQL string literals: escaping keys
//! going in, reading keys and floats coming out.

use std::fmt::Write as _;

/// Appends `text` as a TabSeparated field: backslash, tab, newline and
/// carriage return escaped with a backslash.
pub(crate) fn push_field(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
}

/// Appends a row of the `series` table: the key and its first-seen time.
pub(crate) fn push_series_row(out: &mut String, key: &str, first_seen: u64) {
    push_field(out, key);
    let _ = writeln!(out, "\t{first_seen}");
}

/// Appends a row of the `points` table.
pub(crate) fn push_point_row(out: &mut String, key: &str, timestamp: i64, value: f64, version: u64) {
    push_field(out, key);
    let _ = write!(out, "\t{timestamp}\t");
    push_float(out, value);
    let _ = writeln!(out, "\t{version}");
}

/// A TabSeparated field read back.
pub(crate) fn unescape(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    let mut chars = field.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('0') => out.push('\0'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// `text` as a quoted SQL string literal.
pub(crate) fn sql_string(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('\'');
    for c in text.chars() {
        if matches!(c, '\'' | '\\') {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('\'');
    quoted
}

/// Appends a float as ClickHouse reads it exactly: the shortest digits
/// that read back to the same double, and `nan`, `inf`, `-inf`.
pub(crate) fn push_float(out: &mut String, value: f64) {
    if value.is_nan() {
        out.push_str("nan");
    } else if value.is_infinite() {
        out.push_str(if value > 0.0 { "inf" } else { "-inf" });
    } else {
        // Rust's `{:?}` is the shortest round-trip form, with an exponent
        // for very large and small numbers (`1e300`), which ClickHouse reads.
        let _ = write!(out, "{value:?}");
    }
}

/// A float as ClickHouse prints it (`nan`, `inf`, `-inf` or a number).
pub(crate) fn parse_float(text: &str) -> Option<f64> {
    match text {
        "nan" | "-nan" => Some(f64::NAN),
        "inf" | "+inf" => Some(f64::INFINITY),
        "-inf" => Some(f64::NEG_INFINITY),
        number => number.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_and_literals_escape_what_would_break_them() {
        let mut field = String::new();
        push_field(&mut field, "a\\b\tc");
        assert_eq!(field, "a\\\\b\\tc");
        assert_eq!(unescape(&field), "a\\b\tc");
        assert_eq!(sql_string("it's a\\b"), "'it\\'s a\\\\b'");
        let float = |value| {
            let mut text = String::new();
            push_float(&mut text, value);
            text
        };
        for value in [0.1, -2.5e-300, 1e300, 23.7, f64::INFINITY, f64::NEG_INFINITY] {
            assert_eq!(parse_float(&float(value)), Some(value));
        }
        assert!(parse_float(&float(f64::NAN)).unwrap().is_nan());
    }
}
