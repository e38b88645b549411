//! Block files: the chunks of every series for one window of time.
//!
//! ```text
//! file    = "EDRMBLK" version:u8 record*
//! record  = length:u32le crc32:u32le payload        (at most ~1 MiB each)
//! payload = (series_id:varint chunk_len:varint chunk)*
//! ```
//!
//! A series' chunks appear in time order. Files are immutable: a checkpoint
//! that changes a window writes a new file under its own generation, and
//! the old one is deleted only after the new manifest no longer names it.

use crate::codec::chunk;
use crate::error::{Corruption, Error, Result};
use crate::series::window_of;
use crate::varint;
use crate::wal::reader::Reader;
use crate::wal::record::frame_into;
use std::io::Write;
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 7] = b"EDRMBLK";
const VERSION: u8 = 1;
const RECORD_TARGET_BYTES: usize = 1024 * 1024;

/// The block file of `window` written by checkpoint `generation`.
pub(crate) fn path(dir: &Path, window: i64, generation: u64) -> PathBuf {
    dir.join(format!("window_{window}_gen_{generation}.blk"))
}

/// Block files in `dir`, as ((window, generation), path).
pub(crate) fn list(dir: &Path) -> Result<Vec<((i64, u64), PathBuf)>> {
    crate::wal::list_files(dir, |name| {
        let (window, generation) = name.strip_prefix("window_")?.strip_suffix(".blk")?.split_once("_gen_")?;
        Some((window.parse().ok()?, generation.parse().ok()?))
    })
}

/// Accumulates a block file in memory.
#[derive(Debug)]
pub(crate) struct BlockWriter {
    file: Vec<u8>,
    payload: Vec<u8>,
}

impl BlockWriter {
    pub(crate) fn new() -> BlockWriter {
        let mut file = Vec::with_capacity(RECORD_TARGET_BYTES);
        file.extend_from_slice(MAGIC);
        file.push(VERSION);
        BlockWriter { file, payload: Vec::with_capacity(RECORD_TARGET_BYTES) }
    }

    /// Adds one chunk of series `id`.
    pub(crate) fn add(&mut self, id: u32, chunk: &[u8]) {
        varint::write_u64(&mut self.payload, u64::from(id));
        varint::write_u64(&mut self.payload, chunk.len() as u64);
        self.payload.extend_from_slice(chunk);
        if self.payload.len() >= RECORD_TARGET_BYTES {
            self.flush_record();
        }
    }

    fn flush_record(&mut self) {
        if !self.payload.is_empty() {
            frame_into(&mut self.file, &self.payload);
            self.payload.clear();
        }
    }

    /// Writes the file durably under `path` (through a temporary name) and
    /// returns its size. The caller syncs the folder.
    pub(crate) fn write(mut self, path: &Path) -> Result<u64> {
        self.flush_record();
        write_atomically(path, &self.file)?;
        Ok(self.file.len() as u64)
    }
}

/// Writes `bytes` to `path.tmp`, syncs it and renames it to `path`.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let temporary = path.with_extension("tmp");
    let written = std::fs::File::create(&temporary)
        .and_then(|mut file| file.write_all(bytes).and_then(|()| file.sync_all()))
        .and_then(|()| {
            crate::failpoint::hit("checkpoint-before-rename");
            std::fs::rename(&temporary, path)
        });
    written.map_err(|source| {
        let _ = std::fs::remove_file(&temporary);
        Error::Io { action: "writing checkpoint file", path: path.to_owned(), source }
    })
}

/// Reads the block file of `window`, handing each chunk to `visit` with its
/// series id.
///
/// # Errors
///
/// [`Error::CorruptFile`] for any damage, including a chunk whose header
/// does not decode or lies outside `window`, or an error from `visit`.
pub(crate) fn read(
    path: &Path,
    window: i64,
    mut visit: impl FnMut(u32, &[u8]) -> Result<(), Corruption>,
) -> Result<u64> {
    let bytes = super::read_file(path, MAGIC, VERSION..=VERSION)?;
    let corrupt = |offset: u64, reason| Error::CorruptFile { path: path.to_owned(), offset, reason };
    for record in Reader::new(&bytes) {
        let record = record.map_err(|bad| corrupt(bad.offset, bad.reason))?;
        let mut input = record.payload;
        while !input.is_empty() {
            let entry = read_entry(&mut input, window).and_then(|(id, chunk)| visit(id, chunk));
            entry.map_err(|reason| corrupt(record.offset, reason))?;
        }
    }
    Ok(bytes.len() as u64)
}

fn read_entry<'a>(input: &mut &'a [u8], window: i64) -> Result<(u32, &'a [u8]), Corruption> {
    let bad = |what| Corruption::BadEntry { what };
    let id = varint::read_u64(input).ok_or(bad("truncated series id"))?;
    let id = u32::try_from(id).map_err(|_| bad("series id overflows"))?;
    let len = varint::read_u64(input).ok_or(bad("truncated chunk length"))?;
    let len = usize::try_from(len).map_err(|_| bad("chunk length overflows"))?;
    let chunk = input.get(..len).ok_or(bad("chunk runs past the record"))?;
    *input = &input[len..];
    let summary = chunk::summary(chunk)?;
    if window_of(summary.first_ts) != window || window_of(summary.last_ts) != window {
        return Err(bad("chunk outside its window"));
    }
    Ok((id, chunk))
}
