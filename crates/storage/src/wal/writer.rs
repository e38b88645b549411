//! Appending records to the newest segment, rotating, and syncing.

use super::record::{header, HEADER_BYTES};
use super::{segment_path, sync_dir};
use crate::error::{Error, Result};
use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Appends records to the log.
///
/// Each record reaches the operating system in one `write` before
/// [`Writer::append`] returns, so a killed process loses nothing that was
/// appended; reaching the disk itself takes a sync, which the store schedules
/// by its [`SyncMode`](crate::SyncMode). Positions in the log are counted as
/// log sequence numbers (LSNs): bytes appended since the store was opened.
#[derive(Debug)]
pub(crate) struct Writer {
    dir: PathBuf,
    file: Arc<File>,
    sequence: u64,
    segment_bytes: u64,
    segment_max_bytes: u64,
    lsn: u64,
    poisoned: bool,
    /// Segments closed (and synced whole) since the last
    /// [`Writer::take_sealed`], with their lengths.
    sealed: Vec<(u64, u64)>,
}

impl Writer {
    /// Continues segment `sequence`, whose valid records end at `valid_bytes`
    /// (recovery already cut any torn tail there).
    pub(crate) fn resume(
        dir: &Path,
        sequence: u64,
        valid_bytes: u64,
        segment_max_bytes: u64,
    ) -> Result<Writer> {
        let path = segment_path(dir, sequence);
        let mut file =
            OpenOptions::new().write(true).open(&path).map_err(Error::io("opening log segment", &path))?;
        file.seek(SeekFrom::Start(valid_bytes)).map_err(Error::io("seeking log segment", &path))?;
        Ok(Writer {
            dir: dir.to_owned(),
            file: Arc::new(file),
            sequence,
            segment_bytes: valid_bytes,
            segment_max_bytes,
            lsn: 0,
            poisoned: false,
            sealed: Vec::new(),
        })
    }

    /// Starts the log with segment `sequence` in an empty folder.
    pub(crate) fn create(dir: &Path, sequence: u64, segment_max_bytes: u64) -> Result<Writer> {
        let file = create_segment(dir, sequence)?;
        Ok(Writer {
            dir: dir.to_owned(),
            file: Arc::new(file),
            sequence,
            segment_bytes: HEADER_BYTES as u64,
            segment_max_bytes,
            lsn: 0,
            poisoned: false,
            sealed: Vec::new(),
        })
    }

    /// Writes one framed record and returns the LSN just past it.
    ///
    /// On a failed write the segment is cut back to where the record began,
    /// so no partial record stays behind to look like damage later; if even
    /// that fails the writer is poisoned.
    ///
    /// # Errors
    ///
    /// [`Error::Poisoned`] after an earlier unrecoverable failure, or the I/O
    /// error of this write (nothing of the record is then in the log).
    pub(crate) fn append(&mut self, record: &[u8]) -> Result<u64> {
        if self.poisoned {
            return Err(Error::Poisoned);
        }
        if self.segment_bytes + record.len() as u64 > self.segment_max_bytes
            && self.segment_bytes > HEADER_BYTES as u64
        {
            self.rotate()?;
        }
        if let Err(source) = (&*self.file).write_all(record) {
            let path = self.path();
            let rolled_back = self.file.set_len(self.segment_bytes).is_ok()
                && (&*self.file).seek(SeekFrom::Start(self.segment_bytes)).is_ok();
            if !rolled_back {
                self.poisoned = true;
            }
            return Err(Error::Io { action: "appending to log segment", path, source });
        }
        self.segment_bytes += record.len() as u64;
        self.lsn += record.len() as u64;
        Ok(self.lsn)
    }

    /// Closes the current segment durably and starts the next one; returns
    /// the new segment's sequence number. Every record appended before this
    /// call is in an earlier segment.
    ///
    /// # Errors
    ///
    /// I/O errors; a failed sync also poisons the writer.
    pub(crate) fn rotate(&mut self) -> Result<u64> {
        if self.poisoned {
            return Err(Error::Poisoned);
        }
        let path = self.path();
        if let Err(source) = self.file.sync_data() {
            self.poisoned = true;
            return Err(Error::Io { action: "syncing log segment", path, source });
        }
        let file = create_segment(&self.dir, self.sequence + 1)?;
        self.sealed.push((self.sequence, self.segment_bytes));
        self.sequence += 1;
        self.file = Arc::new(file);
        self.segment_bytes = HEADER_BYTES as u64;
        tracing::debug!(segment = self.sequence, "started a new log segment");
        Ok(self.sequence)
    }

    /// The current segment and how many bytes it holds.
    pub(crate) fn position(&self) -> (u64, u64) {
        (self.sequence, self.segment_bytes)
    }

    /// The segments closed since the last call, each synced whole, with
    /// their lengths: for the log's synced mark.
    pub(crate) fn take_sealed(&mut self) -> Vec<(u64, u64)> {
        std::mem::take(&mut self.sealed)
    }

    /// The LSN just past the last appended record.
    pub(crate) fn lsn(&self) -> u64 {
        self.lsn
    }

    /// The file of the current segment, for syncing without holding the
    /// writer: every earlier segment was synced when it was closed.
    pub(crate) fn file(&self) -> Arc<File> {
        Arc::clone(&self.file)
    }

    /// The current segment's path.
    pub(crate) fn path(&self) -> PathBuf {
        segment_path(&self.dir, self.sequence)
    }

    /// Whether the writer refuses appends (see [`Writer::poison`]).
    pub(crate) fn is_poisoned(&self) -> bool {
        self.poisoned
    }

    /// Refuses every later append: a sync failed, so what the disk holds is
    /// unknown.
    pub(crate) fn poison(&mut self) {
        self.poisoned = true;
    }
}

/// Creates segment `sequence` with its header, durably (file and folder).
fn create_segment(dir: &Path, sequence: u64) -> Result<File> {
    let path = segment_path(dir, sequence);
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(Error::io("creating log segment", &path))?;
    if let Err(source) = file.write_all(&header()).and_then(|()| file.sync_all()) {
        // Leave no headerless file behind to be taken for a damaged segment;
        // the next attempt creates it afresh.
        let _ = std::fs::remove_file(&path);
        return Err(Error::Io { action: "writing log segment header", path, source });
    }
    sync_dir(dir)?;
    Ok(file)
}
