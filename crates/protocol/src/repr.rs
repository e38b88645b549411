//! Printing values exactly as Python's `repr(float)` does.
//!
//! Python prints the shortest decimal text that reads back to the same
//! double, in positional form when the decimal exponent is in `-4..16` (with
//! `.0` appended to whole numbers) and in exponent form otherwise (`1e+16`,
//! `1.5e-05`: explicit sign, at least two exponent digits). Rust's `{:e}`
//! formatting already yields the shortest round-trip digits; this module only
//! lays them out the way Python does.

use std::fmt;
use std::io::Write as _;

/// Appends `value` to `out` as Python's `repr(float)` prints it.
///
/// # Examples
///
/// ```
/// use eardrum_protocol::format_value;
///
/// let mut out = Vec::new();
/// for value in [10.0, 1e16, 0.000015, -0.0, f64::NAN] {
///     format_value(value, &mut out);
///     out.push(b' ');
/// }
/// assert_eq!(out, b"10.0 1e+16 1.5e-05 -0.0 nan ");
/// ```
pub fn format_value(value: f64, out: &mut Vec<u8>) {
    let mut text = [0u8; VALUE_TEXT_BYTES];
    match write_value_fast(value, &mut 0, &mut text) {
        Some(len) => out.extend_from_slice(&text[..len]),
        None => write_general(value, out),
    }
}

/// Room for a value's text on the fast paths ([`write_value_fast`],
/// [`write_stored_decimal`]): a sign, fifteen digits, a point and a zero
/// at most.
pub(crate) const VALUE_TEXT_BYTES: usize = 24;

/// Writes `value` as [`format_value`] does to the start of `text`, and
/// returns its length, for NaN, the infinities and short decimals; `None`,
/// writing nothing, for the values [`write_general`] prints. Decimals are
/// tried from `*decimals`, and the count that fitted is left there: a
/// series' values mostly share theirs, so the next one fits at the first
/// try.
pub(crate) fn write_value_fast(
    value: f64,
    decimals: &mut usize,
    text: &mut [u8; VALUE_TEXT_BYTES],
) -> Option<usize> {
    if value.is_nan() {
        text[..3].copy_from_slice(b"nan");
        return Some(3);
    }
    if value.is_infinite() {
        let shown: &[u8] = if value > 0.0 { b"inf" } else { b"-inf" };
        text[..shown.len()].copy_from_slice(shown);
        return Some(shown.len());
    }
    write_short_decimal(value, decimals, text)
}

/// Any finite value, from its shortest round-trip digits.
fn write_general(value: f64, out: &mut Vec<u8>) {
    if value.is_sign_negative() {
        out.push(b'-');
    }
    let (digits, exponent) = shortest_digits(value.abs());
    let digits = digits.as_slice();
    if (-4..16).contains(&exponent) {
        write_positional(digits, exponent, out);
    } else {
        write_exponential(digits, exponent, out);
    }
}

/// Powers of ten that are exact as doubles, for the decimal fast path.
const POW10: [f64; 7] = [1.0, 10.0, 100.0, 1e3, 1e4, 1e5, 1e6];

