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

use super::manifest::{self, Manifest};
use super::{block, BLOCKS_DIR};
use crate::damaged::Aside;
use crate::error::{Corruption, Error, Result};
use crate::series::{Series, WINDOW_SECONDS};
use crate::wal::{list_segments, sync_dir};
use crate::RecoveryMode;
use std::path::{Path, PathBuf};

/// The checkpoint a store opens from.
#[derive(Debug, Default)]
pub(crate) struct Loaded {
    /// The manifest in force.
    pub(crate) manifest: Manifest,
    /// The one before it, kept (with its files and log) as a fallback.
    pub(crate) previous: Option<Manifest>,
    /// Every series the manifest names, with its chunks from the blocks.
    pub(crate) series: Vec<Series>,
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
pub(crate) fn load(dir: &Path, mode: RecoveryMode, aside: &mut Aside) -> Result<Loaded> {
    let mut manifests = manifest::list(dir)?;
    while let Some((generation, path)) = manifests.pop() {
        let attempt = Manifest::read(&path).map(|manifest| {
            let (series, damaged) = load_blocks(dir, &manifest);
            (manifest, series, damaged)
        });
        let failure = match attempt {
            Ok((manifest, series, damaged)) if damaged.is_empty() => {
                let previous = manifests.last().and_then(|(_, path)| Manifest::read(path).ok());
                return Ok(Loaded { manifest, previous, series });
            }
            Ok((manifest, _, damaged)) => Damage::Blocks(manifest, damaged),
            Err(error) => Damage::Manifest(error),
        };
        if mode == RecoveryMode::Strict {
            return Err(failure.into_error());
        }
        // Salvage: the manifest before this one, if it is whole and the log
        // after it is all there, loses nothing.
        if let Some(fallback) = whole_fallback(dir, &manifests)? {
            tracing::warn!(
                damaged = %path.display(),
                fallback = fallback.manifest.generation,
                "falling back to the checkpoint before a damaged one; the log after it replays every point"
            );
            set_aside_generation(dir, generation, &path, aside)?;
            return Ok(fallback);
        }
        match failure {
            Damage::Blocks(manifest, damaged) => return drop_windows(dir, manifest, &path, damaged, aside),
            Damage::Manifest(_) => set_aside_generation(dir, generation, &path, aside)?,
        }
    }
    let orphans = orphans(dir)?;
    if orphans.is_empty() {
        return Ok(Loaded::default());
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
    Ok(Loaded::default())
}

/// What is wrong with a manifest's checkpoint.
enum Damage {
    /// The manifest itself cannot be read.
    Manifest(Error),
    /// It reads, but some of its block files do not: window → the error.
    Blocks(Manifest, Vec<(i64, Error)>),
}

impl Damage {
    fn into_error(self) -> Error {
        match self {
            Damage::Manifest(error) => error,
            Damage::Blocks(_, mut damaged) => damaged.swap_remove(0).1,
        }
    }
}

/// Loads the blocks of `manifest` into one series per key; the windows
/// whose files could not be read, with why, come back beside them (their
/// series are then incomplete).
fn load_blocks(dir: &Path, manifest: &Manifest) -> (Vec<Series>, Vec<(i64, Error)>) {
    let mut series = vec![Series::default(); manifest.keys.len()];
    let mut damaged = Vec::new();
    for (&window, &generation) in &manifest.windows {
        let path = block::path(&dir.join(BLOCKS_DIR), window, generation);
        let mut loaded = Vec::new();
        let read = block::read(&path, window, |id, chunk| {
            let exists = (id as usize) < series.len();
            exists
                .then(|| loaded.push((id, Box::<[u8]>::from(chunk))))
                .ok_or(Corruption::UnknownSeries { id: id.into() })
        });
        let checked = read.and_then(|bytes| match manifest.block_bytes.get(&window) {
            Some(&expected) if expected != bytes => Err(Error::CorruptFile {
                path: path.clone(),
                offset: expected.min(bytes),
                reason: Corruption::BlockLength { expected, found: bytes },
            }),
            _ => Ok(()),
        });
        // A window's chunks count only if its whole file read.
        match checked {
            Ok(()) => loaded.into_iter().for_each(|(id, chunk)| series[id as usize].load_chunk(chunk)),
            Err(error) => damaged.push((window, error)),
        }
    }
    (series, damaged)
}

/// The newest of the older `manifests` with every block file whole and
/// the log segment its replay starts at present, loaded.
fn whole_fallback(dir: &Path, manifests: &[(u64, PathBuf)]) -> Result<Option<Loaded>> {
    let Some((_, path)) = manifests.last() else {
        return Ok(None);
    };
    let Ok(manifest) = Manifest::read(path) else {
        return Ok(None);
    };
    let segments = list_segments(&dir.join("wal"))?;
    if !segments.iter().any(|(sequence, _)| *sequence == manifest.wal_start.max(1)) {
        return Ok(None);
    }
    let (series, damaged) = load_blocks(dir, &manifest);
    if !damaged.is_empty() {
        return Ok(None);
    }
    let previous = manifests.len().checked_sub(2).and_then(|at| Manifest::read(&manifests[at].1).ok());
    Ok(Some(Loaded { manifest, previous, series }))
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
    mut manifest: Manifest,
    manifest_path: &Path,
    damaged: Vec<(i64, Error)>,
    aside: &mut Aside,
) -> Result<Loaded> {
    let blocks_dir = dir.join(BLOCKS_DIR);
    for (window, error) in &damaged {
        let generation = manifest.windows.remove(window).unwrap_or_default();
        manifest.block_bytes.remove(window);
        let path = block::path(&blocks_dir, *window, generation);
        if path.exists() {
            aside.move_file(&path, "a damaged block file")?;
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
    block::write_atomically(&manifest::path(dir, manifest.generation), &manifest.encode())?;
    sync_dir(dir)?;
    aside.move_file(
        manifest_path,
        "a checkpoint manifest naming damaged block files (replaced without them)",
    )?;
    let (series, _) = load_blocks(dir, &manifest);
    Ok(Loaded { manifest, previous: None, series })
}

/// Files that only a manifest could explain: block files, and log
/// segments after the first (a checkpoint deleted the ones before).
fn orphans(dir: &Path) -> Result<Vec<(String, Vec<PathBuf>)>> {
    let mut found = Vec::new();
    let blocks: Vec<PathBuf> =
        block::list(&dir.join(BLOCKS_DIR))?.into_iter().map(|(_, path)| path).collect();
    if !blocks.is_empty() {
        found.push((format!("{} block files", blocks.len()), blocks));
    }
    let segments = list_segments(&dir.join("wal"))?;
    if segments.first().is_some_and(|(sequence, _)| *sequence > 1) {
        let first = segments.first().map_or(0, |(sequence, _)| *sequence);
        found.push((
            format!("log segments from number {first} on (the earlier ones were covered by a checkpoint)"),
            segments.into_iter().map(|(_, path)| path).collect(),
        ));
    }
    Ok(found)
}
