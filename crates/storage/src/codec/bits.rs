//! Bit-level writing and reading, most significant bit first.

/// Appends bits to a byte buffer.
///
/// The newest bits (fewer than 64) wait in a word inside the writer and
/// reach the buffer eight bytes at a time. A head's writers live in its
/// series, which a put touches anyway, while their buffers are elsewhere on
/// the heap: writing through to them on every point cost a cache miss each,
/// most of a put's time with ten thousand series.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct BitWriter {
    /// Whole words written, most significant byte first.
    bytes: Vec<u8>,
    /// The bits after them, left-aligned.
    pending: u64,
    /// How many bits of `pending` are written: 0 to 63.
    pending_bits: u32,
}

impl BitWriter {
    /// Appends the low `count` bits of `value` (`count` ≤ 64).
    pub(crate) fn write_bits(&mut self, value: u64, count: u32) {
        debug_assert!(count <= 64);
        if count == 0 {
            return;
        }
        let value = if count == 64 { value } else { value & ((1u64 << count) - 1) };
        let free = 64 - self.pending_bits;
        if count < free {
            self.pending |= value << (free - count);
            self.pending_bits += count;
            return;
        }
        // Fill the word, write it out, and keep what did not fit (`rest` is
        // below 64, as `free` is at least 1).
        let rest = count - free;
        self.pending |= value >> rest;
        self.bytes.extend_from_slice(&self.pending.to_be_bytes());
        self.pending = if rest == 0 { 0 } else { value << (64 - rest) };
        self.pending_bits = rest;
    }

    /// Appends one bit.
    pub(crate) fn write_bit(&mut self, bit: bool) {
        self.write_bits(u64::from(bit), 1);
    }

    /// How many bits were written.
    pub(crate) fn bit_len(&self) -> u64 {
        self.bytes.len() as u64 * 8 + u64::from(self.pending_bits)
    }

    /// How many bytes [`BitWriter::write_to`] appends.
    pub(crate) fn byte_len(&self) -> usize {
        self.bytes.len() + self.pending_bits.div_ceil(8) as usize
    }

    /// Appends the bits written to `out`, the last byte zero-padded.
    pub(crate) fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.bytes);
        out.extend_from_slice(&self.pending.to_be_bytes()[..self.pending_bits.div_ceil(8) as usize]);
    }

    /// A reader of the bits written so far.
    pub(crate) fn reader(&self) -> BitReader<'_> {
        BitReader { bytes: &self.bytes, tail: self.pending.to_be_bytes(), len: self.byte_len(), position: 0 }
    }

    /// Bytes held, capacity included: what this writer costs in memory.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.bytes.capacity()
    }
}

/// Reads bits from a byte slice (and, for a [`BitWriter`]'s, the bytes it
/// has not written out yet); every read past the end is `None`.
#[derive(Debug, Clone)]
pub(crate) struct BitReader<'a> {
    bytes: &'a [u8],
    /// The bytes after `bytes`, up to `len`.
    tail: [u8; 8],
    len: usize,
    position: usize,
}

