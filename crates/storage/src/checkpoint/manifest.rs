//! The checkpoint manifest: which block file holds each window, the series
//! registry, and where the log replay starts.
//!
//! ```text
//! file       = "EDRMCKP" version:u8 record        (one framed record)
//! payload    = generation:varint wal_start:varint newest:(0 | 1 zigzag-varint)
//!              key_count:varint key_list_bytes:varint                 (versions 3, 4)
//!            | key_count:varint (key_len:varint key)*                 (versions 1, 2)
//!              window_count:varint window*
//! window     = window:zigzag-varint points:varint expired:varint rolled:u8
//!              series:(0 | first+1 last-first)
//!              file_count:varint (file_generation:varint file_bytes:varint)*               (version 4)
//!            | window:zigzag-varint points:varint file_count:varint
//!              (file_generation:varint file_bytes:varint)*                                 (version 3)
//!            | window:zigzag-varint file_generation:varint file_bytes:varint                 (version 2)
//!            | window:zigzag-varint file_generation:varint                                   (version 1)
//! ```
//!
//! A manifest is written to a temporary name, synced, renamed into place and
//! the folder synced: a manifest that exists is complete. The newest one is
//! the store's state; the one before it stays, with its block files and the
//! log after it, as the fallback should the newest be damaged. Version 2
//! records each block file's length, so that a file cut at a record
//! boundary is found out; version 3 each window's points, so that opening
//! counts them without reading the files, and several files per window:
//! points put into a window on disk are written as a small file of the
//! series they changed, read over the window's earlier files; version 4
//! how many tiers (raw points, then each rollup step, finest first)
//! retention has removed from a window's files, whether they hold its
//! rollups (a window written while in memory does not), and the first and last
//! series id in them, so that reading a series skips the windows that
//! cannot hold it without opening their files. Versions 1 and 2 name block
//! files of version 1, which opening reads whole and the next checkpoint
//! rewrites.

use super::block::Written;
use crate::codec::ints::{unzigzag, zigzag};
use crate::error::{Corruption, Error, Result};
use crate::registry::KeyList;
use crate::varint;
use crate::wal::reader::Reader;
use crate::wal::record::{frame_into, HEADER_BYTES};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 7] = b"EDRMCKP";
const VERSION: u8 = 4;
const OLDEST_READABLE_VERSION: u8 = 1;
const PREFIX: &str = "checkpoint-";

/// What a checkpoint records.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Manifest {
    /// Increases by one per checkpoint; names its files.
    pub(crate) generation: u64,
    /// The first log segment not covered: replay starts there.
    pub(crate) wal_start: u64,
    /// The newest timestamp ever put, for retention.
    pub(crate) newest_ts: Option<i64>,
    /// Every key, in first-put order (the id is the position).
    pub(crate) keys: ManifestKeys,
    /// Window → the block files holding it.
    pub(crate) windows: BTreeMap<i64, Window>,
}

/// Where a manifest's keys are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ManifestKeys {
    /// The first `count` keys of the key list (see `keys`), which its first
    /// `bytes` bytes hold.
    File { count: u64, bytes: u64 },
    /// In the manifest itself (versions 1 and 2).
    Inline(KeyList),
}

impl Default for ManifestKeys {
    fn default() -> Self {
        ManifestKeys::File { count: 0, bytes: 0 }
    }
}

impl ManifestKeys {
    /// How many keys.
    pub(crate) fn count(&self) -> u64 {
        match self {
            ManifestKeys::File { count, .. } => *count,
            ManifestKeys::Inline(keys) => keys.len() as u64,
        }
    }

    /// How many keys the key list holds for this manifest: none when they
    /// are inline, which a checkpoint then writes to the list whole.
    pub(crate) fn listed(&self) -> usize {
        match self {
            ManifestKeys::File { count, .. } => *count as usize,
            ManifestKeys::Inline(_) => 0,
        }
    }

    /// The bytes of the key list this manifest uses; `None` when its keys
    /// are inline (the list is then written anew).
    pub(crate) fn list_bytes(&self) -> Option<u64> {
        match self {
            ManifestKeys::File { bytes, .. } => Some(*bytes),
            ManifestKeys::Inline(_) => None,
        }
    }

    /// The keys, read from the key list if they are there.
    ///
    /// # Errors
    ///
    /// As [`super::keys::read`].
    pub(crate) fn load(&self, dir: &Path) -> Result<KeyList> {
        match self {
            ManifestKeys::File { count, bytes } => super::keys::read(dir, *count, *bytes),
            ManifestKeys::Inline(keys) => Ok(keys.clone()),
        }
    }
}

/// One block file of a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BlockRef {
    /// The checkpoint that wrote it (part of its name).
    pub(crate) generation: u64,
    /// Its length, to find a file cut short; `None` when a version 1
    /// manifest named it.
    pub(crate) bytes: Option<u64>,
}

