//! The write-ahead log: every acknowledged write is here before it is
//! anywhere else.
//!
//! The log is a folder of numbered segment files (`00000000000000000001.wal`,
//! …). Only the newest is appended to; when it passes the segment size it is
//! synced and a new one starts. The split follows fjall's journal:
//! `record` is the format, `writer` appends and syncs, `reader` walks
//! the records of a segment, `recovery` replays the folder on open.

pub(crate) mod mark;
pub(crate) mod reader;
pub(crate) mod record;
pub(crate) mod recovery;
pub(crate) mod writer;

use crate::error::{Error, Result};
use std::fs::File;
use std::path::{Path, PathBuf};

/// A segment closes once it is this large; the next record starts a new one.
pub const DEFAULT_SEGMENT_MAX_BYTES: u64 = 64 * 1024 * 1024;

const SEGMENT_SUFFIX: &str = ".wal";

/// The file name of segment number `sequence`.
pub(crate) fn segment_path(dir: &Path, sequence: u64) -> PathBuf {
    dir.join(format!("{sequence:020}{SEGMENT_SUFFIX}"))
}

/// The segments in `dir`, oldest first, with their sequence numbers.
/// Files that are not segments are left alone.
pub(crate) fn list_segments(dir: &Path) -> Result<Vec<(u64, PathBuf)>> {
    list_files(dir, |name| name.strip_suffix(SEGMENT_SUFFIX)?.parse().ok())
}

/// The files in `dir` whose names `parse` recognises, with what it made of
/// them, sorted by that. The log, manifests and block files all find their
/// files this way.
pub(crate) fn list_files<T: Ord>(dir: &Path, parse: impl Fn(&str) -> Option<T>) -> Result<Vec<(T, PathBuf)>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(Error::io("listing folder", dir))? {
        let entry = entry.map_err(Error::io("listing folder", dir))?;
        if let Some(parsed) = entry.file_name().to_str().and_then(&parse) {
            found.push((parsed, entry.path()));
        }
    }
    found.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    Ok(found)
}

/// Makes a folder's entries (new, renamed or removed files) durable: without
/// this a crash can forget that a synced file exists at all.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(Error::io("syncing folder", dir))
}
