//! The key list: every series' key in id order, in one file that each
//! checkpoint appends its new keys to, instead of a manifest rewriting
//! them all.
//!
//! ```text
//! file    = "EDRMKEY" 1 record*
//! record  = length:u32le crc32:u32le (key_len:varint key)*     (at most ~1 MiB each)
//! ```
//!
//! A manifest names how many keys it knows and how many bytes of the file
//! hold them; the bytes after that are ignored, and a checkpoint cuts them
//! off before it appends (they were written by a checkpoint that did not
//! finish). The manifest before it names a shorter prefix, so the fallback
//! reads the same file.
//!
//! Every manifest needs the list, so it is kept twice: `keys` and
//! `keys.mirror`, written alike. Opening reads the first and, when it is
//! damaged, the mirror, which then replaces it: one damaged file loses
//! nothing.

use crate::error::{Corruption, Error, Result};
use crate::registry::KeyList;
use crate::varint;
use crate::wal::reader::Reader;
use crate::wal::record::frame_into;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 7] = b"EDRMKEY";
const VERSION: u8 = 1;
const RECORD_TARGET_BYTES: usize = 1024 * 1024;

/// The key list of the data folder `dir`.
pub(crate) fn path(dir: &Path) -> PathBuf {
    dir.join("keys")
}

/// Its copy.
pub(crate) fn mirror_path(dir: &Path) -> PathBuf {
    dir.join("keys.mirror")
}

/// Reads the first `count` keys, which the first `bytes` bytes of the key
/// list hold, from the list and its mirror: when one of them is damaged,
/// the other replaces it.
///
/// # Errors
///
/// The list's error when neither can be read; and I/O errors of replacing
/// a damaged one.
pub(crate) fn read(dir: &Path, count: u64, bytes: u64) -> Result<KeyList> {
    let (list, mirror) = (path(dir), mirror_path(dir));
    let (from_list, from_mirror) = (read_one(&list, count, bytes), read_one(&mirror, count, bytes));
    let (keys, whole, damaged, error) = match (from_list, from_mirror) {
        (Ok(keys), Ok(_)) => return Ok(keys),
        (Err(error), Err(_)) => return Err(error),
        (Ok(keys), Err(error)) => (keys, list, mirror, error),
        (Err(error), Ok(keys)) => (keys, mirror, list, error),
    };
    tracing::warn!(%error, "a copy of the key list is damaged; the other is whole and replaces it");
    let copy = std::fs::read(&whole).map_err(Error::io("reading the key list", &whole))?;
    super::block::write_atomically(&damaged, copy.get(..bytes as usize).unwrap_or(&copy))?;
    crate::wal::sync_dir(dir)?;
    Ok(keys)
}

/// Reads the first `count` keys from the key list file at `path`, which
/// its first `bytes` bytes hold.
///
/// # Errors
///
/// [`Error::CorruptFile`] when the file is shorter, damaged within those
/// bytes, or holds another number of keys there; I/O errors.
fn read_one(path: &Path, count: u64, bytes: u64) -> Result<KeyList> {
    let mut keys = KeyList::default();
    if count == 0 && bytes == 0 {
        return Ok(keys);
    }
    let path = path.to_owned();
    let mut file = super::read_file(&path, MAGIC, VERSION..=VERSION)?;
    let corrupt = |offset: u64, reason| Error::CorruptFile { path: path.clone(), offset, reason };
    let found = file.len() as u64;
    if found < bytes {
        return Err(corrupt(found, Corruption::BlockLength { expected: bytes, found }));
    }
    file.truncate(bytes as usize);
    for record in Reader::new(&file) {
        let record = record.map_err(|bad| corrupt(bad.offset, bad.reason))?;
        let mut input = record.payload;
        while !input.is_empty() {
            let key = read_key(&mut input)
                .ok_or_else(|| corrupt(record.offset, Corruption::BadEntry { what: "key" }))?;
            keys.push(key);
        }
    }
    if keys.len() as u64 != count {
        let what = "the number of keys the manifest names";
        return Err(corrupt(bytes, Corruption::BadEntry { what }));
    }
    Ok(keys)
}

fn read_key<'a>(input: &mut &'a [u8]) -> Option<&'a str> {
    let len = usize::try_from(varint::read_u64(input)?).ok()?;
    let key = std::str::from_utf8(input.get(..len)?).ok()?;
    *input = &input[len..];
    Some(key)
}

/// Appends `keys` after the first `known_bytes` bytes of the key list and
/// its mirror (new files for `None`), syncs them, and returns their new
/// length. The caller syncs the folder.
///
/// # Errors
///
/// I/O errors; what was appended is then ignored, since no manifest names
/// it.
pub(crate) fn append<'a>(
    dir: &Path,
    known_bytes: Option<u64>,
    keys: impl Iterator<Item = &'a str>,
) -> Result<u64> {
    let mut out = Vec::new();
    let start = match known_bytes {
        Some(bytes) if bytes > 0 => bytes,
        _ => {
            out.extend_from_slice(MAGIC);
            out.push(VERSION);
            0
        }
    };
    let mut payload = Vec::new();
    for key in keys {
        varint::write_u64(&mut payload, key.len() as u64);
        payload.extend_from_slice(key.as_bytes());
        if payload.len() >= RECORD_TARGET_BYTES {
            frame_into(&mut out, &payload);
            payload.clear();
        }
    }
    if !payload.is_empty() {
        frame_into(&mut out, &payload);
    }
    for path in [path(dir), mirror_path(dir)] {
        let io = |source| Error::Io { action: "appending to the key list", path: path.clone(), source };
        let mut file =
            std::fs::OpenOptions::new().create(true).write(true).truncate(false).open(&path).map_err(io)?;
        file.set_len(start).map_err(io)?;
        file.seek(SeekFrom::Start(start)).map_err(io)?;
        file.write_all(&out).map_err(io)?;
        file.sync_all().map_err(io)?;
    }
    Ok(start + out.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_read_back_past_an_unfinished_tail_and_a_damaged_copy_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let first = append(dir.path(), None, ["a.cpu", "ключ"].into_iter()).unwrap();
        // A checkpoint that appended and then did not write its manifest.
        append(dir.path(), Some(first), ["lost"].into_iter()).unwrap();
        let second = append(dir.path(), Some(first), ["b.cpu", ""].into_iter()).unwrap();
        let keys = read(dir.path(), 4, second).unwrap();
        assert_eq!(keys.iter().collect::<Vec<_>>(), ["a.cpu", "ключ", "b.cpu", ""]);
        // The manifest before the newest reads the same file's prefix.
        assert_eq!(read(dir.path(), 2, first).unwrap().iter().collect::<Vec<_>>(), ["a.cpu", "ключ"]);
        assert!(read(dir.path(), 3, second).is_err(), "another number of keys than the manifest names");
        // One copy damaged: the other replaces it.
        let mut bytes = std::fs::read(path(dir.path())).unwrap();
        bytes[12] ^= 0x40;
        std::fs::write(path(dir.path()), &bytes).unwrap();
        assert_eq!(read(dir.path(), 4, second).unwrap(), keys);
        assert_eq!(std::fs::read(path(dir.path())).unwrap(), std::fs::read(mirror_path(dir.path())).unwrap());
        // Both damaged: the list's error, naming it.
        for file in [path(dir.path()), mirror_path(dir.path())] {
            std::fs::write(&file, b"EDRMKEY\x01garbage").unwrap();
        }
        let error = read(dir.path(), 4, second).unwrap_err().to_string();
        assert!(error.contains("keys"), "{error}");
    }
}
