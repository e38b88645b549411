//! Rewriting a window on disk that points were put into since its files
//! were written.
//!
//! The cost follows what changed: the new points' series are merged with
//! their runs from the window's files into a small file of their own,
//! added over the window's files, which reads consult newest first. Once a
//! window has [`MAX_FILES`] files, the next change writes it whole again
//! instead, copying the other series' runs as they are (checked, not
//! decoded), so reads never look through more than that many.

use super::block::{self, BlockFile, BlockWriter, Entry, Index};
use super::manifest::{BlockRef, Window};
use super::retention::Kept;
use crate::error::{Error, Result};
use crate::rollup::{self, Rolling};
use std::collections::BTreeMap;
use std::path::Path;

/// The most files a window has: its whole file and the changes since.
pub(crate) const MAX_FILES: usize = 4;

/// A window's files, open, with their indexes, oldest first.
struct Stack {
    files: Vec<(BlockFile, Index, u64)>,
}

impl Stack {
    fn open(blocks_dir: &Path, number: i64, window: &Window) -> Result<Stack> {
        let files = window
            .files
            .iter()
            .map(|file: &BlockRef| {
                let block =
                    BlockFile::open(&block::path(blocks_dir, number, file.generation), number, file.bytes)?;
                let index = block.index()?;
                Ok((block, index, file.generation))
            })
            .collect::<Result<_>>()?;
        Ok(Stack { files })
    }

    /// The newest run of series `id`: the file it is in and where.
    fn newest(&self, id: u32) -> Option<(&BlockFile, Entry, u64)> {
        self.files
            .iter()
            .rev()
            .find_map(|(block, index, generation)| index.find(id).map(|entry| (block, entry, *generation)))
    }

    /// Every series with a run in some file, ascending.
    fn ids(&self) -> Vec<u32> {
        let mut ids: Vec<u32> =
            self.files.iter().flat_map(|(_, index, _)| index.entries().map(|entry| entry.id)).collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }
}

/// What a change to a window on disk wrote.
pub(crate) struct Rewritten {
    pub(crate) writer: BlockWriter,
    /// Whether the file replaces the window's files (else it goes over them).
    pub(crate) whole: bool,
    /// The window's points once the file is in place.
    pub(crate) points: u64,
}

/// Merges `changes` (series id → the points put into window `number` since
/// its files were written, sorted, ascending ids) into a new file for the
/// window.
///
/// # Errors
///
/// [`Error::CorruptFile`] when one of the window's files is damaged (the
/// points stay in memory and the log, for the next checkpoint to retry),
/// and I/O errors.
pub(crate) fn rewrite(
    blocks_dir: &Path,
    number: i64,
    window: &Window,
    changes: &[(u32, &[(i64, f64)])],
    rolling: &Rolling,
) -> Result<Rewritten> {
    let stack = Stack::open(blocks_dir, number, window)?;
    let whole = window.files.len() >= MAX_FILES;
    let mut writer = BlockWriter::new(rolling).compacting();
    let mut points = window.points.unwrap_or(0);
    let mut changes = changes.iter().copied().peekable();
    let ids = if whole { stack.ids() } else { Vec::new() };
    let mut unchanged = ids.into_iter().peekable();
    loop {
        let take_change = match (changes.peek(), unchanged.peek()) {
            (None, None) => break,
            (Some(&(changed, _)), Some(&next)) => changed <= next,
            (Some(_), None) => true,
            (None, Some(_)) => false,
        };
        if take_change {
            let Some((id, new_points)) = changes.next() else { break };
            if unchanged.peek() == Some(&id) {
                unchanged.next();
            }
            let mut merged = BTreeMap::new();
            if let Some((block, entry, generation)) = stack.newest(id) {
                let corrupt = |reason| Error::CorruptFile {
                    path: block::path(blocks_dir, number, generation),
                    offset: 0,
                    reason,
                };
                block::run_points(&block.run(entry)?, i64::MIN, |t, v| {
                    merged.insert(t, v);
                })
                .map_err(corrupt)?;
                points -= u64::from(entry.points).min(points);
            }
            merged.extend(new_points.iter().copied());
            points += merged.len() as u64;
            writer.add_points(id, &merged.into_iter().collect::<Vec<_>>());
        } else if let Some((block, entry, _)) = unchanged.next().and_then(|id| stack.newest(id)) {
            writer.add_run(entry.id, &block.run(entry)?, block.rollups(entry)?.as_deref(), entry.points);
        }
    }
    Ok(Rewritten { writer, whole, points })
}

/// The file of window `number` once retention has taken what `kept` says
/// each series no longer keeps: a series that keeps its points is copied
/// as it is; one that does not keeps the rollups and archives left to it,
/// with an empty run; series left with nothing are left out. While a
/// file still holds a series' points, its rollups and archives are made
/// from them (the finer levels were not written beside them); after, the
/// kept levels are copied.
///
/// # Errors
///
/// As [`rewrite`].
pub(crate) fn expire(
    blocks_dir: &Path,
    number: i64,
    window: &Window,
    rolling: &Rolling,
    kept: &dyn Fn(u32) -> Kept,
) -> Result<BlockWriter> {
    let stack = Stack::open(blocks_dir, number, window)?;
    let mut writer = BlockWriter::new(&Rolling::default());
    let mut points = Vec::new();
    for id in stack.ids() {
        let Some((block, entry, generation)) = stack.newest(id) else { continue };
        let corrupt = |reason| Error::CorruptFile {
            path: block::path(blocks_dir, number, generation),
            offset: 0,
            reason,
        };
        let kept = kept(id);
        if kept.points {
            writer.add_run(id, &block.run(entry)?, block.rollups(entry)?.as_deref(), entry.points);
            continue;
        }
        let levels = if entry.points > 0 {
            points.clear();
            block::run_points(&block.run(entry)?, i64::MIN, |t, v| points.push((t, v))).map_err(corrupt)?;
            rolling.encode(id, 0, &points)
        } else {
            block.rollups(entry)?.as_deref().unwrap_or_default().to_vec()
        };
        let left = rollup::retain_levels(&levels, |kind, step| kept.keeps(kind, step, &rolling.steps))
            .map_err(corrupt)?;
        if !left.is_empty() {
            writer.add_run(id, &[], Some(&left), 0);
        }
    }
    Ok(writer)
}
