//! Checkpoints: the sealed state of the store written to immutable block
//! files, so that the log they cover can be deleted and a restart loads
//! compressed chunks instead of replaying every put.
//!
//! A checkpoint happens in three phases:
//!
//! 1. Under the store's lock (briefly): start a new log segment and note
//!    the registry and the windows written since the last checkpoint;
//!    everything after this instant is in the new log segment. Then, a batch
//!    of series per hold of the lock: apply retention, fold out-of-order
//!    points, and copy their parts in those windows into the [`Snapshot`].
//! 2. Without the lock: write one block file per changed window, then a
//!    [`Manifest`] naming every window's file, the
//!    registry and the first log segment to replay. Each file is written to
//!    a temporary name, synced, renamed, and the folder synced.
//! 3. Delete what the new manifest made garbage, keeping the manifest
//!    before it as a fallback with the block files it names and the log
//!    after it: older log segments, older manifests, block files neither
//!    names.
//!
//! A crash at any point leaves either the old manifest with the old files
//! and the whole log, or the new manifest with its files and the log after
//! the old one; opening deletes only what one of this store's checkpoints
//! wrote and a later one superseded (see `load` for what opening does
//! with a manifest that is missing or damaged).

pub(crate) mod block;
pub(crate) mod keys;
pub(crate) mod load;
pub(crate) mod manifest;
mod retention;
mod stack;

use crate::error::{Corruption, Error, Result};
use crate::failpoint;
use crate::registry::KeyList;
use crate::rollup::Rolling;
use crate::series::Part;
use crate::wal::{self, sync_dir};
use block::BlockWriter;
use manifest::{BlockRef, Manifest, ManifestKeys, Window};
use std::collections::BTreeMap;
use std::ops::RangeInclusive;
use std::path::Path;

/// The folder of block files inside the data folder.
pub(crate) const BLOCKS_DIR: &str = "blocks";

/// What phase 1 took from the store.
#[derive(Debug, Default)]
pub(crate) struct Snapshot {
    /// The first log segment after the snapshot.
    pub(crate) wal_start: u64,
    pub(crate) newest_ts: Option<i64>,
    /// The series registered when the snapshot began.
    pub(crate) key_count: usize,
    /// Their keys that the manifest in force does not name yet, for the key
    /// list.
    pub(crate) new_keys: KeyList,
    /// For each tier (the raw points, then each rollup step, finest first;
    /// with storage schemas, each age at which some series loses
    /// something, youngest first): windows before this one have passed it
    /// (see `retention`). The windows before the last tier's go whole.
    pub(crate) tiers_from: Vec<Option<i64>>,
    /// Whether each series keeps what its storage schema's layout says,
    /// rather than the tiers alike.
    pub(crate) per_layout: bool,
    /// Windows before this one are on disk: their parts are the points put
    /// since their files were written.
    pub(crate) resident_from: i64,
    /// Windows before this one leave memory once the checkpoint is written:
    /// their chunks are kept as copied from the snapshot's beginning on.
    pub(crate) evict_before: i64,
    /// The changed windows, each with every series' parts in it.
    pub(crate) windows: BTreeMap<i64, Vec<(u32, Part)>>,
}

/// What monitoring reports about checkpoints. Kept apart from the manifest,
/// whose lock a running checkpoint holds for its whole length.
#[derive(Debug, Default, Clone)]
pub(crate) struct History {
    /// Checkpoints completed since the store was opened.
    pub(crate) completed: u64,
    /// The last one completed, if any.
    pub(crate) last: Option<crate::CheckpointStats>,
}

/// Reads a whole block or manifest file and checks its magic bytes and
/// format version (one of `versions`); the version is the byte after the
/// magic.
///
/// # Errors
///
/// [`Error::CorruptFile`] for a wrong magic, [`Error::UnsupportedVersion`],
/// and I/O errors.
pub(crate) fn read_file(path: &Path, magic: &[u8; 7], versions: RangeInclusive<u8>) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path).map_err(Error::io("reading checkpoint file", path))?;
    if bytes.len() < magic.len() + 1 || &bytes[..magic.len()] != magic {
        return Err(Error::CorruptFile { path: path.to_owned(), offset: 0, reason: Corruption::BadMagic });
    }
    if !versions.contains(&bytes[magic.len()]) {
        return Err(Error::UnsupportedVersion {
            path: path.to_owned(),
            found: bytes[magic.len()],
            supported: *versions.end(),
        });
    }
    Ok(bytes)
}

