//! Block files: the chunks of every series for one window of time, each
//! series' chunks in a checksummed run of their own, and an index to find
//! the run of one series without reading the others.
//!
//! ```text
//! file    = "EDRMBLK" 3 (run rollups?)* index footer            (version 3)
//! run     = length:u32le crc32:u32le (chunk_len:varint chunk)*   (one series, time order)
//! rollups = length:u32le crc32:u32le payload                     (see `crate::rollup`)
//! index   = length:u32le crc32:u32le entry*                      (ascending series ids)
//! entry   = series_id:u32le run_offset:u64le run_bytes:u32le points:u32le rollup_bytes:u32le
//! footer  = index_offset:u64le "EDRMIDX" 2
//! ```
//!
//! A series' rollups follow its run (none when all its values are NaN). A
//! window written as it leaves memory, or a file of changes, holds each
//! series' run as one chunk (see [`BlockWriter::compacting`]); a window
//! still in memory keeps the chunks of 120 points it has there.
//! Version 2 files are the same without rollups and without the entries'
//! last field; reads roll such windows up from their points, and a
//! window's next whole rewrite adds them.
//!
//! A read checks what it trusts before using it: the file's length against
//! the manifest's, the footer, the index's checksum, then each run's
//! checksum and its chunks' windows. Reads use `pread` on bounded ranges, so
//! a truncated or damaged file gives [`Error::CorruptFile`], never a fault.
//! `mmap` was the alternative, measured by `benches/history.rs`: a series'
//! window (about 700 bytes) costs 0.81 µs by `pread` with its checksum and
//! 0.19 µs copied from a warm mapping. The difference is under 1 % of a
//! read (a `get` of 100,000 points crosses 139 windows: 0.1 ms of 12.6),
//! while a file cut short under a mapping raises SIGBUS.
//!
//! Version 1 files (one record stream of `series_id chunk_len chunk`, no
//! index) are still read whole, by [`read_legacy`]; a store that opens them
//! rewrites them as version 2 at its next checkpoint.
//!
//! Files are immutable: a checkpoint that changes a window writes a new
//! file under its own generation, and the old one is deleted only after the
//! new manifest no longer names it.

use crate::codec::chunk;
use crate::codec::chunk::Decoder;
use crate::error::{Corruption, Error, Result};
use crate::rollup::{self, Rolling};
use crate::series::window_of;
use crate::value::Value;
use crate::varint;
use crate::wal::reader::Reader;
use crate::wal::record::{frame_into, FRAME_BYTES};
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const MAGIC: &[u8; 7] = b"EDRMBLK";
const LEGACY_VERSION: u8 = 1;
/// Runs and an index, without rollups.
const UNROLLED_VERSION: u8 = 2;
const VERSION: u8 = 3;
const HEADER_BYTES: u64 = MAGIC.len() as u64 + 1;
const FOOTER_MAGIC: &[u8; 8] = b"EDRMIDX\x02";
const FOOTER_BYTES: u64 = 16;
/// An index entry's bytes in version 2 files, and in version 3.
const UNROLLED_ENTRY_BYTES: usize = 20;
const ENTRY_BYTES: usize = 24;

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

/// Where one series' run lies in a block file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) id: u32,
    offset: u64,
    bytes: u32,
    /// Points in the run's chunks.
    pub(crate) points: u32,
    /// The bytes of the rollups after the run; 0 for none.
    rollup_bytes: u32,
}

impl Entry {
    /// Where the run's frame ends (and the rollups' starts).
    fn run_end(&self) -> u64 {
        self.offset + FRAME_BYTES as u64 + u64::from(self.bytes)
    }

    /// Where the entry's frames end.
    fn end(&self) -> u64 {
        let rollups =
            if self.rollup_bytes == 0 { 0 } else { FRAME_BYTES as u64 + u64::from(self.rollup_bytes) };
        self.run_end() + rollups
    }
}

/// A block file's index, checked: entries in ascending series order.
#[derive(Debug, Clone)]
pub(crate) struct Index {
    entries: Box<[u8]>,
    /// [`ENTRY_BYTES`], or [`UNROLLED_ENTRY_BYTES`] in a version 2 file.
    entry_bytes: usize,
}

impl Index {
    fn entry(&self, at: usize) -> Entry {
        let raw = &self.entries[at * self.entry_bytes..(at + 1) * self.entry_bytes];
        let u32_at =
            |from: usize| u32::from_le_bytes([raw[from], raw[from + 1], raw[from + 2], raw[from + 3]]);
        let mut offset = [0u8; 8];
        offset.copy_from_slice(&raw[4..12]);
        let rollup_bytes = if self.entry_bytes == ENTRY_BYTES { u32_at(20) } else { 0 };
        Entry {
            id: u32_at(0),
            offset: u64::from_le_bytes(offset),
            bytes: u32_at(12),
            points: u32_at(16),
            rollup_bytes,
        }
    }