/// The fast path for what metrics mostly are: values that are exactly an
/// integer `n` over `10^d` with at most six decimals, `n` below 10^15, and
/// no smaller than 1e-4. Their shortest round-trip text is `n` with the
/// point put back and trailing zeros dropped (a shorter decimal would lie
/// more than half an ulp away, since doubles near them are spaced closer
/// than 10^-15 relative), and Python prints them positionally. Returns the
/// length written to the start of `text`, or `None`, writing nothing, for
/// every other value.
///
/// Counts of decimals are tried from `*decimals` up, then below it: a
/// value that fits `d` decimals fits every count above too, with trailing
/// zeros, so the first fit from the hint is the value and the zeros are
/// dropped after.
fn write_short_decimal(value: f64, decimals: &mut usize, text: &mut [u8; VALUE_TEXT_BYTES]) -> Option<usize> {
    let magnitude = value.abs();
    if !(1e-4..1e15).contains(&magnitude) {
        return None;
    }
    let start = (*decimals).min(POW10.len() - 1);
    for tried in (start..POW10.len()).chain(0..start) {
        let factor = POW10[tried];
        let scaled = magnitude * factor;
        if scaled >= 1e15 {
            continue;
        }
        // Round half up by truncation: `f64::round` is a library call on
        // the baseline x86-64 target. A candidate off by one fails the
        // check below, which is what decides. Signed integers convert to
        // and from doubles in one instruction there, unsigned ones not.
        let integer = (scaled + 0.5) as i64;
        if (integer as f64 / factor).to_bits() != magnitude.to_bits() {
            continue;
        }
        *decimals = tried;
        return Some(write_decimal(value.is_sign_negative(), integer, tried, text));
    }
    None
}

/// Writes what [`format_value`] writes for the double nearest
/// `integer / 10^decimals` (as a store that keeps decimals hands them
/// over) to the start of `text`, from the decimal's digits: no work to
/// find them from the double. That is the decimal itself, trailing zeros
/// dropped, when the integer is below 10^15 and the value not below 1e-4,
/// as [`write_short_decimal`] says; `None`, writing nothing, otherwise.
pub(crate) fn write_stored_decimal(
    integer: i64,
    decimals: u8,
    text: &mut [u8; VALUE_TEXT_BYTES],
) -> Option<usize> {
    let magnitude = integer.unsigned_abs();
    // Not below 1e-4: `magnitude` at least 10^(decimals - 4).
    let smallest = match decimals {
        0..=4 => 1,
        5 => 10,
        _ => 100,
    };
    let decimals = usize::from(decimals);
    let short = decimals < POW10.len()
        && magnitude < 1_000_000_000_000_000
        && (magnitude == 0 || magnitude >= smallest);
    short.then(|| write_decimal(integer < 0, integer.abs(), decimals, text))
}

/// Writes `integer / 10^decimals` (`integer` below 10^15, `decimals` at
/// most six) positionally to
/// the start of `text`, without trailing zeros after the point but with at
/// least one digit on each side of it; returns the length.
#[inline]
fn write_decimal(negative: bool, mut integer: i64, mut decimals: usize, text: &mut [u8]) -> usize {
    while decimals > 0 && integer % 10 == 0 {
        integer /= 10;
        decimals -= 1;
    }
    let mut len = usize::from(negative);
    text[0] = b'-';
    // By constants, which compile to multiplications: a division by a
    // power looked up is a hardware division, tens of cycles.
    let (whole, fraction) = match decimals {
        0 => (integer, 0),
        1 => (integer / 10, integer % 10),
        2 => (integer / 100, integer % 100),
        3 => (integer / 1_000, integer % 1_000),
        4 => (integer / 10_000, integer % 10_000),
        5 => (integer / 100_000, integer % 100_000),
        _ => (integer / 1_000_000, integer % 1_000_000),
    };
    len += write_integer(whole.unsigned_abs(), &mut text[len..]);
    text[len] = b'.';
    len += 1;
    // Up to four decimals, padded to four digits and written as one.
    let padded = match decimals {
        0 => Some(0),
        1 => Some(fraction * 1_000),
        2 => Some(fraction * 100),
        3 => Some(fraction * 10),
        4 => Some(fraction),
        _ => None,
    };
    match padded.and_then(|padded| u16::try_from(padded).ok()) {
        Some(padded) => write_four_digits(padded, &mut text[len..]),
        None => write_digits(fraction.unsigned_abs(), decimals, &mut text[len..]),
    }
    len + decimals.max(1)
}

