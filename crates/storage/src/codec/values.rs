//! Value streams: Gorilla's XOR of doubles, and decimal values as scaled
//! integers.
//!
//! Metrics like `23.7` XOR badly: consecutive doubles with one decimal share
//! few mantissa bits. Written as integers scaled by `10^d` (`237`), their
//! differences are small, and a counter's differences are nearly constant.
//! An encoder tries both and keeps the smaller.

use super::bits::{BitReader, BitWriter};
use super::ints::{bit_width, read_bucketed, write_bucketed};

/// Powers of ten that are exact as doubles.
const POW10: [f64; 7] = [1.0, 10.0, 100.0, 1_000.0, 10_000.0, 100_000.0, 1_000_000.0];
/// Most decimals the decimal encodings look for.
pub(crate) const MAX_DECIMALS: u8 = (POW10.len() - 1) as u8;
/// Scaled integers stay below 2^53, where doubles hold every integer.
const MAX_SCALED: i64 = 1 << 53;

/// Gorilla's XOR encoder state for one stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct XorEncoder {
    previous: u64,
    leading: u32,
    trailing: u32,
    started: bool,
}

impl XorEncoder {
    /// Appends `value`: the first raw, each next as its XOR with the previous
    /// (`0`; `10` + meaningful bits in the previous window; or `11` + 5 bits
    /// of leading zeros + 6 bits of length + meaningful bits).
    pub(crate) fn push(&mut self, writer: &mut BitWriter, value: f64) {
        let bits = value.to_bits();
        if !self.started {
            writer.write_bits(bits, 64);
            *self = XorEncoder { previous: bits, leading: u32::MAX, trailing: 0, started: true };
            return;
        }
        let xor = bits ^ self.previous;
        self.previous = bits;
        if xor == 0 {
            writer.write_bit(false);
            return;
        }
        writer.write_bit(true);
        let leading = xor.leading_zeros().min(31);
        let trailing = xor.trailing_zeros();
        if self.leading != u32::MAX && leading >= self.leading && trailing >= self.trailing {
            writer.write_bit(false);
            let meaningful = 64 - self.leading - self.trailing;
            writer.write_bits(xor >> self.trailing, meaningful);
        } else {
            writer.write_bit(true);
            let meaningful = 64 - leading - trailing;
            writer.write_bits(u64::from(leading), 5);
            // 64 meaningful bits do not fit 6 bits; 0 stands for them.
            writer.write_bits(u64::from(meaningful % 64), 6);
            writer.write_bits(xor >> trailing, meaningful);
            self.leading = leading;
            self.trailing = trailing;
        }
    }
}

/// Decodes what [`XorEncoder`] wrote.
#[derive(Debug, Clone, Default)]
pub(crate) struct XorDecoder {
    previous: u64,
    leading: u32,
    trailing: u32,
    started: bool,
    /// Whether a `11` control word has set the window that `10` reuses.
    has_window: bool,
}

impl XorDecoder {
    pub(crate) fn next(&mut self, reader: &mut BitReader<'_>) -> Option<f64> {
        if !self.started {
            self.previous = reader.read_bits(64)?;
            self.started = true;
            return Some(f64::from_bits(self.previous));
        }
        if !reader.read_bit()? {
            return Some(f64::from_bits(self.previous));
        }
        if reader.read_bit()? {
            self.leading = reader.read_bits(5)? as u32;
            let meaningful = match reader.read_bits(6)? as u32 {
                0 => 64,
                length => length,
            };
            if self.leading + meaningful > 64 {
                return None;
            }
            self.trailing = 64 - self.leading - meaningful;
            self.has_window = true;
        } else if !self.has_window {
            return None;
        }
        let meaningful = 64 - self.leading - self.trailing;
        let xor = reader.read_bits(meaningful)? << self.trailing;
        self.previous ^= xor;
        Some(f64::from_bits(self.previous))
    }
}

/// Values as integers: `value == integer / 10^decimals`, exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Scaled {
    pub(crate) decimals: u8,
    pub(crate) integers: Vec<i64>,
}

/// Finds the fewest decimals (up to [`MAX_DECIMALS`]) with which every value
/// is an integer divided by a power of ten, bit for bit; `None` if there are
/// none (NaN, infinities, -0.0, too many digits or too large).
pub(crate) fn scale(values: &[f64]) -> Option<Scaled> {
    let mut decimals = 0u8;
    let mut integers = Vec::with_capacity(values.len());
    'search: while decimals <= MAX_DECIMALS {
        integers.clear();
        for &value in values {
            match to_scaled(value, decimals) {
                Some(integer) => integers.push(integer),
                None => {
                    decimals += 1;
                    continue 'search;
                }
            }
        }
        return Some(Scaled { decimals, integers });
    }
    None
}