    /// How many series the file holds.
    pub(crate) fn len(&self) -> usize {
        self.entries.len() / self.entry_bytes
    }

    /// The run of series `id`, if the file holds one.
    pub(crate) fn find(&self, id: u32) -> Option<Entry> {
        let (mut low, mut high) = (0, self.len());
        while low < high {
            let middle = (low + high) / 2;
            let entry = self.entry(middle);
            match entry.id.cmp(&id) {
                std::cmp::Ordering::Less => low = middle + 1,
                std::cmp::Ordering::Greater => high = middle,
                std::cmp::Ordering::Equal => return Some(entry),
            }
        }
        None
    }

    /// Every entry, in series order.
    pub(crate) fn entries(&self) -> impl Iterator<Item = Entry> + '_ {
        (0..self.len()).map(|at| self.entry(at))
    }

    /// Memory held.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.entries.len()
    }
}

/// What a written block file holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Written {
    pub(crate) bytes: u64,
    pub(crate) points: u64,
    /// The first and last series id with a run, if any.
    pub(crate) ids: Option<(u32, u32)>,
}

/// Accumulates a block file in memory. Series must be added in ascending
/// id order, each one's chunks in time order.
#[derive(Debug)]
pub(crate) struct BlockWriter {
    /// The steps each series' run is rolled up at, and its archives.
    rolling: Rolling,
    /// The first of them written beside the runs.
    written_from: usize,
    file: Vec<u8>,
    index: Vec<u8>,
    run: Vec<u8>,
    /// The open run's rollups, when copied from another file.
    rollups: Option<Vec<u8>>,
    /// The chunks in the open run.
    run_chunks: usize,
    /// Whether runs made here are written as one chunk.
    compact: bool,
    /// The series whose run is open, and its points so far.
    open: Option<(u32, u32)>,
    points: u64,
    /// The first and last series added.
    ids: Option<(u32, u32)>,
}

impl BlockWriter {
    /// A file whose runs are rolled up through `rolling`'s steps (checked
    /// by [`crate::rollup::check_steps`]), the levels from
    /// [`rollup::FINEST_STEP_BESIDE_POINTS`] on written beside them with
    /// the series' archives.
    pub(crate) fn new(rolling: &Rolling) -> BlockWriter {
        let mut file = Vec::with_capacity(1024 * 1024);
        file.extend_from_slice(MAGIC);
        file.push(VERSION);
        BlockWriter {
            rolling: rolling.clone(),
            written_from: rolling
                .steps
                .iter()
                .position(|&step| step >= rollup::FINEST_STEP_BESIDE_POINTS)
                .unwrap_or(rolling.steps.len()),
            file,
            index: Vec::new(),
            run: Vec::new(),
            rollups: None,
            run_chunks: 0,
            compact: false,
            open: None,
            points: 0,
            ids: None,
        }
    }

    /// A writer that stores each run it makes (not those it copies) as one
    /// chunk: for a window leaving memory, whose points no longer change
    /// often. A window's points of a series at 10 s take an eighth less
    /// disk as one chunk than as six of [`chunk::CHUNK_MAX_POINTS`] (each
    /// with its header and first values whole), measured on the fleet
    /// workload: 0.96 against 1.08 bytes a point.
    pub(crate) fn compacting(self) -> BlockWriter {
        BlockWriter { compact: true, ..self }
    }

    /// Adds one chunk of series `id`.
    pub(crate) fn add(&mut self, id: u32, chunk: &[u8]) {
        if self.open.is_some_and(|(open, _)| open != id) {
            self.close_run();
        }
        self.run_chunks += 1;
        let points = chunk::summary(chunk).map_or(0, |summary| summary.count);
        let (_, run_points) = self.open.get_or_insert((id, 0));
        *run_points += points;
        varint::write_u64(&mut self.run, chunk.len() as u64);
        self.run.extend_from_slice(chunk);
    }

    /// Adds sorted points of series `id`, encoded as chunks.
    pub(crate) fn add_points(&mut self, id: u32, points: &[(i64, f64)]) {
        chunk::encode_pieces(points, |piece| self.add(id, piece));
    }

