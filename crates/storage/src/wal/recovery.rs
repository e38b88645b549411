//! Replaying the log on open: everything acknowledged comes back, a torn
//! last write is cut off, and any other damage stops the store from starting
//! unless the operator asks to move it aside.

use super::reader::{BadRecord, Reader};
use super::record::{header, HEADER_BYTES, MAGIC, OLDEST_READABLE_VERSION, VERSION};
use super::writer::Writer;
use super::{list_segments, sync_dir};
use crate::error::{Corruption, Error, Result};
use crate::RecoveryMode;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

/// What recovery found, and the writer that continues the log.
#[derive(Debug)]
pub(crate) struct Recovered {
    /// Appends after the last valid record.
    pub(crate) writer: Writer,
    /// How many records were replayed.
    pub(crate) records: u64,
    /// Bytes of a torn last write that were cut off.
    pub(crate) torn_bytes: u64,
    /// Where damaged parts were moved, when [`RecoveryMode::Salvage`] did so.
    pub(crate) salvaged_to: Option<PathBuf>,
}

/// Replays every segment in `dir` from `first_sequence` on, oldest first, handing each valid record's
/// payload to `apply`.
///
/// `apply` must either apply a whole payload or nothing of it, and returns
/// the corruption it found in an entry otherwise.
///
/// # Errors
///
/// [`Error::CorruptLog`] for damage that is not a torn last write (unless
/// `mode` is [`RecoveryMode::Salvage`]), [`Error::UnsupportedVersion`], and
/// I/O errors.
pub(crate) fn recover(
    dir: &Path,
    mode: RecoveryMode,
    segment_max_bytes: u64,
    first_sequence: u64,
    mut apply: impl FnMut(&[u8]) -> Result<(), Corruption>,
) -> Result<Recovered> {
    let mut segments = list_segments(dir)?;
    // Segments a checkpoint covers are garbage its cleanup did not reach.
    segments.retain(|(sequence, _)| *sequence >= first_sequence);
    let Some(&(newest_sequence, _)) = segments.last() else {
        let writer = Writer::create(dir, first_sequence.max(1), segment_max_bytes)?;
        return Ok(Recovered { writer, records: 0, torn_bytes: 0, salvaged_to: None });
    };
    let (mut records, mut torn_bytes) = (0, 0);
    // Where appending resumes in the newest segment.
    let mut newest_valid_bytes = HEADER_BYTES as u64;
    let mut newest_version = VERSION;
    for (index, (sequence, path)) in segments.iter().enumerate() {
        let is_newest = *sequence == newest_sequence;
        let bytes = std::fs::read(path).map_err(Error::io("reading log segment", path))?;
        match check_header(path, &bytes)? {
            Ok(version) if is_newest => newest_version = version,
            Ok(_) => {}
            Err(bad) => {
                if is_newest && header().starts_with(&bytes) {
                    // A crash while the segment was being created: no record was
                    // ever acknowledged in it.
                    rewrite_header(path)?;
                    newest_valid_bytes = HEADER_BYTES as u64;
                    continue;
                }
                return salvage_or_refuse(dir, mode, &segments[index..], bad, segment_max_bytes, records);
            }
        }
        let mut failure = None;
        for record in Reader::new(&bytes) {
            let result = record.and_then(|record| {
                apply(record.payload).map_err(|reason| BadRecord {
                    offset: record.offset,
                    reason,
                    torn: false,
                })
            });
            match result {
                Ok(()) => records += 1,
                Err(bad) => {
                    failure = Some(bad);
                    break;
                }
            }
        }
        let Some(mut bad) = failure else {
            newest_valid_bytes = bytes.len() as u64;
            continue;
        };
        if bad.torn && is_newest {
            torn_bytes = bytes.len() as u64 - bad.offset;
            tracing::warn!(
                segment = %path.display(),
                offset = bad.offset,
                bytes = torn_bytes,
                "cutting off an incomplete last write of the log (a crash interrupted it)"
            );
            truncate(path, bad.offset)?;
            newest_valid_bytes = bad.offset;
            continue;
        }
        if bad.torn {
            bad.reason = Corruption::TornMiddleSegment;
        }
        return salvage_or_refuse(dir, mode, &segments[index..], bad, segment_max_bytes, records);
    }
    // An older format's segment is left as it is (readable, and readable
    // by the build that wrote it) and the log goes on in a new one.
    let writer = if newest_version < VERSION {
        Writer::create(dir, newest_sequence + 1, segment_max_bytes)?
    } else {
        Writer::resume(dir, newest_sequence, newest_valid_bytes, segment_max_bytes)?
    };
    Ok(Recovered { writer, records, torn_bytes, salvaged_to: None })
}