/// Phase 2: writes the block files (each series' runs rolled up as
/// `rolling` says) and the manifest; returns the new manifest and the bytes
/// written.
pub(crate) fn write(
    dir: &Path,
    current: &Manifest,
    snapshot: &Snapshot,
    rolling: &Rolling,
) -> Result<(Manifest, u64)> {
    let generation = current.generation + 1;
    let blocks_dir = dir.join(BLOCKS_DIR);
    let mut windows = current.windows.clone();
    if let Some(forget_from) = snapshot.whole_windows_from() {
        windows.retain(|&window, _| window >= forget_from);
    }
    let mut bytes_written = 0;
    for (&window, parts) in &snapshot.windows {
        failpoint::hit("checkpoint-before-block");
        let on_disk = window < snapshot.resident_from;
        if parts.is_empty() {
            // A window in memory that retention emptied goes; a window on
            // disk whose new points were all copied by an earlier
            // checkpoint keeps its file.
            if !on_disk {
                windows.remove(&window);
            }
            continue;
        }
        let path = block::path(&blocks_dir, window, generation);
        match windows.get(&window).filter(|_| on_disk) {
            Some(files) => {
                // Points put into a window after retention took their
                // series' raw points (retention lengthened since) go, as
                // older ones do.
                let changes: Vec<(u32, &[(i64, f64)])> = parts
                    .iter()
                    .filter_map(|(id, part)| match part {
                        Part::Points(points) => Some((*id, points.as_slice())),
                        Part::Chunk(_) | Part::Head(_) => None,
                    })
                    .filter(|&(id, _)| files.expired == 0 || snapshot.kept(window, id, rolling).points)
                    .collect();
                if changes.is_empty() {
                    continue;
                }
                let files_expired = files.expired;
                let rewritten = stack::rewrite(&blocks_dir, window, files, &changes, rolling)?;
                let written = rewritten.writer.write(&path)?;
                bytes_written += written.bytes;
                // A file over the others adds its series; one that
                // replaces them holds every one.
                let ids = match (rewritten.whole, files.ids) {
                    (true, _) => written.ids,
                    (false, Some((first, last))) => written
                        .ids
                        .map(|(new_first, new_last)| (first.min(new_first), last.max(new_last)))
                        .or(Some((first, last))),
                    (false, None) => None,
                };
                let file = BlockRef { generation, bytes: Some(written.bytes) };
                let mut files = if rewritten.whole { Vec::new() } else { files.files.clone() };
                files.push(file);
                let points = Some(rewritten.points);
                windows.insert(window, Window { files, points, expired: files_expired, ids, rolled: true });
            }
            None => {
                // Rolled up only as it leaves memory: until then reads roll
                // it up from memory, and each checkpoint rewrites it.
                let rolled = window < snapshot.evict_before;
                let writer = match rolled {
                    true => whole(BlockWriter::new(rolling).compacting(), parts),
                    false => whole(BlockWriter::new(&Rolling::default()), parts),
                };
                let written = writer.write(&path)?;
                bytes_written += written.bytes;
                let nothing_to_roll = rolling.steps.is_empty() && rolling.archives.stores_none();
                windows.insert(window, Window::whole(generation, &written, rolled || nothing_to_roll));
            }
        }
    }
    bytes_written += expire(&blocks_dir, &mut windows, snapshot, rolling, generation)?;
    sync_dir(&blocks_dir)?;
    failpoint::hit("checkpoint-after-blocks");
    let known_bytes = current.keys.list_bytes();
    let bytes = match known_bytes {
        Some(bytes) if snapshot.new_keys.len() == 0 => bytes,
        _ => {
            let bytes = keys::append(dir, known_bytes, snapshot.new_keys.iter())?;
            bytes_written += bytes - known_bytes.unwrap_or(0);
            // The key list may be new: its name must be on disk before a
            // manifest names it.
            sync_dir(dir)?;
            bytes
        }
    };
    let keys = ManifestKeys::File { count: snapshot.key_count as u64, bytes };
    failpoint::hit("checkpoint-after-keys");
    let manifest =
        Manifest { generation, wal_start: snapshot.wal_start, newest_ts: snapshot.newest_ts, keys, windows };
    let encoded_manifest = manifest.encode();
    block::write_atomically(&manifest::path(dir, generation), &encoded_manifest)?;
    sync_dir(dir)?;
    failpoint::hit("checkpoint-after-manifest");
    Ok((manifest, bytes_written + encoded_manifest.len() as u64))
}

