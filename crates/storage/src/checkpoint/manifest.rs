//! The checkpoint manifest: which block file holds each window, the series
//! registry, and where the log replay starts.
//!
//! ```text
//! file       = "EDRMCKP" version:u8 record        (one framed record)
//! payload    = generation:varint wal_start:varint newest:(0 | 1 zigzag-varint)
//!              key_count:varint (key_len:varint key)*
//!              window_count:varint window*
//! window     = window:zigzag-varint file_generation:varint file_bytes:varint   (version 2)
//!            | window:zigzag-varint file_generation:varint                     (version 1)
//! ```
//!
//! A manifest is written to a temporary name, synced, renamed into place and
//! the folder synced: a manifest that exists is complete. The newest one is
//! the store's state; the one before it stays, with its block files and the
//! log after it, as the fallback should the newest be damaged. Version 2
//! records each block file's length, so that a file cut at a record
//! boundary is found out; version 1 manifests are still read.

use crate::codec::ints::{unzigzag, zigzag};
use crate::error::{Corruption, Error, Result};
use crate::registry::KeyList;
use crate::varint;
use crate::wal::reader::Reader;
use crate::wal::record::{frame_into, HEADER_BYTES};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 7] = b"EDRMCKP";
const VERSION: u8 = 2;
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
    pub(crate) keys: KeyList,
    /// Window → generation of the block file holding it.
    pub(crate) windows: BTreeMap<i64, u64>,
    /// Window → length of its block file (unknown for files named by a
    /// version 1 manifest).
    pub(crate) block_bytes: BTreeMap<i64, u64>,
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
        varint::write_u64(&mut payload, self.keys.len() as u64);
        for key in self.keys.iter() {
            varint::write_u64(&mut payload, key.len() as u64);
            payload.extend_from_slice(key.as_bytes());
        }
        varint::write_u64(&mut payload, self.windows.len() as u64);
        for (&window, &generation) in &self.windows {
            varint::write_u64(&mut payload, zigzag(window));
            varint::write_u64(&mut payload, generation);
            // 0: unknown (the file was named by a version 1 manifest).
            varint::write_u64(&mut payload, self.block_bytes.get(&window).copied().unwrap_or(0));
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
    let mut keys = KeyList::default();
    for _ in 0..key_count {
        let len = usize::try_from(varint::read_u64(&mut input)?).ok()?;
        let key = std::str::from_utf8(input.get(..len)?).ok()?;
        keys.push(key);
        input = &input[len..];
    }
    let window_count = varint::read_u64(&mut input)?;
    let (mut windows, mut block_bytes) = (BTreeMap::new(), BTreeMap::new());
    for _ in 0..window_count {
        let window = unzigzag(varint::read_u64(&mut input)?);
        windows.insert(window, varint::read_u64(&mut input)?);
        if version >= 2 {
            match varint::read_u64(&mut input)? {
                0 => {}
                bytes => {
                    block_bytes.insert(window, bytes);
                }
            }
        }
    }
    input.is_empty().then_some(Manifest { generation, wal_start, newest_ts, keys, windows, block_bytes })
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
            keys: ["palm.cpu", "ключ"].into_iter().fold(KeyList::default(), |mut keys, key| {
                keys.push(key);
                keys
            }),
            windows: BTreeMap::from([(-1, 3), (236_000, 7)]),
            block_bytes: BTreeMap::from([(236_000, 4_096)]),
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