/// The block files of one window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Window {
    /// Oldest first. The first holds every series the window had when it
    /// was written whole; each later one holds the runs of the series put
    /// into since, which replace theirs in the files before it.
    pub(crate) files: Vec<BlockRef>,
    /// The points the window holds; `None` for a version 1 block file,
    /// named by a manifest of version 1 or 2.
    pub(crate) points: Option<u64>,
    /// How many tiers retention has removed from the files: 0 for none, 1
    /// when the raw points are gone, 2 when the finest rollups are too, and
    /// so on.
    pub(crate) expired: u8,
    /// The first and last series id the files hold; `None` when unknown
    /// (named by a manifest before version 4).
    pub(crate) ids: Option<(u32, u32)>,
    /// Whether the files hold the window's rollups. A window is written
    /// without them while it is in memory (where it changes, and is
    /// rewritten at every checkpoint); the checkpoint that moves it out of
    /// memory writes it again with them.
    pub(crate) rolled: bool,
}

impl Window {
    /// A window held by one file.
    pub(crate) fn whole(generation: u64, written: &Written, rolled: bool) -> Window {
        Window {
            files: vec![BlockRef { generation, bytes: Some(written.bytes) }],
            points: Some(written.points),
            expired: 0,
            ids: written.ids,
            rolled,
        }
    }

    /// Whether the files may hold series `id`: reads skip the window when
    /// not.
    pub(crate) fn may_hold(&self, id: u32) -> bool {
        self.ids.is_none_or(|(first, last)| (first..=last).contains(&id))
    }

    /// Whether the checkpoint of `generation` wrote one of its files.
    pub(crate) fn has_file_of(&self, generation: u64) -> bool {
        self.files.iter().any(|file| file.generation == generation)
    }
}

impl Manifest {
    /// The windows whose files do not hold their rollups yet.
    pub(crate) fn unrolled_windows(&self) -> Vec<i64> {
        self.windows.iter().filter(|(_, window)| !window.rolled).map(|(&number, _)| number).collect()
    }

    /// Whether a window's file is of the first block format, without an
    /// index: it is read whole when the store opens.
    pub(crate) fn names_legacy_blocks(&self) -> bool {
        self.windows.values().any(|window| window.points.is_none())
    }
}

/// The manifest file of `generation`.
pub(crate) fn path(dir: &Path, generation: u64) -> PathBuf {
    dir.join(format!("{PREFIX}{generation:020}"))
}

/// The manifests in `dir`, oldest first.
pub(crate) fn list(dir: &Path) -> Result<Vec<(u64, PathBuf)>> {
    crate::wal::list_files(dir, |name| name.strip_prefix(PREFIX)?.parse().ok())
}

impl Manifest {
    /// The file's bytes.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut payload = Vec::new();
        varint::write_u64(&mut payload, self.generation);
        varint::write_u64(&mut payload, self.wal_start);
        match self.newest_ts {
            Some(newest) => {
                payload.push(1);
                varint::write_u64(&mut payload, zigzag(newest));
            }
            None => payload.push(0),
        }
        // A checkpoint always moves inline keys into the key list first.
        let (count, bytes) = match &self.keys {
            ManifestKeys::File { count, bytes } => (*count, *bytes),
            ManifestKeys::Inline(keys) => (keys.len() as u64, 0),
        };
        varint::write_u64(&mut payload, count);
        varint::write_u64(&mut payload, bytes);
        varint::write_u64(&mut payload, self.windows.len() as u64);
        for (&number, window) in &self.windows {
            varint::write_u64(&mut payload, zigzag(number));
            // 0: a version 1 block file, whose points are unknown (opening
            // reads it and the next checkpoint rewrites it); else points + 1.
            varint::write_u64(&mut payload, window.points.map_or(0, |points| points + 1));
            varint::write_u64(&mut payload, u64::from(window.expired));
            payload.push(u8::from(window.rolled));
            match window.ids {
                None => varint::write_u64(&mut payload, 0),
                Some((first, last)) => {
                    varint::write_u64(&mut payload, u64::from(first) + 1);
                    varint::write_u64(&mut payload, u64::from(last.saturating_sub(first)));
                }
            }
            varint::write_u64(&mut payload, window.files.len() as u64);
            for file in &window.files {
                varint::write_u64(&mut payload, file.generation);
                // 0: unknown (the file was named by a version 1 manifest).
                varint::write_u64(&mut payload, file.bytes.unwrap_or(0));
            }
        }
        let mut file = Vec::with_capacity(payload.len() + 16);
        file.extend_from_slice(MAGIC);
        file.push(VERSION);
        frame_into(&mut file, &payload);
        file
    }

    /// Reads a manifest file.
    ///
    /// # Errors
    ///
    /// [`Error::CorruptFile`] when it is not a complete, valid manifest.
    pub(crate) fn read(path: &Path) -> Result<Manifest> {
        let bytes = super::read_file(path, MAGIC, OLDEST_READABLE_VERSION..=VERSION)?;
        let version = bytes[MAGIC.len()];
        let corrupt = |offset: u64, reason| Error::CorruptFile { path: path.to_owned(), offset, reason };
        let record = match Reader::new(&bytes).next() {
            Some(Ok(record)) => record,
            Some(Err(bad)) => return Err(corrupt(bad.offset, bad.reason)),
            None => return Err(corrupt(HEADER_BYTES as u64, Corruption::BadLength { length: 0 })),
        };
        decode(record.payload, version)
            .ok_or_else(|| corrupt(record.offset, Corruption::BadEntry { what: "manifest fields" }))
    }
}