/// Rewrites the windows on disk that have passed more tiers of retention
/// than their files show, keeping what each series still keeps; returns
/// the bytes written.
fn expire(
    blocks_dir: &Path,
    windows: &mut BTreeMap<i64, Window>,
    snapshot: &Snapshot,
    rolling: &Rolling,
    generation: u64,
) -> Result<u64> {
    let mut bytes_written = 0;
    for (&number, window) in windows.range_mut(..snapshot.resident_from) {
        let expired = snapshot.tiers_passed(number);
        if expired <= window.expired {
            continue;
        }
        let writer =
            stack::expire(blocks_dir, number, window, rolling, &|id| snapshot.kept(number, id, rolling))?;
        let written = writer.write(&block::path(blocks_dir, number, generation))?;
        bytes_written += written.bytes;
        *window = Window { expired, ..Window::whole(generation, &written, true) };
    }
    Ok(bytes_written)
}

/// A window's file from memory, every series' parts added to `writer`.
fn whole(mut writer: BlockWriter, parts: &[(u32, Part)]) -> BlockWriter {
    let mut encoded = Vec::new();
    for (id, part) in parts {
        match part {
            Part::Chunk(bytes) => writer.add(*id, bytes),
            Part::Head(head) => {
                encoded.clear();
                head.seal(&mut encoded);
                writer.add(*id, &encoded);
            }
            Part::Points(points) => writer.add_points(*id, points),
        }
    }
    writer
}

/// Phase 3, and the tidy-up on open: deletes log segments before the
/// `previous` manifest's start (it is kept as the fallback), then manifests
/// older than it, block files neither names, and temporary files of
/// interrupted writes. Failures are logged; garbage left behind is retried
/// next time.
pub(crate) fn remove_garbage(dir: &Path, manifest: &Manifest, previous: Option<&Manifest>) {
    remove_covered_log(dir, previous.unwrap_or(manifest));
    remove_obsolete_files(dir, manifest, previous);
}

/// Deletes the log segments `oldest_kept` covers: the manifest that is
/// kept as the fallback.
pub(crate) fn remove_covered_log(dir: &Path, oldest_kept: &Manifest) {
    if let Err(error) = remove_log_before(&dir.join("wal"), oldest_kept.wal_start) {
        tracing::warn!(%error, "could not delete covered log segments");
    }
}

/// Deletes what `manifest` and the `previous` one it keeps as a fallback
/// have made obsolete: older manifests, block files neither names (older
/// generations the checkpoints replaced, and newer ones an interrupted
/// checkpoint wrote), and temporary files.
pub(crate) fn remove_obsolete_files(dir: &Path, manifest: &Manifest, previous: Option<&Manifest>) {
    let oldest_kept = previous.map_or(manifest.generation, |previous| previous.generation);
    let named = |window: &i64, generation: &u64| names(manifest, previous, *window, *generation);
    let mut garbage = Vec::new();
    match manifest::list(dir) {
        Ok(manifests) => {
            garbage.extend(manifests.into_iter().filter(|(g, _)| *g < oldest_kept).map(|(_, p)| p));
        }
        Err(error) => tracing::warn!(%error, "could not list checkpoint manifests"),
    }
    let blocks_dir = dir.join(BLOCKS_DIR);
    match block::list(&blocks_dir) {
        Ok(blocks) => garbage.extend(
            blocks
                .into_iter()
                .filter(|((window, generation), _)| !named(window, generation))
                .map(|(_, path)| path),
        ),
        Err(error) => tracing::warn!(%error, "could not list block files"),
    }
    for folder in [dir, blocks_dir.as_path()] {
        if let Ok(temporary) = wal::list_files(folder, |name| name.ends_with(".tmp").then_some(())) {
            garbage.extend(temporary.into_iter().map(|(_, path)| path));
        }
    }
    for path in garbage {
        if let Err(error) = std::fs::remove_file(&path) {
            tracing::warn!(%error, path = %path.display(), "could not delete an obsolete file");
        }
    }
}

/// Whether `manifest` or the `previous` one names the file of `window`
/// written by `generation`.
pub(crate) fn names(manifest: &Manifest, previous: Option<&Manifest>, window: i64, generation: u64) -> bool {
    let named_by = |m: &Manifest| m.windows.get(&window).is_some_and(|files| files.has_file_of(generation));
    named_by(manifest) || previous.is_some_and(named_by)
}

fn remove_log_before(wal_dir: &Path, wal_start: u64) -> Result<()> {
    let mut removed = false;
    for (sequence, path) in wal::list_segments(wal_dir)? {
        if sequence < wal_start {
            std::fs::remove_file(&path).map_err(Error::io("deleting a covered log segment", &path))?;
            removed = true;
        }
    }
    if removed {
        sync_dir(wal_dir)?;
    }
    Ok(())
}
