//! Opening the checkpoint: choosing the manifest, loading the block files
//! it names, and what to do when either is missing or damaged.
//!
//! The data folder's contract: open with every point it held, or refuse
//! naming the file, the offset and what is wrong. Under
//! [`RecoveryMode::Salvage`] the damage is moved aside instead (see
//! [`Aside`]) and the store opens with everything else: from the manifest
//! before a damaged one when that one, its block files and the log after
//! it are intact (nothing is then lost), else without the damaged windows,
//! each named in the log.

use super::keys;
use super::manifest::{self, Manifest, ManifestKeys};
use super::{block, BLOCKS_DIR};
use crate::damaged::Aside;
use crate::disk::RESIDENT_WINDOWS;
use crate::error::{Corruption, Error, Result};
use crate::registry::KeyList;
use crate::series::{window_of, Series, WINDOW_SECONDS};
use crate::wal::{list_segments, sync_dir};
use crate::RecoveryMode;
use std::path::{Path, PathBuf};

/// The checkpoint a store opens from.
#[derive(Debug)]
pub(crate) struct Loaded {
    /// The manifest in force.
    pub(crate) manifest: Manifest,
    /// The one before it, kept (with its files and log) as a fallback.
    pub(crate) previous: Option<Manifest>,
    /// Every key the manifest names, in id order.
    pub(crate) keys: KeyList,
    /// Every series the manifest names, with its chunks from the blocks of
    /// the windows held in memory.
    pub(crate) series: Vec<Series>,
    /// The first window held in memory; earlier ones are read from disk.
    pub(crate) resident_from: i64,
    /// The points in the block files, those read or not.
    pub(crate) points: u64,
}

/// The first window a store opening from `manifest` holds in memory: the
/// newest [`RESIDENT_WINDOWS`]; all of them when the manifest names block
/// files of the first format, which have no index to read from.
pub(crate) fn resident_from(manifest: &Manifest, opening: Opening) -> i64 {
    match manifest.newest_ts {
        Some(newest) if opening.history_on_disk && !manifest.names_legacy_blocks() => {
            window_of(newest) - (RESIDENT_WINDOWS - 1)
        }
        _ => i64::MIN,
    }
}

/// How a store opens its checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Opening {
    pub(crate) mode: RecoveryMode,
    /// [`Options::history_on_disk`](crate::Options::history_on_disk).
    pub(crate) history_on_disk: bool,
}

/// Reads the newest usable manifest in `dir` and its block files.
///
/// # Errors
///
/// Under [`RecoveryMode::Strict`]: [`Error::MissingManifest`] when block
/// files or covered log segments exist without a manifest,
/// [`Error::CorruptFile`] for a damaged manifest or block file (or one of
/// the wrong length), [`Error::UnsupportedVersion`], and I/O errors (a
/// block file that is missing among them). Under salvage, only I/O errors
/// of moving files aside.
pub(crate) fn load(dir: &Path, opening: Opening, aside: &mut Aside) -> Result<Loaded> {
    let mode = opening.mode;
    let mut manifests = manifest::list(dir)?;
    while let Some((generation, path)) = manifests.pop() {
        // A manifest whose keys cannot be read is as damaged as one that
        // cannot be read itself.
        let attempt = Manifest::read(&path).and_then(|manifest| {
            let keys = manifest.keys.load(dir)?;
            let (series, damaged) = load_blocks(dir, &manifest, opening);
            Ok((manifest, keys, series, damaged))
        });
        let failure = match attempt {
            Ok((manifest, keys, series, damaged)) if damaged.is_empty() => {
                let previous = manifests.last().and_then(|(_, path)| Manifest::read(path).ok());
                return Ok(Loaded::new(manifest, previous, keys, series, opening));
            }
            Ok((manifest, keys, _, damaged)) => Damage::Blocks(manifest, keys, damaged),
            Err(error) => Damage::Manifest(error),
        };
        if mode == RecoveryMode::Strict {
            return Err(failure.into_error());
        }
        // Salvage: the manifest before this one, if it is whole and the log
        // after it is all there, loses nothing.
        if let Some(fallback) = whole_fallback(dir, &manifests, opening)? {
            tracing::warn!(
                damaged = %path.display(),
                fallback = fallback.manifest.generation,
                "falling back to the checkpoint before a damaged one; the log after it replays every point"
            );
            set_aside_generation(dir, generation, &path, aside)?;
            return Ok(fallback);
        }
        match failure {
            Damage::Blocks(manifest, keys, damaged) => {
                return drop_windows(dir, (manifest, keys), &path, damaged, aside, opening)
            }
            Damage::Manifest(_) => set_aside_generation(dir, generation, &path, aside)?,
        }
    }
    let orphans = orphans(dir)?;
    if orphans.is_empty() {
        return Ok(Loaded::new(Manifest::default(), None, KeyList::default(), Vec::new(), opening));
    }
    if mode == RecoveryMode::Strict {
        let found = orphans.iter().map(|(what, _)| what.as_str()).collect::<Vec<_>>().join(" and ");
        return Err(Error::MissingManifest { dir: dir.to_owned(), found });
    }
    // Without a manifest the keys are unknown: the blocks cannot be read
    // and the log cannot be replayed (its series ids were defined in the
    // segments the checkpoint covered). Everything goes aside.
    for (_, files) in orphans {
        for file in files {
            aside.move_file(&file, "no checkpoint manifest names its series")?;
        }
    }
    tracing::error!(
        "no checkpoint manifest: every block file and log segment was moved aside; starting empty"
    );
    Ok(Loaded::new(Manifest::default(), None, KeyList::default(), Vec::new(), opening))
}