fn decode(payload: &[u8], version: u8) -> Option<Manifest> {
    let mut input = payload;
    let generation = varint::read_u64(&mut input)?;
    let wal_start = varint::read_u64(&mut input)?;
    let (&has_newest, rest) = input.split_first()?;
    input = rest;
    let newest_ts = match has_newest {
        0 => None,
        1 => Some(unzigzag(varint::read_u64(&mut input)?)),
        _ => return None,
    };
    let key_count = varint::read_u64(&mut input)?;
    let keys = match version {
        1 | 2 => {
            let mut keys = KeyList::default();
            for _ in 0..key_count {
                let len = usize::try_from(varint::read_u64(&mut input)?).ok()?;
                let key = std::str::from_utf8(input.get(..len)?).ok()?;
                keys.push(key);
                input = &input[len..];
            }
            ManifestKeys::Inline(keys)
        }
        _ => ManifestKeys::File { count: key_count, bytes: varint::read_u64(&mut input)? },
    };
    let window_count = varint::read_u64(&mut input)?;
    let mut windows = BTreeMap::new();
    for _ in 0..window_count {
        let number = unzigzag(varint::read_u64(&mut input)?);
        let window = match version {
            1 | 2 => {
                let generation = varint::read_u64(&mut input)?;
                let bytes = match version {
                    1 => None,
                    _ => Some(varint::read_u64(&mut input)?).filter(|&bytes| bytes > 0),
                };
                Window {
                    files: vec![BlockRef { generation, bytes }],
                    points: None,
                    expired: 0,
                    ids: None,
                    rolled: true,
                }
            }
            _ => {
                let points = varint::read_u64(&mut input)?.checked_sub(1);
                // Windows named before version 4 are taken as rolled: those
                // on disk stay read from their points until rewritten.
                let (expired, rolled, ids) = match version {
                    3 => (0, true, None),
                    _ => {
                        let expired = u8::try_from(varint::read_u64(&mut input)?).ok()?;
                        let (&rolled, rest) = input.split_first()?;
                        input = rest;
                        let rolled = match rolled {
                            0 => false,
                            1 => true,
                            _ => return None,
                        };
                        let ids = match varint::read_u64(&mut input)?.checked_sub(1) {
                            None => None,
                            Some(first) => {
                                let first = u32::try_from(first).ok()?;
                                let last =
                                    first.checked_add(u32::try_from(varint::read_u64(&mut input)?).ok()?)?;
                                Some((first, last))
                            }
                        };
                        (expired, rolled, ids)
                    }
                };
                let count = varint::read_u64(&mut input)?;
                // Each file takes at least two bytes: a count beyond the
                // input is damage, not an allocation to make.
                if count == 0 || count > input.len() as u64 {
                    return None;
                }
                let mut files = Vec::with_capacity(count as usize);
                for _ in 0..count {
                    let generation = varint::read_u64(&mut input)?;
                    let bytes = Some(varint::read_u64(&mut input)?).filter(|&bytes| bytes > 0);
                    files.push(BlockRef { generation, bytes });
                }
                Window { files, points, expired, ids, rolled }
            }
        };
        windows.insert(number, window);
    }
    input.is_empty().then_some(Manifest { generation, wal_start, newest_ts, keys, windows })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_damage() {
        let manifest = Manifest {
            generation: 7,
            wal_start: 12,
            newest_ts: Some(-3),
            keys: ManifestKeys::File { count: 2, bytes: 27 },
            windows: BTreeMap::from([
                (
                    -1,
                    Window {
                        files: vec![BlockRef { generation: 3, bytes: None }],
                        points: Some(0),
                        expired: 2,
                        ids: Some((4, 4)),
                        rolled: true,
                    },
                ),
                (236_000, Window::whole(7, &Written { bytes: 4_096, points: 720, ids: Some((0, 1)) }, false)),
                (
                    236_001,
                    Window {
                        files: vec![
                            BlockRef { generation: 6, bytes: Some(4_096) },
                            BlockRef { generation: 7, bytes: Some(300) },
                        ],
                        points: Some(721),
                        expired: 0,
                        ids: None,
                        rolled: true,
                    },
                ),
            ]),
        };
        let dir = tempfile::tempdir().unwrap();
        let file = path(dir.path(), 7);
        let bytes = manifest.encode();
        std::fs::write(&file, &bytes).unwrap();
        assert_eq!(Manifest::read(&file).unwrap(), manifest);
        for cut in 0..bytes.len() {
            std::fs::write(&file, &bytes[..cut]).unwrap();
            assert!(Manifest::read(&file).is_err(), "cut at {cut}");
        }
        assert_eq!(list(dir.path()).unwrap(), [(7, file)]);
    }
}
