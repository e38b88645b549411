//! Reading the numbers of a `put`: values as Python's `float()` reads them,
//! timestamps as Python's `int()` reads them.
//!
//! The course's reference server converts words with `float()` and `int()`,
//! so anything those accept is valid here and nothing else is: underscores
//! between digits (`1_000`), a leading `+`, `inf`/`infinity`/`nan` in any case,
//! but no hexadecimal, no `1,5` and no surrounding junk.

/// Parses a value word the way Python's `float()` does, or `None`.
///
/// # Examples
///
/// ```
/// use eardrum_protocol::parse_value;
///
/// assert_eq!(parse_value(b"2.50"), Some(2.5));
/// assert_eq!(parse_value(b"-Infinity"), Some(f64::NEG_INFINITY));
/// assert_eq!(parse_value(b"1_000"), Some(1000.0));
/// assert_eq!(parse_value(b"10,5"), None);
/// ```
pub fn parse_value(word: &[u8]) -> Option<f64> {
    let (negative, unsigned) = split_sign(word);
    let special = if unsigned.eq_ignore_ascii_case(b"inf") || unsigned.eq_ignore_ascii_case(b"infinity") {
        Some(f64::INFINITY)
    } else if unsigned.eq_ignore_ascii_case(b"nan") {
        Some(f64::NAN)
    } else {
        None
    };
    if let Some(special) = special {
        return Some(if negative { -special } else { special });
    }
    let has_underscores = check_decimal(unsigned)?;
    // The grammar check above is stricter than Rust's parser, which reads
    // every word that passed it with correct rounding; it only lacks
    // underscores, so those are dropped first.
    if has_underscores {
        let cleaned: Vec<u8> = word.iter().copied().filter(|&b| b != b'_').collect();
        parse_ascii(&cleaned)
    } else {
        parse_ascii(word)
    }
}

/// Parses a timestamp word the way Python's `int()` does, limited to the
/// signed 64-bit range, or `None`.
///
/// # Examples
///
/// ```
/// use eardrum_protocol::parse_timestamp;
///
/// assert_eq!(parse_timestamp(b"1150864247"), Some(1150864247));
/// assert_eq!(parse_timestamp(b"-9223372036854775808"), Some(i64::MIN));
/// assert_eq!(parse_timestamp(b"9223372036854775808"), None);
/// assert_eq!(parse_timestamp(b"1.5"), None);
/// ```
pub fn parse_timestamp(word: &[u8]) -> Option<i64> {
    let (negative, digits) = split_sign(word);
    if !is_digit_part(digits) {
        return None;
    }
    // Accumulate on the negative side so that i64::MIN, whose magnitude has
    // no positive counterpart, parses without overflow.
    let mut total: i64 = 0;
    for &byte in digits.iter().filter(|&&b| b != b'_') {
        total = total.checked_mul(10)?.checked_sub(i64::from(byte - b'0'))?;
    }
    if negative {
        Some(total)
    } else {
        total.checked_neg()
    }
}

fn split_sign(word: &[u8]) -> (bool, &[u8]) {
    match word.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, word),
    }
}

fn parse_ascii<T: std::str::FromStr>(bytes: &[u8]) -> Option<T> {
    std::str::from_utf8(bytes).ok()?.parse().ok()
}

/// Python's `digitpart`: digits, with single underscores allowed between two
/// digits.
fn is_digit_part(part: &[u8]) -> bool {
    let mut previous_was_digit = false;
    for &byte in part {
        match byte {
            b'0'..=b'9' => previous_was_digit = true,
            b'_' if previous_was_digit => previous_was_digit = false,
            _ => return false,
        }
    }
    previous_was_digit
}

/// Checks an unsigned decimal literal against Python's float grammar:
/// `[digitpart] "." digitpart | digitpart ["."]`, then an optional exponent
/// `("e" | "E") [sign] digitpart`. Returns whether it holds underscores.
fn check_decimal(text: &[u8]) -> Option<bool> {
    let (number, exponent) = match text.iter().position(|&b| b == b'e' || b == b'E') {
        Some(at) => (&text[..at], Some(&text[at + 1..])),
        None => (text, None),
    };
    let number_ok = match number.iter().position(|&b| b == b'.') {
        Some(at) => {
            let (whole, fraction) = (&number[..at], &number[at + 1..]);
            match (whole.is_empty(), fraction.is_empty()) {
                (true, true) => false,
                (true, false) => is_digit_part(fraction),
                (false, true) => is_digit_part(whole),
                (false, false) => is_digit_part(whole) && is_digit_part(fraction),
            }
        }
        None => is_digit_part(number),
    };
    let exponent_ok = exponent.is_none_or(|exp| is_digit_part(split_sign(exp).1));
    (number_ok && exponent_ok).then(|| text.contains(&b'_'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_python_accepts() {
        let cases: &[(&str, f64)] = &[
            ("10", 10.0),
            ("-0.5", -0.5),
            ("1e20", 1e20),
            ("2.50", 2.5),
            ("+3", 3.0),
            (".5", 0.5),
            ("5.", 5.0),
            ("1E+3", 1000.0),
            ("1e-3", 0.001),
            ("1_000.000_1", 1000.0001),
            ("1e1_0", 1e10),
            ("inf", f64::INFINITY),
            ("-inf", f64::NEG_INFINITY),
            ("+Infinity", f64::INFINITY),
            ("iNfInItY", f64::INFINITY),
            ("007", 7.0),
            ("1e400", f64::INFINITY),
            ("1e-400", 0.0),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_value(text.as_bytes()), Some(*expected), "{text}");
        }
        assert!(parse_value(b"nan").is_some_and(f64::is_nan));
        assert!(parse_value(b"-NaN").is_some_and(f64::is_nan));
        assert!(parse_value(b"-0").is_some_and(|v| v == 0.0 && v.is_sign_negative()));
    }

    #[test]
    fn values_python_rejects() {
        for text in [
            "", "10,5", "abc", ".", "e5", "1e", "1e+", "_1", "1_", "1__0", "1_.5", "1._5", "1.5_", "0x10",
            "--1", "+-1", "1.2.3", "infinit", "nana", "1 ", "١", "1e5.0", "in f", "+",
        ] {
            assert_eq!(parse_value(text.as_bytes()), None, "{text:?} must be rejected");
        }
    }

    #[test]
    fn timestamps_python_int_accepts() {
        let cases: &[(&str, i64)] = &[
            ("0", 0),
            ("-0", 0),
            ("+17", 17),
            ("0017", 17),
            ("1_150_864_247", 1_150_864_247),
            ("9223372036854775807", i64::MAX),
            ("-9223372036854775808", i64::MIN),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_timestamp(text.as_bytes()), Some(*expected), "{text}");
        }
    }

    #[test]
    fn timestamps_python_int_rejects_or_out_of_range() {
        for text in [
            "",
            "1.5",
            "1e3",
            "abc",
            "-",
            "_1",
            "1_",
            "1__2",
            "9223372036854775808",
            "-9223372036854775809",
            "99999999999999999999999",
            "0x10",
            "12a",
        ] {
            assert_eq!(parse_timestamp(text.as_bytes()), None, "{text:?} must be rejected");
        }
    }
}