/// What is wrong with a manifest's checkpoint.
enum Damage {
    /// The manifest itself cannot be read.
    Manifest(Error),
    /// It and its keys read, but some of its block files do not: window →
    /// the error.
    Blocks(Manifest, KeyList, Vec<(i64, Error)>),
}

impl Damage {
    fn into_error(self) -> Error {
        match self {
            Damage::Manifest(error) => error,
            Damage::Blocks(_, _, mut damaged) => damaged.swap_remove(0).1,
        }
    }
}

impl Loaded {
    fn new(
        manifest: Manifest,
        previous: Option<Manifest>,
        keys: KeyList,
        series: Vec<Series>,
        opening: Opening,
    ) -> Loaded {
        let resident_from = resident_from(&manifest, opening);
        let on_disk: u64 =
            manifest.windows.range(..resident_from).filter_map(|(_, window)| window.points).sum();
        let points = on_disk + series.iter().map(Series::sealed_len).sum::<u64>();
        Loaded { manifest, previous, keys, series, resident_from, points }
    }
}

/// Loads the blocks of `manifest`'s windows held in memory into one series
/// per key, and checks the files of the others: their length and header,
/// or under salvage every byte (the damage must be found now to be set
/// aside). The windows whose files could not be read, with why, come back
/// beside the series (which are then incomplete).
fn load_blocks(dir: &Path, manifest: &Manifest, opening: Opening) -> (Vec<Series>, Vec<(i64, Error)>) {
    let resident_from = resident_from(manifest, opening);
    let mut series = vec![Series::default(); manifest.keys.count() as usize];
    let mut damaged = Vec::new();
    for (&number, window) in &manifest.windows {
        let keep = number >= resident_from;
        // A series' run in a later file replaces its runs in earlier ones:
        // read the newest first, and take each series from one file.
        let mut loaded: Vec<(u32, Box<[u8]>)> = Vec::new();
        let mut taken = std::collections::HashSet::new();
        let mut checked = Ok(());
        for file in window.files.iter().rev() {
            let path = block::path(&dir.join(BLOCKS_DIR), number, file.generation);
            let mut in_file = std::collections::HashSet::new();
            let read = if keep || opening.mode == RecoveryMode::Salvage {
                block::read_all(&path, number, file.bytes, |id, chunk| {
                    if id as usize >= series.len() {
                        return Err(Corruption::UnknownSeries { id: id.into() });
                    }
                    if keep && !taken.contains(&id) {
                        in_file.insert(id);
                        loaded.push((id, Box::<[u8]>::from(chunk)));
                    }
                    Ok(())
                })
                .map(drop)
            } else {
                block::BlockFile::open(&path, number, file.bytes).map(drop)
            };
            taken.extend(in_file);
            if let Err(error) = read {
                checked = Err(error);
                break;
            }
        }
        // A window's chunks count only if all its files read; they go to
        // their series oldest window first, and within one series' run
        // (one file) in time order.
        match checked {
            Ok(()) => {
                loaded.sort_by_key(|(id, _)| *id);
                loaded.into_iter().for_each(|(id, chunk)| series[id as usize].load_chunk(chunk));
            }
            Err(error) => damaged.push((number, error)),
        }
    }
    (series, damaged)
}

