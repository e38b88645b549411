//! The log's synced mark: how far each segment was known to be on disk.
//!
//! Recovery cuts a torn last write, which is only believable past the
//! point the store last synced: anything before it was on disk, so a log
//! that now ends earlier, or lacks a segment, was damaged after the fact
//! (truncated, deleted, zeroed) and must not be taken for a crash.
//!
//! ```text
//! file    = "EDRMMRK" version:u8 record                (one framed record)
//! payload = count:varint (sequence:varint synced_bytes:varint)*
//! ```
//!
//! The mark is written under a temporary name, synced and renamed, at most
//! once a second by a background thread and at close: it trails the log by
//! up to a second, so it proves less than the log holds, never more.

use super::reader::Reader;
use super::record::frame_into;
use super::writer::Writer;
use super::{list_segments, sync_dir};
use crate::error::{Corruption, Error, Result};
use crate::varint;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 7] = b"EDRMMRK";
const VERSION: u8 = 1;
const FILE_NAME: &str = "synced";

/// Segment sequence → bytes of it known to be on disk (its header
/// included). Segments before the newest were synced whole when the log
/// moved on from them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SyncedMark {
    pub(crate) segments: BTreeMap<u64, u64>,
}

/// The mark's file in the log folder `wal_dir`.
pub(crate) fn path(wal_dir: &Path) -> PathBuf {
    wal_dir.join(FILE_NAME)
}

impl SyncedMark {
    /// Notes that segment `sequence` is on disk through `bytes`.
    pub(crate) fn advance(&mut self, sequence: u64, bytes: u64) {
        let known = self.segments.entry(sequence).or_default();
        *known = (*known).max(bytes);
    }

    /// Forgets the segments before `sequence` (deleted by a checkpoint).
    pub(crate) fn forget_before(&mut self, sequence: u64) {
        self.segments = self.segments.split_off(&sequence);
    }

    /// Reads the mark in `wal_dir`; `None` when there is none (a new store,
    /// or one last written by a build without marks).
    ///
    /// # Errors
    ///
    /// [`Error::CorruptFile`] for a damaged mark, and I/O errors.
    pub(crate) fn read(wal_dir: &Path) -> Result<Option<SyncedMark>> {
        let path = path(wal_dir);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(Error::Io { action: "reading the log's synced mark", path, source }),
        };
        let corrupt = |offset, reason| Error::CorruptFile { path: path.clone(), offset, reason };
        if bytes.len() < MAGIC.len() + 1 || &bytes[..MAGIC.len()] != MAGIC || bytes[MAGIC.len()] != VERSION {
            return Err(corrupt(0, Corruption::BadMagic));
        }
        let record = match Reader::new(&bytes).next() {
            Some(Ok(record)) => record,
            Some(Err(bad)) => return Err(corrupt(bad.offset, bad.reason)),
            None => return Err(corrupt(bytes.len() as u64, Corruption::BadLength { length: 0 })),
        };
        decode(record.payload)
            .map(Some)
            .ok_or_else(|| corrupt(record.offset, Corruption::BadEntry { what: "synced mark fields" }))
    }

    /// The mark of the log as recovery left it (cut to its valid records):
    /// every segment's length. Unless it is the mark already on disk
    /// (`found`, after a clean close), it is written, the newest segment
    /// synced first so that it claims nothing that is not on disk.
    ///
    /// # Errors
    ///
    /// I/O errors.
    pub(crate) fn rewrite_after_recovery(
        wal_dir: &Path,
        writer: &Writer,
        found: Option<&SyncedMark>,
    ) -> Result<SyncedMark> {
        let mut mark = SyncedMark::default();
        for (sequence, path) in list_segments(wal_dir)? {
            let bytes = std::fs::metadata(&path).map_err(Error::io("reading log segment", &path))?.len();
            mark.advance(sequence, bytes);
        }
        if found == Some(&mark) {
            return Ok(mark);
        }
        writer.file().sync_data().map_err(Error::io("syncing log segment", writer.path()))?;
        mark.write(wal_dir)?;
        Ok(mark)
    }

    /// Writes the mark durably: a temporary file, synced, renamed over the
    /// old one, the folder synced.
    ///
    /// # Errors
    ///
    /// I/O errors; the old mark is then still in place.
    pub(crate) fn write(&self, wal_dir: &Path) -> Result<()> {
        let mut payload = Vec::new();
        varint::write_u64(&mut payload, self.segments.len() as u64);
        for (&sequence, &bytes) in &self.segments {
            varint::write_u64(&mut payload, sequence);
            varint::write_u64(&mut payload, bytes);
        }
        let mut file_bytes = MAGIC.to_vec();
        file_bytes.push(VERSION);
        frame_into(&mut file_bytes, &payload);
        let target = path(wal_dir);
        let temporary = wal_dir.join(format!("{FILE_NAME}.tmp"));
        let mut file = std::fs::File::create(&temporary)
            .map_err(Error::io("creating the log's synced mark", &temporary))?;
        file.write_all(&file_bytes)
            .and_then(|()| file.sync_all())
            .map_err(Error::io("writing the log's synced mark", &temporary))?;
        std::fs::rename(&temporary, &target).map_err(Error::io("renaming the log's synced mark", &target))?;
        sync_dir(wal_dir)
    }
}

fn decode(payload: &[u8]) -> Option<SyncedMark> {
    let mut input = payload;
    let count = varint::read_u64(&mut input)?;
    let mut mark = SyncedMark::default();
    for _ in 0..count {
        let sequence = varint::read_u64(&mut input)?;
        mark.segments.insert(sequence, varint::read_u64(&mut input)?);
    }
    input.is_empty().then_some(mark)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_keeps_the_furthest_position_and_rejects_damage() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(SyncedMark::read(dir.path()).unwrap(), None);
        let mut mark = SyncedMark::default();
        mark.advance(3, 100);
        mark.advance(3, 50);
        mark.advance(4, 8);
        mark.advance(5, 700);
        mark.forget_before(4);
        assert_eq!(mark.segments, BTreeMap::from([(4, 8), (5, 700)]));
        mark.write(dir.path()).unwrap();
        assert_eq!(SyncedMark::read(dir.path()).unwrap(), Some(mark));
        let bytes = std::fs::read(path(dir.path())).unwrap();
        for cut in 0..bytes.len() {
            std::fs::write(path(dir.path()), &bytes[..cut]).unwrap();
            assert!(SyncedMark::read(dir.path()).is_err(), "cut at {cut}");
        }
    }
}
