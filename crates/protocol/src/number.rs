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
    if let Some(magnitude) = parse_short_decimal(unsigned) {
        return Some(if negative { -magnitude } else { magnitude });
    }
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

/// The fast path for what metrics mostly send: `digits[.digits]` with at
/// most 15 digits in all. Both the integer they spell and the power of ten
/// are then exact doubles, so one division rounds exactly as a full decimal
/// parser would (Clinger's fast path). `None` means "take the full path",
/// not "invalid".
fn parse_short_decimal(text: &[u8]) -> Option<f64> {
    const POW10: [f64; 16] =
        [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];
    if text.is_empty() || text.len() > 16 {
        return None;
    }
    let (mut mantissa, mut digits, mut fraction_digits, mut seen_point) = (0u64, 0usize, 0usize, false);
    for &byte in text {
        match byte {
            b'0'..=b'9' => {
                mantissa = mantissa * 10 + u64::from(byte - b'0');
                digits += 1;
                fraction_digits += usize::from(seen_point);
            }
            b'.' if !seen_point => seen_point = true,
            _ => return None,
        }
    }
    if digits == 0 || digits > 15 {
        return None;
    }
    Some(mantissa as f64 / POW10[fraction_digits])
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
    // What clients send: up to 18 plain digits, which cannot overflow.
    if let Some(magnitude) = plain_digits(digits) {
        return Some(if negative { -magnitude } else { magnitude });
    }
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

/// The value of 1 to 18 ASCII digits, or `None` for anything else. Unix
/// timestamps have ten digits: two are read one at a time, the other eight
/// in one word.
fn plain_digits(digits: &[u8]) -> Option<i64> {
    if !(1..=18).contains(&digits.len()) {
        return None;
    }
    let (head, words) = digits.split_at(digits.len() % 8);
    let mut total = 0i64;
    for &byte in head {
        if !byte.is_ascii_digit() {
            return None;
        }
        total = total * 10 + i64::from(byte - b'0');
    }
    for word in words.chunks_exact(8) {
        let word: [u8; 8] = word.try_into().ok()?;
        total = total * 100_000_000 + i64::from(eight_digits(word)?);
    }
    Some(total)
}

/// The value of eight ASCII digits, or `None` if any byte is not a digit:
/// a check and three multiplications on one 64-bit word instead of eight
/// steps (the method of simdjson's `parse_eight_digits_unrolled`).
fn eight_digits(bytes: [u8; 8]) -> Option<u32> {
    const ZEROS: u64 = 0x3030_3030_3030_3030;
    const HIGH_NIBBLES: u64 = 0xF0F0_F0F0_F0F0_F0F0;
    let word = u64::from_le_bytes(bytes);
    // Digits are 0x30..=0x39: high nibble 3, and adding 6 to the low
    // nibble does not carry into it. No byte can carry into the next.
    if word & HIGH_NIBBLES != ZEROS || word.wrapping_add(0x0606_0606_0606_0606) & HIGH_NIBBLES != ZEROS {
        return None;
    }
    // Pairs of digits, then fours, then all eight; the first digit is in
    // the lowest byte, so each step multiplies the lower half by 10^n.
    let pairs = ((word & 0x0F0F_0F0F_0F0F_0F0F).wrapping_mul(10 << 8 | 1)) >> 8;
    let fours = ((pairs & 0x00FF_00FF_00FF_00FF).wrapping_mul(100 << 16 | 1)) >> 16;
    let eight = ((fours & 0x0000_FFFF_0000_FFFF).wrapping_mul(10_000 << 32 | 1)) >> 32;
    u32::try_from(eight).ok()
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
    use proptest::prelude::*;

    fn by_steps(digits: &[u8]) -> Option<i64> {
        let valid = (1..=18).contains(&digits.len()) && digits.iter().all(u8::is_ascii_digit);
        valid.then(|| digits.iter().fold(0i64, |total, &byte| total * 10 + i64::from(byte - b'0')))
    }

    #[test]
    fn eight_digits_at_once_reads_every_digit_in_every_place_and_nothing_else() {
        for place in 0..8 {
            for byte in 0..=255u8 {
                let mut word = *b"12345678";
                word[place] = byte;
                assert_eq!(eight_digits(word).map(i64::from), by_steps(&word), "{word:?}");
            }
        }
        assert_eq!(eight_digits(*b"00000000"), Some(0));
        assert_eq!(eight_digits(*b"99999999"), Some(99_999_999));
    }

    proptest! {
        #[test]
        fn plain_digits_agree_with_reading_one_at_a_time(
            digits in proptest::collection::vec(prop_oneof![8 => b'0'..=b'9', 1 => any::<u8>()], 0..24)
        ) {
            prop_assert_eq!(plain_digits(&digits), by_steps(&digits));
        }
    }

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
    fn the_short_decimal_path_agrees_with_the_full_parser() {
        for text in
            ["0", "0.0", "5.", ".5", "23.7", "100", "0.000015", "999999999999999", "12345.6789012345", "0.1"]
        {
            let fast = parse_short_decimal(text.as_bytes()).map(f64::to_bits);
            assert_eq!(fast, text.parse::<f64>().ok().map(f64::to_bits), "{text}");
        }
        for text in ["", ".", "1.2.3", "1e5", "1_0", "1234567890123456", "-1", "nan"] {
            assert_eq!(parse_short_decimal(text.as_bytes()), None, "{text}");
        }
    }

    proptest::proptest! {
        #[test]
        fn short_decimals_parse_to_the_correctly_rounded_double(whole in 0u64..10_000_000, fraction in 0u64..100_000_000, fraction_digits in 0usize..8) {
            let text = if fraction_digits == 0 {
                whole.to_string()
            } else {
                format!("{whole}.{:0width$}", fraction % 10u64.pow(fraction_digits as u32), width = fraction_digits)
            };
            proptest::prop_assert_eq!(
                parse_value(text.as_bytes()).map(f64::to_bits),
                text.parse::<f64>().ok().map(f64::to_bits)
            );
        }
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