/// The newest of the older `manifests` with every block file whole and
/// the log segment its replay starts at present, loaded.
fn whole_fallback(dir: &Path, manifests: &[(u64, PathBuf)], opening: Opening) -> Result<Option<Loaded>> {
    let Some((_, path)) = manifests.last() else {
        return Ok(None);
    };
    let Ok(manifest) = Manifest::read(path) else {
        return Ok(None);
    };
    let Ok(keys) = manifest.keys.load(dir) else {
        return Ok(None);
    };
    let segments = list_segments(&dir.join("wal"))?;
    if !segments.iter().any(|(sequence, _)| *sequence == manifest.wal_start.max(1)) {
        return Ok(None);
    }
    // The fallback is only taken under salvage: every byte is checked.
    let (series, damaged) = load_blocks(dir, &manifest, opening);
    if !damaged.is_empty() {
        return Ok(None);
    }
    let previous = manifests.len().checked_sub(2).and_then(|at| Manifest::read(&manifests[at].1).ok());
    Ok(Some(Loaded::new(manifest, previous, keys, series, opening)))
}

/// Moves aside the manifest of `generation` and the block files only it
/// wrote.
fn set_aside_generation(dir: &Path, generation: u64, manifest_path: &Path, aside: &mut Aside) -> Result<()> {
    aside.move_file(manifest_path, "a damaged checkpoint manifest, or one naming damaged block files")?;
    for ((_, written_by), path) in block::list(&dir.join(BLOCKS_DIR))? {
        if written_by == generation {
            aside.move_file(&path, "a block file of a checkpoint that was set aside")?;
        }
    }
    Ok(())
}

/// Salvage without a fallback: the checkpoint without its damaged
/// windows, recorded in a new manifest so that the next open agrees; the
/// damaged one, which names the files set aside, goes aside too.
fn drop_windows(
    dir: &Path,
    (mut manifest, keys): (Manifest, KeyList),
    manifest_path: &Path,
    damaged: Vec<(i64, Error)>,
    aside: &mut Aside,
    opening: Opening,
) -> Result<Loaded> {
    let blocks_dir = dir.join(BLOCKS_DIR);
    for (window, error) in &damaged {
        // The window's files only make sense together: all go aside.
        for file in manifest.windows.remove(window).map(|files| files.files).unwrap_or_default() {
            let path = block::path(&blocks_dir, *window, file.generation);
            if path.exists() {
                aside.move_file(&path, "a block file of a damaged window")?;
            }
        }
        let from = window.saturating_mul(WINDOW_SECONDS);
        let until = from.saturating_add(WINDOW_SECONDS);
        tracing::error!(
            window,
            from,
            until,
            %error,
            "dropped a damaged window: the points checkpointed between these times are not loaded"
        );
    }
    manifest.generation += 1;
    if let ManifestKeys::Inline(inline) = &manifest.keys {
        // Manifests of this version keep their keys in the key list.
        let bytes = keys::append(dir, None, inline.iter())?;
        manifest.keys = ManifestKeys::File { count: inline.len() as u64, bytes };
    }
    block::write_atomically(&manifest::path(dir, manifest.generation), &manifest.encode())?;
    sync_dir(dir)?;
    aside.move_file(
        manifest_path,
        "a checkpoint manifest naming damaged block files (replaced without them)",
    )?;
    let (series, _) = load_blocks(dir, &manifest, opening);
    Ok(Loaded::new(manifest, None, keys, series, opening))
}

/// Files that only a manifest could explain: block files, and log
/// segments after the first (a checkpoint deleted the ones before).
fn orphans(dir: &Path) -> Result<Vec<(String, Vec<PathBuf>)>> {
    let mut found = Vec::new();
    let segments = list_segments(&dir.join("wal"))?;
    // With the log whole from its first segment, block files and key lists
    // are what a first checkpoint wrote before a crash stopped it short of
    // its manifest: the log holds every point, and they are garbage.
    if segments.first().is_some_and(|(sequence, _)| *sequence == 1) {
        return Ok(found);
    }
    let blocks: Vec<PathBuf> =
        block::list(&dir.join(BLOCKS_DIR))?.into_iter().map(|(_, path)| path).collect();
    if !blocks.is_empty() {
        found.push((format!("{} block files", blocks.len()), blocks));
    }
    let key_lists: Vec<PathBuf> =
        [keys::path(dir), keys::mirror_path(dir)].into_iter().filter(|path| path.exists()).collect();
    if !key_lists.is_empty() {
        found.push(("a key list".to_owned(), key_lists));
    }
    if segments.first().is_some_and(|(sequence, _)| *sequence > 1) {
        let first = segments.first().map_or(0, |(sequence, _)| *sequence);
        found.push((
            format!("log segments from number {first} on (the earlier ones were covered by a checkpoint)"),
            segments.into_iter().map(|(_, path)| path).collect(),
        ));
    }
    Ok(found)
}

#[cfg(test)]
mod tests;
