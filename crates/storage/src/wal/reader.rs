//! Walking the records of one segment held in memory.

use super::record::{FRAME_BYTES, HEADER_BYTES, MAX_RECORD_BYTES};
use crate::error::Corruption;

/// A record whose checksum matched.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Record<'a> {
    /// Where the record's frame starts in the file.
    pub(crate) offset: u64,
    /// The checked payload.
    pub(crate) payload: &'a [u8],
}

/// Where reading stopped early, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BadRecord {
    /// Where the bad record starts in the file.
    pub(crate) offset: u64,
    /// What is wrong with it.
    pub(crate) reason: Corruption,
    /// Whether this looks like the torn end of an interrupted write rather
    /// than damage: the record runs past the end of the file, is the last one
    /// and fails its checksum, or only zero bytes follow; and in every case
    /// no valid record follows it (records are appended one after another,
    /// so a torn write is the last thing in its segment: a valid record
    /// after a bad one means the bad one is damage, such as a changed length
    /// field, not a torn write).
    pub(crate) torn: bool,
}

/// Iterates over the records of a segment's bytes (header included), stopping
/// at the first bad one.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    position: usize,
}

impl<'a> Reader<'a> {
    /// Reads records from `bytes`, a whole segment whose header was checked.
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, position: HEADER_BYTES.min(bytes.len()) }
    }

    fn read_one(&self) -> Result<Record<'a>, BadRecord> {
        let start = self.position;
        let rest = &self.bytes[start..];
        let bad = |reason, torn: bool| BadRecord {
            offset: start as u64,
            reason,
            torn: torn && !valid_record_within(&rest[1.min(rest.len())..]),
        };
        let only_zeros = rest.iter().all(|&b| b == 0);
        let Some((frame, after_frame)) = rest.split_first_chunk::<FRAME_BYTES>() else {
            return Err(bad(Corruption::BadLength { length: 0 }, true));
        };
        let length = u32::from_le_bytes([frame[0], frame[1], frame[2], frame[3]]);
        let crc = u32::from_le_bytes([frame[4], frame[5], frame[6], frame[7]]);
        if length == 0 || length > MAX_RECORD_BYTES {
            return Err(bad(Corruption::BadLength { length }, only_zeros));
        }
        let Some(payload) = after_frame.get(..length as usize) else {
            return Err(bad(Corruption::BadLength { length }, true));
        };
        if crc32fast::hash(payload) != crc {
            let is_last = after_frame.len() == payload.len();
            return Err(bad(Corruption::ChecksumMismatch, is_last || only_zeros));
        }
        Ok(Record { offset: start as u64, payload })
    }
}

/// Whether a whole record with a matching checksum starts at any byte of
/// `bytes`. Only a plausible length field costs a checksum, so a tail of
/// zeros or random bytes is scanned at the speed of reading it.
fn valid_record_within(bytes: &[u8]) -> bool {
    (0..bytes.len().saturating_sub(FRAME_BYTES)).any(|at| {
        let rest = &bytes[at..];
        let Some((frame, after_frame)) = rest.split_first_chunk::<FRAME_BYTES>() else {
            return false;
        };
        let length = u32::from_le_bytes([frame[0], frame[1], frame[2], frame[3]]) as usize;
        let crc = u32::from_le_bytes([frame[4], frame[5], frame[6], frame[7]]);
        length > 0 && length <= after_frame.len() && crc32fast::hash(&after_frame[..length]) == crc
    })
}

impl<'a> Iterator for Reader<'a> {
    type Item = Result<Record<'a>, BadRecord>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.position >= self.bytes.len() {
            return None;
        }
        let record = self.read_one();
        match &record {
            Ok(record) => self.position += FRAME_BYTES + record.payload.len(),
            // Nothing after a bad frame can be trusted to be aligned.
            Err(_) => self.position = self.bytes.len(),
        }
        Some(record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wal::record::{header, RecordBuilder};

    fn segment(records: usize) -> Vec<u8> {
        let mut bytes = header().to_vec();
        let mut builder = RecordBuilder::default();
        for i in 0..records {
            builder.clear();
            builder.point(0, i as i64, 1.0);
            bytes.extend_from_slice(builder.finish());
        }
        bytes
    }

    #[test]
    fn reads_every_record() {
        let bytes = segment(3);
        let records: Vec<_> = Reader::new(&bytes).collect::<Result<_, _>>().unwrap();
        assert_eq!(records.len(), 3);
    }

    #[test]
    fn a_cut_anywhere_in_the_last_record_is_torn() {
        let full = segment(2);
        let last_start = segment(1).len();
        for cut in last_start + 1..full.len() {
            let bad = Reader::new(&full[..cut]).find_map(Result::err).unwrap();
            assert!(bad.torn, "cut at {cut}: {bad:?}");
            assert_eq!(bad.offset, last_start as u64);
        }
    }

    #[test]
    fn a_length_field_changed_before_valid_records_is_damage_not_a_torn_write() {
        let mut bytes = segment(5);
        // The second record's length now points past the end of the file.
        let second = segment(1).len();
        let past_the_end = (bytes.len() as u32 * 2).to_le_bytes();
        bytes[second..second + 4].copy_from_slice(&past_the_end);
        let bad = Reader::new(&bytes).find_map(Result::err).unwrap();
        assert_eq!((bad.offset, bad.torn), (second as u64, false), "{bad:?}");
        // The same change to the last record is indistinguishable from a
        // torn write (the log's synced mark tells them apart).
        let mut bytes = segment(5);
        let last = segment(4).len();
        bytes[last..last + 4].copy_from_slice(&past_the_end);
        assert!(Reader::new(&bytes).find_map(Result::err).unwrap().torn);
        // A record of zeros in the middle, valid records after it: damage.
        let mut bytes = segment(5);
        bytes[second..last].fill(0);
        assert!(!Reader::new(&bytes).find_map(Result::err).unwrap().torn);
    }

    #[test]
    fn zeroed_tail_is_torn_but_a_flipped_bit_before_the_end_is_not() {
        let mut zeroed = segment(2);
        zeroed.extend_from_slice(&[0; 100]);
        assert!(Reader::new(&zeroed).find_map(Result::err).unwrap().torn);

        let mut flipped = segment(3);
        flipped[HEADER_BYTES + FRAME_BYTES + 2] ^= 0x10;
        let bad = Reader::new(&flipped).find_map(Result::err).unwrap();
        assert_eq!((bad.offset, bad.torn), (HEADER_BYTES as u64, false));
        assert_eq!(bad.reason, Corruption::ChecksumMismatch);
    }
}
