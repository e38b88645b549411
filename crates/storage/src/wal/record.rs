//! The log's on-disk format: segment header, record frame, entries.
//!
//! ```text
//! segment file   = header record*
//! header         = "EDRMWAL" version:u8                       (8 bytes, version 2)
//! record         = length:u32le crc32:u32le payload[length]
//! payload        = entry+
//! entry          = 0x01 series_id:varint key_len:varint key   define a series
//!                | 0x03 series_id:varint delta:zigzag-varint value:f64le
//!                | 0x02 series_id:varint timestamp:zigzag-varint value:f64le
//! ```
//!
//! A point's `delta` is its timestamp minus the previous point's in the same
//! record (0 before the first), wrapping: a batch's points mostly share a
//! timestamp, so it takes one byte where the timestamp took five. Version 1
//! segments, which hold absolute `0x02` points only, are still read; this
//! build writes version 2 (and only `0x03` points).
//!
//! Invariants: the checksum is CRC-32 (IEEE) of the payload alone; a record is
//! written with one `write` call after the previous one completed, so the
//! only damage a crash leaves is a torn *last* record; series ids are defined
//! in order `0, 1, 2, …` (the order keys were first put) and a point only
//! names an id defined earlier in the log.

use crate::error::Corruption;
use crate::varint;

/// The first bytes of every segment: the magic and the format version.
pub(crate) const MAGIC: &[u8; 7] = b"EDRMWAL";
/// The format version this build writes.
pub(crate) const VERSION: u8 = 2;
/// The oldest format version this build reads.
pub(crate) const OLDEST_READABLE_VERSION: u8 = 1;
/// Length of the segment header.
pub(crate) const HEADER_BYTES: usize = MAGIC.len() + 1;
/// Length of a record's frame (length and checksum) before its payload.
pub(crate) const FRAME_BYTES: usize = 8;
/// Records are never larger than this; a length field above it is damage.
pub(crate) const MAX_RECORD_BYTES: u32 = 256 * 1024 * 1024;

const TAG_SERIES: u8 = 0x01;
const TAG_POINT: u8 = 0x02;
const TAG_POINT_DELTA: u8 = 0x03;

/// The segment header, ready to write.
pub(crate) fn header() -> [u8; HEADER_BYTES] {
    let mut header = [0u8; HEADER_BYTES];
    header[..MAGIC.len()].copy_from_slice(MAGIC);
    header[MAGIC.len()] = VERSION;
    header
}

/// Appends `payload` framed as a record: length, CRC-32, payload. Block and
/// checkpoint files share this framing (and [`Reader`](super::reader::Reader)).
pub(crate) fn frame_into(out: &mut Vec<u8>, payload: &[u8]) {
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out.extend_from_slice(payload);
}

/// Builds one record's payload, with room for its frame in front so that the
/// whole record goes to the file in one write.
#[derive(Debug)]
pub(crate) struct RecordBuilder {
    bytes: Vec<u8>,
    /// The timestamp of the last point added, which the next one's delta
    /// counts from.
    previous_ts: i64,
}

impl Default for RecordBuilder {
    /// An empty record.
    fn default() -> Self {
        RecordBuilder { bytes: vec![0; FRAME_BYTES], previous_ts: 0 }
    }
}

impl RecordBuilder {
    /// Starts an empty record, reusing the buffer.
    pub(crate) fn clear(&mut self) {
        self.previous_ts = 0;
        self.bytes.clear();
        self.bytes.extend_from_slice(&[0; FRAME_BYTES]);
    }

    /// Whether no entry was added since the last [`clear`](Self::clear).
    pub(crate) fn is_empty(&self) -> bool {
        self.bytes.len() <= FRAME_BYTES
    }

    /// Adds the definition of series `id` with its key.
    pub(crate) fn define_series(&mut self, id: u32, key: &str) {
        self.bytes.push(TAG_SERIES);
        varint::write_u64(&mut self.bytes, u64::from(id));
        varint::write_u64(&mut self.bytes, key.len() as u64);
        self.bytes.extend_from_slice(key.as_bytes());
    }

    /// Adds one point of series `id`.
    pub(crate) fn point(&mut self, id: u32, timestamp: i64, value: f64) {
        // Encoded on the stack and appended at once: one capacity check per
        // entry instead of one per byte, on the path of every put.
        let mut entry = [0u8; 1 + varint::MAX_BYTES * 2 + 8];
        entry[0] = TAG_POINT_DELTA;
        let mut len = 1;
        len += varint::encode_u64(&mut entry[len..], u64::from(id));
        len +=
            varint::encode_u64(&mut entry[len..], varint::zigzag(timestamp.wrapping_sub(self.previous_ts)));
        self.previous_ts = timestamp;
        entry[len..len + 8].copy_from_slice(&value.to_bits().to_le_bytes());
        self.bytes.extend_from_slice(&entry[..len + 8]);
    }

    /// Fills in the frame and returns the whole record.
    pub(crate) fn finish(&mut self) -> &[u8] {
        if self.bytes.len() < FRAME_BYTES {
            self.clear();
        }
        let payload_len = (self.bytes.len() - FRAME_BYTES) as u32;
        let crc = crc32fast::hash(&self.bytes[FRAME_BYTES..]);
        self.bytes[..4].copy_from_slice(&payload_len.to_le_bytes());
        self.bytes[4..FRAME_BYTES].copy_from_slice(&crc.to_le_bytes());
        &self.bytes
    }
}