/// The four digits of `integer` (below 10,000), zero-padded, as a
/// big-endian word: two lookups of two digits. (A table of all four-digit
/// groups, 40 KB, is faster alone but pushes the rest out of the cache.)
#[inline]
fn four_digits(integer: u16) -> u32 {
    let (high, low) = (usize::from(integer / 100 % 100) * 2, usize::from(integer % 100) * 2);
    u32::from_be_bytes([DIGIT_PAIRS[high], DIGIT_PAIRS[high + 1], DIGIT_PAIRS[low], DIGIT_PAIRS[low + 1]])
}

/// Writes `integer` (below 10,000) to the start of `text`, which must
/// have four bytes: those past its digits are overwritten with others.
/// Returns how many digits it has.
#[inline]
pub(crate) fn write_small(integer: u16, text: &mut [u8]) -> usize {
    let count = 1 + usize::from(integer >= 10) + usize::from(integer >= 100) + usize::from(integer >= 1000);
    // The digits moved to the front, the leading zeros shifted out.
    text[..4].copy_from_slice(&(four_digits(integer) << (8 * (4 - count))).to_be_bytes());
    count
}

/// Writes `leading` (below 10,000, not zero) and then each of `lower` as
/// four digits; returns the length.
#[inline]
fn write_groups(leading: u16, lower: &[u16], text: &mut [u8]) -> usize {
    let mut len = write_small(leading, text);
    for &group in lower {
        write_four_digits(group, &mut text[len..]);
        len += 4;
    }
    len
}

/// Writes the four digits of `integer` (below 10,000), zero-padded, to
/// `text[..4]`.
#[inline]
pub(crate) fn write_four_digits(integer: u16, text: &mut [u8]) {
    text[..4].copy_from_slice(&four_digits(integer).to_be_bytes());
}

/// Writes `integer` in decimal to the start of `text`; returns the length.
#[inline]
pub(crate) fn write_integer(integer: u64, text: &mut [u8]) -> usize {
    // Below 10^16, every metric and most counters: groups of four digits,
    // each worked out from `integer` by divisions by constants (not from
    // the group before, so that they do not wait on each other).
    let group = |divisor: u64| (integer / divisor % 10_000) as u16;
    match integer {
        0..10_000 => return write_small(integer as u16, text),
        10_000..100_000_000 => return write_groups(group(10_000), &[group(1)], text),
        100_000_000..1_000_000_000_000 => {
            return write_groups(group(100_000_000), &[group(10_000), group(1)], text)
        }
        1_000_000_000_000..10_000_000_000_000_000 => {
            let lower = [group(100_000_000), group(10_000), group(1)];
            return write_groups(group(1_000_000_000_000), &lower, text);
        }
        _ => {}
    }
    let count = integer.checked_ilog10().map_or(1, |log| log as usize + 1);
    write_digits(integer, count, text);
    count
}

/// "00" to "99", for writing digits two at a time.
const DIGIT_PAIRS: [u8; 200] = {
    let mut pairs = [0u8; 200];
    let mut index = 0;
    while index < 100 {
        pairs[2 * index] = b'0' + (index / 10) as u8;
        pairs[2 * index + 1] = b'0' + (index % 10) as u8;
        index += 1;
    }
    pairs
};

/// Writes the last `count` decimal digits of `integer`, zero-padded, to
/// `text[..count]`: two at a time from the end, each pair one division by
/// a constant (a multiplication) and one two-byte copy.
fn write_digits(mut integer: u64, count: usize, text: &mut [u8]) {
    let mut at = count;
    while at >= 2 {
        let pair = (integer % 100) as usize * 2;
        integer /= 100;
        at -= 2;
        text[at..at + 2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
    }
    if at == 1 {
        text[0] = b'0' + (integer % 10) as u8;
    }
}

/// A [`fmt::Display`] adapter printing an `f64` as Python's `repr` does.
///
/// ```
/// use eardrum_protocol::PyFloat;
///
/// assert_eq!(PyFloat(4200000.0).to_string(), "4200000.0");
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PyFloat(pub f64);

impl fmt::Display for PyFloat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = Vec::with_capacity(24);
        format_value(self.0, &mut text);
        // format_value writes ASCII only.
        f.write_str(std::str::from_utf8(&text).map_err(|_| fmt::Error)?)
    }
}

