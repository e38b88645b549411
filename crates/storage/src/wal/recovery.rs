//! Replaying the log on open: everything acknowledged comes back, a torn
//! last write is cut off, and any other damage stops the store from starting
//! unless the operator asks to move it aside. A torn write is only believed
//! where it could have happened: at the end of the newest segment, with no
//! valid record after it, past the position the log was last known synced.

use super::mark::SyncedMark;
use super::reader::{BadRecord, Reader};
use super::record::{header, HEADER_BYTES, MAGIC, OLDEST_READABLE_VERSION, VERSION};
use super::writer::Writer;
use super::{list_segments, segment_path, sync_dir};
use crate::damaged::Aside;
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
}

/// Where recovery is told to look, and what it may do.
#[derive(Debug)]
pub(crate) struct Plan<'a> {
    /// The log folder.
    pub(crate) dir: &'a Path,
    pub(crate) mode: RecoveryMode,
    pub(crate) segment_max_bytes: u64,
    /// The first segment to replay: the checkpoint covers those before.
    pub(crate) first_sequence: u64,
    /// How far each segment was known to be on disk, if the store kept a
    /// mark: a log that ends before it was damaged, not torn by a crash.
    pub(crate) mark: Option<&'a SyncedMark>,
}

/// Replays every segment from the plan's first on, oldest first, handing
/// each valid record's payload to `apply`.
///
/// `apply` must either apply a whole payload or nothing of it, and returns
/// the corruption it found in an entry otherwise.
///
/// # Errors
///
/// [`Error::CorruptLog`] for damage that is not a torn last write (unless
/// the mode is [`RecoveryMode::Salvage`], which moves it into `aside`): a
/// bad record with valid ones after it, a segment missing from the
/// sequence, or a segment shorter than the mark says was synced;
/// [`Error::UnsupportedVersion`], and I/O errors.
pub(crate) fn recover(
    plan: &Plan<'_>,
    aside: &mut Aside,
    mut apply: impl FnMut(&[u8]) -> Result<(), Corruption>,
) -> Result<Recovered> {
    let dir = plan.dir;
    let mut segments = list_segments(dir)?;
    // Segments a checkpoint covers are kept for falling back to the
    // checkpoint before it; they are not replayed.
    segments.retain(|(sequence, _)| *sequence >= plan.first_sequence);
    let synced = |sequence: u64| plan.mark.and_then(|mark| mark.segments.get(&sequence).copied());
    let mut expected = plan.first_sequence.max(1);
    let (mut records, mut torn_bytes) = (0, 0);
    // Where appending resumes in the newest segment.
    let mut newest_valid_bytes = HEADER_BYTES as u64;
    let mut newest_version = VERSION;
    for (index, (sequence, path)) in segments.iter().enumerate() {
        if *sequence != expected {
            let missing = BadRecord {
                offset: 0,
                reason: Corruption::MissingSegment { sequence: expected },
                torn: false,
            };
            return salvage_or_refuse(plan, aside, &segments[index..], Some(expected), missing, records);
        }
        expected += 1;
        let is_newest = index + 1 == segments.len();
        let bytes = std::fs::read(path).map_err(Error::io("reading log segment", path))?;
        match check_header(path, &bytes)? {
            Ok(version) if is_newest => newest_version = version,
            Ok(_) => {}
            Err(bad) => {
                if is_newest
                    && header().starts_with(&bytes)
                    && synced(*sequence).is_none_or(|s| s <= bytes.len() as u64)
                {
                    // A crash while the segment was being created: no record was
                    // ever acknowledged in it.
                    rewrite_header(path)?;
                    newest_valid_bytes = HEADER_BYTES as u64;
                    continue;
                }
                return salvage_or_refuse(plan, aside, &segments[index..], None, bad, records);
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
        if let Some(bad) = failure.as_mut().filter(|bad| bad.torn && !is_newest) {
            // Older segments were synced whole before the next one began.
            bad.reason = Corruption::TornMiddleSegment;
            bad.torn = false;
        }
        // The log must reach at least as far as it was synced: a write
        // torn before that point was not torn by a crash.
        let valid_end = failure.as_ref().map_or(bytes.len() as u64, |bad| bad.offset);
        if let Some(synced) = synced(*sequence).filter(|&synced| synced > valid_end) {
            let reason = Corruption::EndsBeforeSynced { synced };
            let bad = match failure {
                Some(bad) if !bad.torn => bad,
                _ => BadRecord { offset: valid_end, reason, torn: false },
            };
            return salvage_or_refuse(plan, aside, &segments[index..], None, bad, records);
        }
        let Some(bad) = failure else {
            newest_valid_bytes = bytes.len() as u64;
            continue;
        };
        if bad.torn {
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
        return salvage_or_refuse(plan, aside, &segments[index..], None, bad, records);
    }
    // Segments the mark knows of past the newest one here were deleted.
    if let Some(mark) = plan.mark {
        if mark.segments.range(expected..).next().is_some() {
            let bad = BadRecord {
                offset: 0,
                reason: Corruption::MissingSegment { sequence: expected },
                torn: false,
            };
            return salvage_or_refuse(plan, aside, &[], Some(expected), bad, records);
        }
    }
    let Some(&(newest_sequence, _)) = segments.last() else {
        let writer = Writer::create(dir, expected, plan.segment_max_bytes)?;
        return Ok(Recovered { writer, records, torn_bytes });
    };
    // An older format's segment is left as it is (readable, and readable
    // by the build that wrote it) and the log goes on in a new one.
    let writer = if newest_version < VERSION {
        Writer::create(dir, newest_sequence + 1, plan.segment_max_bytes)?
    } else {
        Writer::resume(dir, newest_sequence, newest_valid_bytes, plan.segment_max_bytes)?
    };
    Ok(Recovered { writer, records, torn_bytes })
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
/// record on, and every later segment, into `aside`, then continues the log
/// after the last good record. When a segment is `missing`, every segment
/// from the damage on moves aside whole and the log continues in a new
/// segment of the missing number.
///
/// Later segments go too because they may name series that were defined in
/// the damaged part; replaying them without those definitions could give
/// their points to the wrong keys.
fn salvage_or_refuse(
    plan: &Plan<'_>,
    aside: &mut Aside,
    damaged_and_later: &[(u64, PathBuf)],
    missing: Option<u64>,
    bad: BadRecord,
    records: u64,
) -> Result<Recovered> {
    let dir = plan.dir;
    let path = match (missing, damaged_and_later.first()) {
        (Some(sequence), _) => segment_path(dir, sequence),
        (None, Some((_, path))) => path.clone(),
        (None, None) => {
            return Err(Error::CorruptLog { path: dir.to_owned(), offset: bad.offset, reason: bad.reason })
        }
    };
    if plan.mode == RecoveryMode::Strict {
        return Err(Error::CorruptLog { path, offset: bad.offset, reason: bad.reason });
    }
    let whole_files = match missing {
        Some(_) => damaged_and_later,
        None => damaged_and_later.get(1..).unwrap_or_default(),
    };
    for (_, later) in whole_files {
        aside.move_file(
            later,
            "a log segment after damage (it may name series defined in the damaged part)",
        )?;
    }
    let writer = match missing {
        Some(sequence) => Writer::create(dir, sequence, plan.segment_max_bytes)?,
        None => {
            let bytes = std::fs::read(&path).map_err(Error::io("reading log segment", &path))?;
            let copy = aside.copy_tail(&path, &bytes, bad.offset)?;
            let keep = if bad.offset < HEADER_BYTES as u64 { 0 } else { bad.offset };
            truncate(&path, keep)?;
            if keep == 0 {
                rewrite_header(&path)?;
            }
            tracing::warn!(segment = %path.display(), moved_to = %copy.display(), "moved the damaged tail of a log segment aside");
            let sequence = damaged_and_later.first().map_or(1, |(sequence, _)| *sequence);
            Writer::resume(dir, sequence, keep.max(HEADER_BYTES as u64), plan.segment_max_bytes)?
        }
    };
    sync_dir(dir)?;
    tracing::warn!(
        segment = %path.display(),
        offset = bad.offset,
        reason = %bad.reason,
        records_kept = records,
        "salvaged the log: points written after the damage are not loaded (they are kept aside)"
    );
    Ok(Recovered { writer, records, torn_bytes: 0 })
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