/// One decoded entry of a record's payload.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Entry<'a> {
    /// Series `id` has key `key`.
    Series {
        /// Its id.
        id: u64,
        /// Its key.
        key: &'a str,
    },
    /// A point of series `id`.
    Point {
        /// The series.
        id: u64,
        /// Unix seconds.
        timestamp: i64,
        /// The value.
        value: f64,
    },
}

/// Iterates over the entries of a payload whose checksum already matched.
pub(crate) struct Entries<'a> {
    rest: &'a [u8],
    /// The timestamp of the last point read, for deltas.
    previous_ts: i64,
}

impl<'a> Entries<'a> {
    pub(crate) fn new(payload: &'a [u8]) -> Self {
        Entries { rest: payload, previous_ts: 0 }
    }

    fn decode_one(&mut self) -> Result<Entry<'a>, Corruption> {
        let bad = |what| Corruption::BadEntry { what };
        let (&tag, mut rest) = self.rest.split_first().ok_or(bad("empty entry"))?;
        let id = varint::read_u64(&mut rest).ok_or(bad("truncated series id"))?;
        let entry = match tag {
            TAG_SERIES => {
                let len = varint::read_u64(&mut rest).ok_or(bad("truncated key length"))?;
                let len = usize::try_from(len).map_err(|_| bad("key length overflows"))?;
                let key = rest.get(..len).ok_or(bad("key runs past the record"))?;
                let key = std::str::from_utf8(key).map_err(|_| bad("key is not UTF-8"))?;
                rest = &rest[len..];
                Entry::Series { id, key }
            }
            TAG_POINT | TAG_POINT_DELTA => {
                let stored = varint::read_i64(&mut rest).ok_or(bad("truncated timestamp"))?;
                let timestamp =
                    if tag == TAG_POINT_DELTA { self.previous_ts.wrapping_add(stored) } else { stored };
                let (value, tail) = rest.split_first_chunk::<8>().ok_or(bad("truncated value"))?;
                rest = tail;
                self.previous_ts = timestamp;
                Entry::Point { id, timestamp, value: f64::from_bits(u64::from_le_bytes(*value)) }
            }
            _ => return Err(bad("unknown entry tag")),
        };
        self.rest = rest;
        Ok(entry)
    }
}

impl<'a> Iterator for Entries<'a> {
    type Item = Result<Entry<'a>, Corruption>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let entry = self.decode_one();
        if entry.is_err() {
            // Stop after the first error: what follows cannot be framed.
            self.rest = &[];
        }
        Some(entry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_through_a_record() {
        let mut builder = RecordBuilder::default();
        builder.clear();
        builder.define_series(0, "palm.cpu");
        builder.point(0, -5, f64::NEG_INFINITY);
        builder.point(0, i64::MAX, -0.0);
        // Deltas wrap: from i64::MAX to i64::MIN is one step.
        builder.point(0, i64::MIN, 1.5);
        builder.point(0, i64::MIN, 2.5);
        let record = builder.finish().to_vec();
        let length = u32::from_le_bytes(record[..4].try_into().unwrap()) as usize;
        assert_eq!(length, record.len() - FRAME_BYTES);
        let crc = u32::from_le_bytes(record[4..8].try_into().unwrap());
        assert_eq!(crc, crc32fast::hash(&record[FRAME_BYTES..]));
        let entries: Vec<_> = Entries::new(&record[FRAME_BYTES..]).collect::<Result<_, _>>().unwrap();
        assert_eq!(
            entries,
            [
                Entry::Series { id: 0, key: "palm.cpu" },
                Entry::Point { id: 0, timestamp: -5, value: f64::NEG_INFINITY },
                Entry::Point { id: 0, timestamp: i64::MAX, value: -0.0 },
                Entry::Point { id: 0, timestamp: i64::MIN, value: 1.5 },
                Entry::Point { id: 0, timestamp: i64::MIN, value: 2.5 },
            ]
        );
        builder.clear();
        builder.point(0, 1_700_000_000, 1.0);
        builder.point(0, 1_700_000_000, 1.0);
        // Tag, id, delta and value: the second point's delta takes one byte.
        assert_eq!(builder.finish().len() - FRAME_BYTES, (1 + 1 + 5 + 8) + (1 + 1 + 1 + 8));
    }

    #[test]
    fn version_one_absolute_points_still_decode() {
        let mut payload = vec![TAG_SERIES, 0, 1, b'a'];
        for timestamp in [1_700_000_010i64, 1_700_000_000] {
            payload.push(TAG_POINT);
            payload.push(0);
            varint::write_u64(&mut payload, varint::zigzag(timestamp));
            payload.extend_from_slice(&2.5f64.to_le_bytes());
        }
        let points: Vec<_> = Entries::new(&payload).skip(1).collect::<Result<_, _>>().unwrap();
        assert_eq!(
            points,
            [
                Entry::Point { id: 0, timestamp: 1_700_000_010, value: 2.5 },
                Entry::Point { id: 0, timestamp: 1_700_000_000, value: 2.5 },
            ]
        );
    }

    #[test]
    fn every_truncation_of_a_payload_is_an_error_not_a_panic() {
        let mut builder = RecordBuilder::default();
        builder.clear();
        builder.define_series(7, "key");
        builder.point(7, 1, 1.0);
        let payload = builder.finish()[FRAME_BYTES..].to_vec();
        let series_entry_bytes = 1 + 1 + 1 + "key".len();
        for cut in (1..payload.len()).filter(|&cut| cut != series_entry_bytes) {
            let last = Entries::new(&payload[..cut]).last().unwrap();
            assert!(last.is_err(), "cut at {cut}");
        }
        assert!(Entries::new(&[9, 0]).next().unwrap().is_err());
    }
}
