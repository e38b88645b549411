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
    if value.is_nan() {
        out.extend_from_slice(b"nan");
        return;
    }
    if value.is_infinite() {
        out.extend_from_slice(if value > 0.0 { b"inf" } else { b"-inf" });
        return;
    }
    if !write_short_decimal(value, out) {
        write_general(value, out);
    }
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
const POW10_INT: [u64; 7] = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000];

/// The fast path for what metrics mostly are: values that are exactly an
/// integer `n` over `10^d` with at most six decimals, `n` below 10^15, and
/// no smaller than 1e-4. Their shortest round-trip text is `n` with the
/// point put back (a shorter decimal would lie more than half an ulp away,
/// since doubles near them are spaced closer than 10^-15 relative), and
/// Python prints them positionally. Returns `false`, writing nothing, for
/// every other value.
fn write_short_decimal(value: f64, out: &mut Vec<u8>) -> bool {
    let magnitude = value.abs();
    if !(1e-4..1e15).contains(&magnitude) {
        return false;
    }
    for (decimals, (&factor, &int_factor)) in POW10.iter().zip(&POW10_INT).enumerate() {
        let scaled = (magnitude * factor).round();
        if scaled >= 1e15 {
            return false;
        }
        if (scaled / factor).to_bits() != magnitude.to_bits() {
            continue;
        }
        let integer = scaled as u64;
        if value.is_sign_negative() {
            out.push(b'-');
        }
        let mut text = itoa::Buffer::new();
        out.extend_from_slice(text.format(integer / int_factor).as_bytes());
        out.push(b'.');
        if decimals == 0 {
            out.push(b'0');
        } else {
            let fraction = text.format(integer % int_factor + int_factor).as_bytes();
            // `fraction` is "1" then exactly `decimals` digits; the fewest
            // decimals that fit leave no trailing zero.
            out.extend_from_slice(&fraction[1..]);
        }
        return true;
    }
    false
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
        ) {
            let value = integer as f64 / 10f64.powi(decimals as i32);
            let mut fast = Vec::new();
            if write_short_decimal(value, &mut fast) {
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
