//! Signed integer streams: the bucketed code shared by timestamps and
//! decimal values, and frame-of-reference bit packing.
//!
//! Bucketed code of a zigzag-encoded integer `z` (Gorilla's timestamp idea,
//! with buckets tuned for metric deltas: a second of jitter costs 4 bits, a
//! 10 s interval's first delta 9, a busy counter's increment 23):
//!
//! ```text
//! z == 0          0                    1 bit
//! z < 2^2         10     + 2 bits      4 bits     (-2..=1)
//! z < 2^6         110    + 6 bits      9 bits     (-32..=31)
//! z < 2^12        1110   + 12 bits     16 bits
//! z < 2^18        11110  + 18 bits     23 bits
//! z < 2^32        111110 + 32 bits     38 bits
//! otherwise       111111 + 64 bits     70 bits
//! ```

use super::bits::{BitReader, BitWriter};

const BUCKETS: [u32; 6] = [2, 6, 12, 18, 32, 64];

/// The smallest bucket that holds a value of each bit width (0 to 64).
static BUCKET_FOR_WIDTH: [u8; 65] = {
    let mut table = [0u8; 65];
    let (mut width, mut bucket) = (0, 0);
    while width <= 64 {
        while BUCKETS[bucket] < width as u32 {
            bucket += 1;
        }
        table[width] = bucket as u8;
        width += 1;
    }
    table
};

/// Maps signed to unsigned so that small magnitudes stay small.
pub(crate) fn zigzag(value: i64) -> u64 {
    ((value << 1) ^ (value >> 63)) as u64
}

/// Inverse of [`zigzag`].
pub(crate) fn unzigzag(value: u64) -> i64 {
    ((value >> 1) as i64) ^ -((value & 1) as i64)
}

/// Writes one integer in the bucketed code: control bits and payload in
/// one write for every bucket but the 64-bit one.
pub(crate) fn write_bucketed(writer: &mut BitWriter, value: i64) {
    let z = zigzag(value);
    if z == 0 {
        writer.write_bits(0, 1);
        return;
    }
    let index = usize::from(BUCKET_FOR_WIDTH[bit_width(z) as usize]);
    let width = BUCKETS[index];
    // `index + 1` ones, then a zero unless this is the last bucket.
    let ones = index as u32 + 1;
    if width == 64 {
        writer.write_bits((1u64 << ones) - 1, ones);
        writer.write_bits(z, 64);
    } else {
        let control = ((1u64 << ones) - 1) << 1;
        writer.write_bits((control << width) | z, ones + 1 + width);
    }
}

/// Reads one integer in the bucketed code.
#[inline]
pub(crate) fn read_bucketed(reader: &mut BitReader<'_>) -> Option<i64> {
    // Mostly: the control bits and the payload in one load. The last
    // bucket's 70 bits never fit in one.
    if let Some(word) = reader.peek_57() {
        let ones = word.leading_ones() as usize;
        if ones == 0 {
            reader.skip(1);
            return Some(0);
        }
        if ones < BUCKETS.len() {
            let (control, width) = (ones as u32 + 1, BUCKETS[ones - 1]);
            if control + width <= 57 {
                reader.skip(control + width);
                return Some(unzigzag((word << control) >> (64 - width)));
            }
        }
    }
    let ones = reader.read_ones(BUCKETS.len() as u32)? as usize;
    if ones == 0 {
        return Some(0);
    }
    let z = reader.read_bits(BUCKETS[ones - 1])?;
    Some(unzigzag(z))
}

/// How many bits the bucketed code spends on `value`.
pub(crate) fn bucketed_bits(value: i64) -> u64 {
    let z = zigzag(value);
    if z == 0 {
        return 1;
    }
    for (index, &width) in BUCKETS.iter().enumerate() {
        if width == 64 || z < (1u64 << width) {
            let control = if width == 64 { index + 1 } else { index + 2 };
            return control as u64 + u64::from(width);
        }
    }
    70
}

/// Bits needed to hold `value` (0 for 0).
pub(crate) fn bit_width(value: u64) -> u32 {
    64 - value.leading_zeros()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn bucketed_round_trip_and_size(values in proptest::collection::vec(any::<i64>(), 0..200)) {
            let mut writer = BitWriter::default();
            let mut expected_bits = 0;
            for &value in &values {
                write_bucketed(&mut writer, value);
                expected_bits += bucketed_bits(value);
            }
            prop_assert_eq!(writer.bit_len(), expected_bits);
            let mut reader = writer.reader();
            for &value in &values {
                prop_assert_eq!(read_bucketed(&mut reader), Some(value));
            }
        }
    }

    #[test]
    fn bucket_edges() {
        let edges =
            [0, 1, -2, 2, 31, -32, 32, 2047, -2048, 2048, 131_071, -131_072, 131_072, i32::MAX as i64];
        for value in edges.into_iter().chain([i64::MIN, i64::MAX]) {
            let mut writer = BitWriter::default();
            write_bucketed(&mut writer, value);
            assert_eq!(read_bucketed(&mut writer.reader()), Some(value), "{value}");
        }
        assert_eq!(bucketed_bits(0), 1);
        assert_eq!(bucketed_bits(-2), 4);
        assert_eq!(bucketed_bits(-32), 9);
        assert_eq!(bucketed_bits(131_071), 23);
        assert_eq!(bucketed_bits(i64::MIN), 70);
    }

    #[test]
    fn a_code_cut_short_reads_as_none() {
        for value in [0, 1, -2, 31, 2048, 131_072, i32::MAX as i64, i64::MIN] {
            let mut writer = BitWriter::default();
            write_bucketed(&mut writer, value);
            let mut bytes = Vec::new();
            writer.write_to(&mut bytes);
            for cut in 0..bytes.len() {
                assert_eq!(
                    read_bucketed(&mut BitReader::new(&bytes[..cut])),
                    None,
                    "{value} cut to {cut} bytes"
                );
            }
            assert_eq!(read_bucketed(&mut BitReader::new(&bytes)), Some(value));
        }
    }
}