    /// Adds the checked run of series `id` read from another block file,
    /// as it is, with its rollups when that file has them (else they are
    /// made again).
    pub(crate) fn add_run(&mut self, id: u32, run: &[u8], rollups: Option<&[u8]>, points: u32) {
        self.close_run();
        self.open = Some((id, points));
        self.run.extend_from_slice(run);
        self.rollups = rollups.map(<[u8]>::to_vec);
        self.close_run();
    }

    fn close_run(&mut self) {
        let Some((id, points)) = self.open.take() else { return };
        let chunks = std::mem::take(&mut self.run_chunks);
        let archives = self.rolling.archives.of(id).is_some_and(|archives| archives.stores_any());
        let copied = self.rollups.take();
        let rolls = copied.is_none() && (self.written_from < self.rolling.steps.len() || archives);
        let compacts = copied.is_none() && self.compact && chunks > 1;
        let mut decoded = Vec::new();
        // The run's chunks were checked or made here: a point that does not
        // decode is left out of the rollups, and a read of the run reports
        // it; such a run is not compacted, which would drop the point.
        let whole = (rolls || compacts)
            && run_points(&self.run, i64::MIN, |t, v| decoded.push((t, v))).is_ok()
            && decoded.len() == points as usize;
        let rollups = match copied {
            Some(copied) => copied,
            None if rolls => self.rolling.encode(id, self.written_from, &decoded),
            None => Vec::new(),
        };
        if compacts && whole {
            self.run.clear();
            let mut chunk = Vec::with_capacity(decoded.len() * 2);
            chunk::encode(&decoded, &mut chunk);
            varint::write_u64(&mut self.run, chunk.len() as u64);
            self.run.extend_from_slice(&chunk);
        }
        let first = self.ids.map_or(id, |(first, _)| first);
        self.ids = Some((first, id));
        self.index.extend_from_slice(&id.to_le_bytes());
        self.index.extend_from_slice(&(self.file.len() as u64).to_le_bytes());
        self.index.extend_from_slice(&(self.run.len() as u32).to_le_bytes());
        self.index.extend_from_slice(&points.to_le_bytes());
        self.index.extend_from_slice(&(rollups.len() as u32).to_le_bytes());
        frame_into(&mut self.file, &self.run);
        if !rollups.is_empty() {
            frame_into(&mut self.file, &rollups);
        }
        self.run.clear();
        self.points += u64::from(points);
    }