/// Up to 17 significant digits and the scientific exponent of a finite,
/// non-negative double: `value == d1.d2d3… × 10^exponent`.
#[derive(PartialEq)]
struct Digits {
    bytes: [u8; 24],
    len: usize,
}

impl Digits {
    fn as_slice(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// The digits Python prints: the shortest that read back to `value`, and of
/// those, the nearest to it, with exact ties going to the even digit.
///
/// Rust's shortest formatting agrees except on exact ties, which it rounds
/// up (`1529357646096716.25` gives `…716.3`, Python `…716.2`). Correctly
/// rounded formatting at the same length rounds ties to even, so where a tie
/// is possible at all that is tried too, and kept if it reads back.
fn shortest_digits(value: f64) -> (Digits, i32) {
    let shortest = scientific_digits(value, None);
    if !tie_possible(value) {
        return shortest;
    }
    let nearest = scientific_digits(value, Some(shortest.0.len - 1));
    if nearest != shortest && reads_back(&nearest, value) {
        nearest
    } else {
        shortest
    }
}

/// Whether the exact decimal expansion of `value` could sit exactly halfway
/// between two candidates of its shortest length. That needs an expansion
/// short enough to end within ~18 digits and longer than the shortest form:
/// odd mantissa `m` times `2^e` with `e < 0` has exactly the digits of
/// `m * 5^-e`; integers below 2^53 always print exactly.
fn tie_possible(value: f64) -> bool {
    let bits = value.to_bits();
    let biased_exponent = ((bits >> 52) & 0x7ff) as i32;
    if biased_exponent == 0 {
        // Zero and subnormals: expansions hundreds of digits long.
        return false;
    }
    let mantissa = (bits & ((1 << 52) - 1)) | (1 << 52);
    let zeros = mantissa.trailing_zeros();
    let (odd, exponent) = (mantissa >> zeros, biased_exponent - 1075 + zeros as i32);
    if exponent >= 0 {
        return value >= 9_007_199_254_740_992.0;
    }
    let five_power = exponent.unsigned_abs();
    five_power <= 25 && u128::from(odd) * 5u128.pow(five_power) < 10u128.pow(18)
}

fn reads_back(digits: &(Digits, i32), value: f64) -> bool {
    let mut text = Vec::with_capacity(32);
    write_exponential(digits.0.as_slice(), digits.1, &mut text);
    std::str::from_utf8(&text).ok().and_then(|t| t.parse::<f64>().ok()) == Some(value)
}

/// Formats with `{:e}` (shortest round trip) or `{:.N$e}` (correctly rounded
/// to `N + 1` digits) and splits the result into digits and exponent.
fn scientific_digits(value: f64, fraction_digits: Option<usize>) -> (Digits, i32) {
    // At most 17 digits, a dot, `e`, a sign and three exponent digits.
    let mut text = [0u8; 32];
    let written = {
        let mut cursor = std::io::Cursor::new(&mut text[..]);
        // Writing to a large enough in-memory buffer cannot fail.
        let _ = match fraction_digits {
            None => write!(cursor, "{value:e}"),
            Some(precision) => write!(cursor, "{value:.precision$e}"),
        };
        usize::try_from(cursor.position()).unwrap_or(0)
    };
    let text = &text[..written];
    let e_at = text.iter().position(|&b| b == b'e').unwrap_or(text.len());
    let mut digits = Digits { bytes: [0; 24], len: 0 };
    for &byte in text[..e_at].iter().filter(|b| b.is_ascii_digit()) {
        if digits.len < digits.bytes.len() {
            digits.bytes[digits.len] = byte;
            digits.len += 1;
        }
    }
    let exponent = std::str::from_utf8(text.get(e_at + 1..).unwrap_or_default())
        .ok()
        .and_then(|exp| exp.parse().ok())
        .unwrap_or(0);
    (digits, exponent)
}

fn write_positional(digits: &[u8], exponent: i32, out: &mut Vec<u8>) {
    if exponent < 0 {
        out.extend_from_slice(b"0.");
        out.extend(std::iter::repeat_n(b'0', exponent.unsigned_abs() as usize - 1));
        out.extend_from_slice(digits);
        return;
    }
    let whole_len = exponent as usize + 1;
    if digits.len() <= whole_len {
        out.extend_from_slice(digits);
        out.extend(std::iter::repeat_n(b'0', whole_len - digits.len()));
        out.extend_from_slice(b".0");
    } else {
        out.extend_from_slice(&digits[..whole_len]);
        out.push(b'.');
        out.extend_from_slice(&digits[whole_len..]);
    }
}

fn write_exponential(digits: &[u8], exponent: i32, out: &mut Vec<u8>) {
    out.push(digits[0]);
    if digits.len() > 1 {
        out.push(b'.');
        out.extend_from_slice(&digits[1..]);
    }
    out.push(b'e');
    out.push(if exponent < 0 { b'-' } else { b'+' });
    let magnitude = exponent.unsigned_abs();
    if magnitude < 10 {
        out.push(b'0');
    }
    // The magnitude of a double's decimal exponent is at most 324.
    let _ = write!(out, "{magnitude}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn the_decimal_fast_path_prints_what_the_general_path_prints(
            integer in -999_999_999_999_999i64..999_999_999_999_999,
            decimals in 0u32..=8,
            hint in 0usize..=8,
        ) {
            let value = integer as f64 / 10f64.powi(decimals as i32);
            let mut text = [0; VALUE_TEXT_BYTES];
            let mut tried = hint;
            if let Some(len) = write_short_decimal(value, &mut tried, &mut text) {
                let fast = text[..len].to_vec();
                let mut general = Vec::new();
                write_general(value, &mut general);
                prop_assert_eq!(String::from_utf8(fast).unwrap(), String::from_utf8(general).unwrap());
            }
        }
    }

    fn repr(value: f64) -> String {
        PyFloat(value).to_string()
    }

    /// Every row of PROTOCOL.md's "Value text" table.
    #[test]
    fn protocol_value_table() {
        let table: &[(f64, &str)] = &[
            (10.0, "10.0"),
            (4200000.0, "4200000.0"),
            (0.1, "0.1"),
            (2.5, "2.5"),
            (1e16, "1e+16"),
            (0.000015, "1.5e-05"),
            (0.0001, "0.0001"),
            (-0.0, "-0.0"),
            (f64::NAN, "nan"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
        ];
        for (value, expected) in table {
            assert_eq!(repr(*value), *expected);
        }
    }

    #[test]
    fn switches_form_where_python_does() {
        assert_eq!(repr(9999999999999998.0), "9999999999999998.0");
        assert_eq!(repr(1e15), "1000000000000000.0");
        assert_eq!(repr(1.5e16), "1.5e+16");
        assert_eq!(repr(0.00012), "0.00012");
        assert_eq!(repr(0.00001), "1e-05");
        assert_eq!(repr(5e-324), "5e-324");
        assert_eq!(repr(f64::MAX), "1.7976931348623157e+308");
        assert_eq!(repr(-123.456), "-123.456");
        assert_eq!(repr(0.0), "0.0");
        assert_eq!(repr(-f64::NAN), "nan");
        assert_eq!(repr(1e100), "1e+100");
        assert_eq!(repr(123456789.0), "123456789.0");
    }

    #[test]
    #[expect(clippy::excessive_precision, reason = "the exact value of the double is the point")]
    fn exact_ties_round_to_even_as_python_does() {
        assert_eq!(repr(-1529357646096716.25), "-1529357646096716.2");
        assert_eq!(repr(1529357646096716.75), "1529357646096716.8");
        assert_eq!(repr(2f64.powi(60)), "1.152921504606847e+18");
    }
}
