//! Bit-level writing and reading, most significant bit first.

/// Appends bits to a byte buffer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct BitWriter {
    bytes: Vec<u8>,
    /// Bits used in the last byte, 0 when it is full (or there is none).
    used_in_last: u8,
}

impl BitWriter {
    /// Appends the low `count` bits of `value` (`count` ≤ 64): the first
    /// into the free bits of the last byte, the rest as whole bytes in one
    /// eight-byte copy (trimmed after), so no bit or byte is written in a
    /// loop: this runs twice for every point a head takes.
    pub(crate) fn write_bits(&mut self, value: u64, count: u32) {
        debug_assert!(count <= 64);
        if count == 0 {
            return;
        }
        let value = if count == 64 { value } else { value & ((1u64 << count) - 1) };
        let free = (8 - u32::from(self.used_in_last)) % 8;
        if let (true, Some(last)) = (free > 0, self.bytes.last_mut()) {
            if count <= free {
                *last |= (value << (free - count)) as u8;
                self.used_in_last = ((u32::from(self.used_in_last) + count) % 8) as u8;
                return;
            }
            *last |= (value >> (count - free)) as u8;
        }
        // `remaining` is 1..=64: the bits that did not fit, left-aligned.
        let remaining = count - free;
        let aligned = value << (64 - remaining);
        let len = self.bytes.len();
        self.bytes.extend_from_slice(&aligned.to_be_bytes());
        self.bytes.truncate(len + remaining.div_ceil(8) as usize);
        self.used_in_last = (remaining % 8) as u8;
    }

    /// Appends one bit.
    pub(crate) fn write_bit(&mut self, bit: bool) {
        self.write_bits(u64::from(bit), 1);
    }

    /// How many bits were written.
    pub(crate) fn bit_len(&self) -> u64 {
        let padding = (8 - u64::from(self.used_in_last)) % 8;
        self.bytes.len() as u64 * 8 - padding
    }

    /// The bytes written; the last one is zero-padded.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Bytes held, capacity included: what this writer costs in memory.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.bytes.capacity()
    }
}

/// Reads bits from a byte slice; every read past the end is `None`.
#[derive(Debug, Clone)]
pub(crate) struct BitReader<'a> {
    bytes: &'a [u8],
    position: usize,
}

impl<'a> BitReader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        BitReader { bytes, position: 0 }
    }

    /// Reads `count` bits (≤ 64) as the low bits of the result.
    pub(crate) fn read_bits(&mut self, count: u32) -> Option<u64> {
        if count > 64 || self.position + count as usize > self.bytes.len() * 8 {
            return None;
        }
        let mut value = 0u64;
        let mut remaining = count;
        while remaining > 0 {
            let byte = self.bytes[self.position / 8];
            let offset = (self.position % 8) as u32;
            let available = 8 - offset;
            let take = available.min(remaining);
            let bits = (u64::from(byte) >> (available - take)) & ((1u64 << take) - 1);
            value = if take == 64 { bits } else { (value << take) | bits };
            self.position += take as usize;
            remaining -= take;
        }
        Some(value)
    }

    /// Reads one bit.
    pub(crate) fn read_bit(&mut self) -> Option<bool> {
        self.read_bits(1).map(|bit| bit == 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn round_trips_any_sequence(fields in proptest::collection::vec((any::<u64>(), 0u32..=64), 0..100)) {
            let mut writer = BitWriter::default();
            for &(value, count) in &fields {
                writer.write_bits(value, count);
            }
            let mut reader = BitReader::new(writer.as_bytes());
            for &(value, count) in &fields {
                let mask = if count == 64 { u64::MAX } else { (1u64 << count) - 1 };
                prop_assert_eq!(reader.read_bits(count), Some(value & mask));
            }
        }
    }

    #[test]
    fn reading_past_the_end_is_none() {
        let mut reader = BitReader::new(&[0xff]);
        assert_eq!(reader.read_bits(5), Some(0b11111));
        assert_eq!(reader.read_bits(4), None);
        assert_eq!(reader.read_bits(3), Some(0b111));
        assert_eq!(reader.read_bit(), None);
        assert_eq!(BitReader::new(&[]).read_bits(65), None);
    }
}