    /// Writes the file durably under `path` (through a temporary name) and
    /// returns its size and points. The caller syncs the folder.
    pub(crate) fn write(mut self, path: &Path) -> Result<Written> {
        self.close_run();
        let index_offset = self.file.len() as u64;
        frame_into(&mut self.file, &self.index);
        self.file.extend_from_slice(&index_offset.to_le_bytes());
        self.file.extend_from_slice(FOOTER_MAGIC);
        write_atomically(path, &self.file)?;
        Ok(Written { bytes: self.file.len() as u64, points: self.points, ids: self.ids })
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

/// An open block file of a known length, read in checked pieces.
#[derive(Debug)]
pub(crate) struct BlockFile {
    file: File,
    path: PathBuf,
    window: i64,
    bytes: u64,
    version: u8,
}

impl BlockFile {
    /// Opens the file of `window` and checks its length (when the manifest
    /// knows it) and its header.
    pub(crate) fn open(path: &Path, window: i64, expected_bytes: Option<u64>) -> Result<BlockFile> {
        let file = File::open(path).map_err(Error::io("opening block file", path))?;
        let bytes = file.metadata().map_err(Error::io("reading block file size", path))?.len();
        let mut block = BlockFile { file, path: path.to_owned(), window, bytes, version: VERSION };
        if let Some(expected) = expected_bytes.filter(|&expected| expected != bytes) {
            return Err(
                block.corrupt(expected.min(bytes), Corruption::BlockLength { expected, found: bytes })
            );
        }
        let mut header = [0u8; HEADER_BYTES as usize];
        block.read_at(0, &mut header)?;
        if &header[..MAGIC.len()] != MAGIC {
            return Err(block.corrupt(0, Corruption::BadMagic));
        }
        let version = header[MAGIC.len()];
        if version != VERSION && version != UNROLLED_VERSION {
            return Err(Error::UnsupportedVersion {
                path: path.to_owned(),
                found: header[MAGIC.len()],
                supported: VERSION,
            });
        }
        block.version = version;
        Ok(block)
    }

    fn corrupt(&self, offset: u64, reason: Corruption) -> Error {
        Error::CorruptFile { path: self.path.clone(), offset, reason }
    }

    /// Reads `out.len()` bytes at `offset`; a range past the end is damage.
    fn read_at(&self, offset: u64, out: &mut [u8]) -> Result<()> {
        if offset.checked_add(out.len() as u64).is_none_or(|end| end > self.bytes) {
            let length = u32::try_from(out.len()).unwrap_or(u32::MAX);
            return Err(self.corrupt(offset, Corruption::BadLength { length }));
        }
        self.file.read_exact_at(out, offset).map_err(Error::io("reading block file", &self.path))
    }

    /// Reads one framed record of `length` payload bytes at `offset` and
    /// checks it; the payload starts at [`FRAME_BYTES`] in what comes back.
    fn read_frame(&self, offset: u64, length: usize) -> Result<Vec<u8>> {
        let mut frame = vec![0u8; FRAME_BYTES + length];
        self.read_at(offset, &mut frame)?;
        let stored_length = u32::from_le_bytes([frame[0], frame[1], frame[2], frame[3]]);
        let crc = u32::from_le_bytes([frame[4], frame[5], frame[6], frame[7]]);
        if stored_length as usize != length {
            return Err(self.corrupt(offset, Corruption::BadLength { length: stored_length }));
        }
        if crc32fast::hash(&frame[FRAME_BYTES..]) != crc {
            return Err(self.corrupt(offset, Corruption::ChecksumMismatch));
        }
        Ok(frame)
    }

    /// Reads and checks the index.
    pub(crate) fn index(&self) -> Result<Index> {
        let index_end = self.bytes.checked_sub(FOOTER_BYTES).filter(|&end| end >= HEADER_BYTES);
        let Some(index_end) = index_end else {
            return Err(self.corrupt(0, Corruption::BadLength { length: self.bytes as u32 }));
        };
        let mut footer = [0u8; FOOTER_BYTES as usize];
        self.read_at(index_end, &mut footer)?;
        let bad_footer = || self.corrupt(index_end, Corruption::BadEntry { what: "block file footer" });
        if &footer[8..] != FOOTER_MAGIC {
            return Err(bad_footer());
        }
        let mut offset = [0u8; 8];
        offset.copy_from_slice(&footer[..8]);
        let index_offset = u64::from_le_bytes(offset);
        let length = index_end
            .checked_sub(index_offset)
            .and_then(|length| length.checked_sub(FRAME_BYTES as u64))
            .filter(|_| index_offset >= HEADER_BYTES)
            .ok_or_else(bad_footer)?;
        let frame = self.read_frame(index_offset, length as usize)?;
        let entry_bytes = if self.version == VERSION { ENTRY_BYTES } else { UNROLLED_ENTRY_BYTES };
        let index = Index { entries: frame[FRAME_BYTES..].into(), entry_bytes };
        let mut previous: Option<Entry> = None;
        let well_formed = index.entries.len().is_multiple_of(entry_bytes)
            && index.entries().all(|entry| {
                let ordered = previous.is_none_or(|p| p.id < entry.id && p.end() <= entry.offset);
                previous = Some(entry);
                ordered && entry.offset >= HEADER_BYTES && entry.end() <= index_offset
            });
        if !well_formed {
            return Err(self.corrupt(index_offset, Corruption::BadEntry { what: "block file index" }));
        }
        Ok(index)
    }

    /// Reads the run `entry` points at and checks it and its chunks.
    pub(crate) fn run(&self, entry: Entry) -> Result<Arc<[u8]>> {
        let frame = self.read_frame(entry.offset, entry.bytes as usize)?;
        let run = &frame[FRAME_BYTES..];
        let mut points = 0u32;
        for chunk in chunks(run) {
            let chunk = chunk.map_err(|reason| self.corrupt(entry.offset, reason))?;
            let summary = chunk::summary(chunk).map_err(|reason| self.corrupt(entry.offset, reason))?;
            if window_of(summary.first_ts) != self.window || window_of(summary.last_ts) != self.window {
                return Err(
                    self.corrupt(entry.offset, Corruption::BadEntry { what: "chunk outside its window" })
                );
            }
            points = points.saturating_add(summary.count);
        }
        if points != entry.points {
            return Err(self.corrupt(entry.offset, Corruption::BadEntry { what: "run point count" }));
        }
        Ok(run.into())
    }

    /// Reads the rollups after the run `entry` points at and checks their
    /// frame (the slots are checked as they are decoded); `None` when the
    /// file has none for it.
    pub(crate) fn rollups(&self, entry: Entry) -> Result<Option<Arc<[u8]>>> {
        if entry.rollup_bytes == 0 {
            return Ok(None);
        }
        let frame = self.read_frame(entry.run_end(), entry.rollup_bytes as usize)?;
        Ok(Some(frame[FRAME_BYTES..].into()))
    }
}

/// Calls `each` for the points of a run read by [`BlockFile::run`] from
/// timestamp `from` on, in time order (chunks that end before it are not
/// decoded).
///
/// # Errors
///
/// What the chunks' decoding finds wrong.
pub(crate) fn run_points(run: &[u8], from: i64, mut each: impl FnMut(i64, f64)) -> Result<(), Corruption> {
    run_values(run, from, usize::MAX, |timestamp, value| each(timestamp, value.as_f64())).map(|_| ())
}

/// [`run_points`], each value with the decimal it was stored as, stopping
/// after `limit` points; returns how many were visited.
pub(crate) fn run_values(
    run: &[u8],
    from: i64,
    limit: usize,
    mut each: impl FnMut(i64, Value),
) -> Result<usize, Corruption> {
    let mut visited = 0;
    for chunk in chunks(run) {
        let chunk = chunk?;
        if chunk::summary(chunk)?.last_ts < from {
            continue;
        }
        if visited == limit {
            break;
        }
        visited += Decoder::new(chunk)?.visit_values(from, limit - visited, &mut each)?;
    }
    Ok(visited)
}

/// The chunks of a run read by [`BlockFile::run`], in time order.
pub(crate) fn chunks(mut run: &[u8]) -> impl Iterator<Item = Result<&[u8], Corruption>> {
    std::iter::from_fn(move || {
        if run.is_empty() {
            return None;
        }
        let bad = |what| Corruption::BadEntry { what };
        let Some(len) = varint::read_u64(&mut run).and_then(|len| usize::try_from(len).ok()) else {
            run = &[];
            return Some(Err(bad("truncated chunk length")));
        };
        let Some(chunk) = run.get(..len) else {
            run = &[];
            return Some(Err(bad("chunk runs past the run")));
        };
        run = &run[len..];
        Some(Ok(chunk))
    })
}

/// Reads a whole block file of either version (its length checked against
/// `expected_bytes` when known), handing each chunk to `visit` with its
/// series id.
///
/// # Errors
///
/// [`Error::CorruptFile`] for any damage, including a chunk whose header
/// does not decode or lies outside `window`, or an error from `visit`.
pub(crate) fn read_all(
    path: &Path,
    window: i64,
    expected_bytes: Option<u64>,
    mut visit: impl FnMut(u32, &[u8]) -> Result<(), Corruption>,
) -> Result<()> {
    let block = match BlockFile::open(path, window, expected_bytes) {
        Err(Error::UnsupportedVersion { found: LEGACY_VERSION, .. }) => {
            return read_legacy(path, window, expected_bytes, visit)
        }
        opened => opened?,
    };
    for entry in block.index()?.entries() {
        let run = block.run(entry)?;
        // Checked, so that a whole read (salvage's) finds damage to the
        // rollups too.
        block.rollups(entry)?;
        for chunk in chunks(&run) {
            let chunk = chunk.map_err(|reason| block.corrupt(entry.offset, reason))?;
            visit(entry.id, chunk).map_err(|reason| block.corrupt(entry.offset, reason))?;
        }
    }
    Ok(())
}

/// Reads a version 1 block file whole.
fn read_legacy(
    path: &Path,
    window: i64,
    expected_bytes: Option<u64>,
    mut visit: impl FnMut(u32, &[u8]) -> Result<(), Corruption>,
) -> Result<()> {
    let bytes = super::read_file(path, MAGIC, LEGACY_VERSION..=LEGACY_VERSION)?;
    if let Some(expected) = expected_bytes.filter(|&expected| expected != bytes.len() as u64) {
        let found = bytes.len() as u64;
        let reason = Corruption::BlockLength { expected, found };
        return Err(Error::CorruptFile { path: path.to_owned(), offset: expected.min(found), reason });
    }
    let corrupt = |offset: u64, reason| Error::CorruptFile { path: path.to_owned(), offset, reason };
    for record in Reader::new(&bytes) {
        let record = record.map_err(|bad| corrupt(bad.offset, bad.reason))?;
        let mut input = record.payload;
        while !input.is_empty() {
            let entry = read_legacy_entry(&mut input, window).and_then(|(id, chunk)| visit(id, chunk));
            entry.map_err(|reason| corrupt(record.offset, reason))?;
        }
    }
    Ok(())
}

fn read_legacy_entry<'a>(input: &mut &'a [u8], window: i64) -> Result<(u32, &'a [u8]), Corruption> {
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