/// Checks magic and version and returns the version; `Ok(Err(_))` is
/// damage that salvage may move.
fn check_header(path: &Path, bytes: &[u8]) -> Result<Result<u8, BadRecord>> {
    let damaged = Err(BadRecord { offset: 0, reason: Corruption::BadMagic, torn: false });
    if bytes.len() < HEADER_BYTES || &bytes[..MAGIC.len()] != MAGIC {
        return Ok(damaged);
    }
    let found = bytes[MAGIC.len()];
    if !(OLDEST_READABLE_VERSION..=VERSION).contains(&found) {
        return Err(Error::UnsupportedVersion { path: path.to_owned(), found, supported: VERSION });
    }
    Ok(Ok(found))
}

/// With [`RecoveryMode::Strict`], refuses to start. With
/// [`RecoveryMode::Salvage`], moves the damaged segment's bytes from the bad
/// record on, and every later segment, into `damaged/<unix time>/`, then
/// continues the log after the last good record.
///
/// Later segments go too because they may name series that were defined in
/// the damaged part; replaying them without those definitions could give
/// their points to the wrong keys.
fn salvage_or_refuse(
    dir: &Path,
    mode: RecoveryMode,
    damaged_and_later: &[(u64, PathBuf)],
    bad: BadRecord,
    segment_max_bytes: u64,
    records: u64,
) -> Result<Recovered> {
    let (sequence, path) = &damaged_and_later[0];
    if mode == RecoveryMode::Strict {
        return Err(Error::CorruptLog { path: path.clone(), offset: bad.offset, reason: bad.reason });
    }
    let stamp =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let aside = dir.join("damaged").join(stamp.to_string());
    std::fs::create_dir_all(&aside).map_err(Error::io("creating folder for damaged log", &aside))?;
    let bytes = std::fs::read(path).map_err(Error::io("reading log segment", path))?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let copy = aside.join(format!("{name}.from-byte-{}", bad.offset));
    write_durably(&copy, &bytes[bad.offset as usize..])?;
    for (_, later) in &damaged_and_later[1..] {
        let target = aside.join(later.file_name().unwrap_or_default());
        std::fs::rename(later, &target).map_err(Error::io("moving damaged log segment aside", later))?;
    }
    sync_dir(&aside)?;
    let keep = if bad.offset < HEADER_BYTES as u64 { 0 } else { bad.offset };
    truncate(path, keep)?;
    if keep == 0 {
        rewrite_header(path)?;
    }
    sync_dir(dir)?;
    tracing::warn!(
        segment = %path.display(),
        offset = bad.offset,
        reason = %bad.reason,
        moved_to = %aside.display(),
        "moved the damaged part of the log aside; points written after it are not loaded"
    );
    let valid_bytes = keep.max(HEADER_BYTES as u64);
    let writer = Writer::resume(dir, *sequence, valid_bytes, segment_max_bytes)?;
    Ok(Recovered { writer, records, torn_bytes: 0, salvaged_to: Some(aside) })
}

fn truncate(path: &Path, len: u64) -> Result<()> {
    let file = OpenOptions::new().write(true).open(path).map_err(Error::io("opening log segment", path))?;
    file.set_len(len).and_then(|()| file.sync_all()).map_err(Error::io("truncating log segment", path))
}

fn rewrite_header(path: &Path) -> Result<()> {
    truncate(path, 0)?;
    let mut file =
        OpenOptions::new().append(true).open(path).map_err(Error::io("opening log segment", path))?;
    file.write_all(&header())
        .and_then(|()| file.sync_all())
        .map_err(Error::io("writing log segment header", path))
}

fn write_durably(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut file = std::fs::File::create(path).map_err(Error::io("creating file", path))?;
    file.write_all(bytes).and_then(|()| file.sync_all()).map_err(Error::io("writing file", path))
}