/// `value` as an integer at `decimals`, if it is exactly one.
pub(crate) fn to_scaled(value: f64, decimals: u8) -> Option<i64> {
    let factor = *POW10.get(usize::from(decimals))?;
    let scaled = value * factor;
    if !scaled.is_finite() || scaled.abs() >= MAX_SCALED as f64 {
        return None;
    }
    // Round half away from zero by truncation: `f64::round` is a library
    // call on the baseline x86-64 target, and this runs for every value put.
    // A candidate off by one in a corner case fails the check below, which
    // is what decides.
    let integer = (scaled + 0.5f64.copysign(scaled)) as i64;
    ((integer as f64 / factor).to_bits() == value.to_bits()).then_some(integer)
}

/// The double an integer at `decimals` stands for.
pub(crate) fn unscale(integer: i64, decimals: u8) -> Option<f64> {
    let factor = *POW10.get(usize::from(decimals))?;
    // `unsigned_abs`: a damaged chunk can sum its differences to i64::MIN,
    // whose `abs` overflows.
    (integer.unsigned_abs() < MAX_SCALED as u64).then(|| integer as f64 / factor)
}

/// Appends the differences of `integers` after the first in the bucketed
/// code: best when values often repeat or move a little.
pub(crate) fn write_deltas_bucketed(writer: &mut BitWriter, integers: &[i64]) {
    for pair in integers.windows(2) {
        write_bucketed(writer, pair[1].wrapping_sub(pair[0]));
    }
}

/// Frame-of-reference packing of the differences: the smallest difference,
/// then every difference minus it in a fixed width. Best for counters,
/// whose increments vary within a band.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Packing {
    pub(crate) min_delta: i64,
    pub(crate) width: u32,
}

impl Packing {
    pub(crate) fn for_integers(integers: &[i64]) -> Packing {
        let deltas = integers.windows(2).map(|pair| pair[1].wrapping_sub(pair[0]));
        let min_delta = deltas.clone().min().unwrap_or(0);
        let max_offset = deltas.map(|delta| delta.wrapping_sub(min_delta) as u64).max().unwrap_or(0);
        Packing { min_delta, width: bit_width(max_offset) }
    }

    pub(crate) fn write(&self, writer: &mut BitWriter, integers: &[i64]) {
        for pair in integers.windows(2) {
            let offset = pair[1].wrapping_sub(pair[0]).wrapping_sub(self.min_delta) as u64;
            writer.write_bits(offset, self.width);
        }
    }

    #[inline]
    pub(crate) fn read(&self, reader: &mut BitReader<'_>, previous: i64) -> Option<i64> {
        let offset = reader.read_bits(self.width)?;
        Some(previous.wrapping_add(self.min_delta).wrapping_add(offset as i64))
    }
}

/// Reads one bucketed difference and applies it.
#[inline]
pub(crate) fn read_delta_bucketed(reader: &mut BitReader<'_>, previous: i64) -> Option<i64> {
    Some(previous.wrapping_add(read_bucketed(reader)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_finds_the_fewest_decimals_or_none() {
        assert_eq!(scale(&[23.7, 24.0, 1.25]), Some(Scaled { decimals: 2, integers: vec![2370, 2400, 125] }));
        assert_eq!(scale(&[1.0, -7.0]), Some(Scaled { decimals: 0, integers: vec![1, -7] }));
        assert_eq!(scale(&[0.1 + 0.2]), None);
        assert_eq!(scale(&[f64::NAN]), None);
        assert_eq!(scale(&[-0.0]), None);
        assert_eq!(scale(&[1e300]), None);
        assert_eq!(scale(&[0.0000001]), None);
    }

    #[test]
    fn unscaling_the_most_negative_integer_is_none_not_an_overflow() {
        // Found by the chunk fuzz target: a damaged chunk's differences
        // summed to i64::MIN, and `abs` panicked (or, without overflow
        // checks, let a garbage value through).
        assert_eq!(unscale(i64::MIN, 0), None);
        assert_eq!(unscale(-(1 << 53) + 1, 0), Some(-9_007_199_254_740_991.0));
    }

    #[test]
    fn xor_round_trips_special_values() {
        let values = [1.0, 1.0, -0.0, f64::NAN, f64::INFINITY, 5e-324, f64::MAX, 0.1, 0.1 + 1e-16];
        let mut writer = BitWriter::default();
        let mut encoder = XorEncoder::default();
        for &value in &values {
            encoder.push(&mut writer, value);
        }
        let mut reader = writer.reader();
        let mut decoder = XorDecoder::default();
        for &value in &values {
            assert_eq!(decoder.next(&mut reader).map(f64::to_bits), Some(value.to_bits()));
        }
    }
}