impl<'a> BitReader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        BitReader { bytes, tail: [0; 8], len: bytes.len(), position: 0 }
    }

    /// Reads `count` bits (≤ 64) as the low bits of the result.
    #[inline]
    pub(crate) fn read_bits(&mut self, count: u32) -> Option<u64> {
        if count > 64 || self.position + count as usize > self.len * 8 {
            return None;
        }
        // Most reads: the eight bytes from the current one are all in
        // `bytes`, and one load and two shifts take up to 57 bits.
        let index = self.position / 8;
        if let (1..=56, Some(chunk)) = (count, self.bytes.get(index..index + 8)) {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            let shift = (self.position % 8) as u32;
            self.position += count as usize;
            return Some((u64::from_be_bytes(word) << shift) >> (64 - count));
        }
        self.read_bits_bytewise(count)
    }

    /// [`BitReader::read_bits`] a byte at a time, near the end and into
    /// the tail.
    fn read_bits_bytewise(&mut self, count: u32) -> Option<u64> {
        let mut value = 0u64;
        let mut remaining = count;
        while remaining > 0 {
            let index = self.position / 8;
            let byte = match self.bytes.get(index) {
                Some(&byte) => byte,
                None => self.tail[index - self.bytes.len()],
            };
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

    /// The next bits, left-aligned, when at least 57 are left in the bytes
    /// (not the tail): read them from the top, then [`BitReader::skip`]
    /// those used. Bits past the 57th may be zeros that are not there.
    #[inline]
    pub(crate) fn peek_57(&self) -> Option<u64> {
        let index = self.position / 8;
        let chunk = self.bytes.get(index..index + 8)?;
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        Some(u64::from_be_bytes(word) << (self.position % 8))
    }

    /// Moves past `count` bits that [`BitReader::peek_57`] showed.
    #[inline]
    pub(crate) fn skip(&mut self, count: u32) {
        self.position += count as usize;
    }

    /// Reads ones up to the first zero, which it consumes too, or up to
    /// `max` ones (≤ 56), whichever comes first; returns how many ones.
    /// Mostly one load, as in [`BitReader::read_bits`], rather than a read
    /// per bit: decoding a regular series is mostly one-bit zeros.
    #[inline]
    pub(crate) fn read_ones(&mut self, max: u32) -> Option<u32> {
        let index = self.position / 8;
        if let (1..=56, Some(chunk)) = (max, self.bytes.get(index..index + 8)) {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            // At most 56 bits from within the 8 bytes loaded: all there.
            let ones = (u64::from_be_bytes(word) << (self.position % 8)).leading_ones().min(max);
            self.position += (if ones == max { ones } else { ones + 1 }) as usize;
            return Some(ones);
        }
        let mut ones = 0;
        while ones < max && self.read_bit()? {
            ones += 1;
        }
        Some(ones)
    }

    /// Consumes zero bits up to the next one (left unread), the end, or
    /// `max` (≤ 56) of them, whichever comes first; returns how many.
    #[inline]
    pub(crate) fn read_zeros(&mut self, max: u32) -> u32 {
        let index = self.position / 8;
        if let (1..=56, Some(chunk)) = (max, self.bytes.get(index..index + 8)) {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            let zeros = (u64::from_be_bytes(word) << (self.position % 8)).leading_zeros().min(max);
            self.position += zeros as usize;
            return zeros;
        }
        let mut zeros = 0;
        while zeros < max && self.peek_bit() == Some(false) {
            self.position += 1;
            zeros += 1;
        }
        zeros
    }

    fn peek_bit(&self) -> Option<bool> {
        self.clone().read_bit()
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
            let mut bytes = Vec::new();
            writer.write_to(&mut bytes);
            prop_assert_eq!(bytes.len(), writer.byte_len());
            prop_assert_eq!(writer.bit_len(), fields.iter().map(|&(_, count)| u64::from(count)).sum::<u64>());
            // Read back both from the writer itself and from its bytes.
            let (mut reader, mut from_bytes) = (writer.reader(), BitReader::new(&bytes));
            for &(value, count) in &fields {
                let mask = if count == 64 { u64::MAX } else { (1u64 << count) - 1 };
                prop_assert_eq!(from_bytes.read_bits(count), Some(value & mask));
                prop_assert_eq!(reader.read_bits(count), Some(value & mask));
            }
            prop_assert_eq!(reader.read_bits(8 - (writer.bit_len() % 8) as u32 % 8 + 1), None);
        }

        #[test]
        fn runs_of_ones_and_zeros_read_as_bit_by_bit(
            bytes in proptest::collection::vec(any::<u8>(), 0..24),
            skip in 0u32..64,
            max in 1u32..=56,
        ) {
            let mut start = BitReader::new(&bytes);
            start.read_bits(skip.min(bytes.len() as u32 * 8));
            // Bit by bit: the ones (and their ending zero), then the zeros.
            let (mut slow, mut ones) = (start.clone(), Some(0));
            while let Some(count) = ones.filter(|&count| count < max) {
                match slow.read_bit() {
                    Some(true) => ones = Some(count + 1),
                    Some(false) => break,
                    None => ones = None,
                }
            }
            let mut fast = start.clone();
            prop_assert_eq!(fast.read_ones(max), ones);
            if ones.is_some() {
                prop_assert_eq!(fast.position, slow.position);
            }
            let (mut slow, mut zeros) = (start.clone(), 0);
            while zeros < max && slow.peek_bit() == Some(false) {
                slow.read_bit();
                zeros += 1;
            }
            let mut fast = start;
            prop_assert_eq!(fast.read_zeros(max), zeros);
            prop_assert_eq!(fast.position, slow.position);
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
