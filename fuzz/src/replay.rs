//! Opening a store from damaged files: a log segment made of arbitrary
//! bytes, or a checkpointed store with its block file or manifest mangled.

use eardrum_storage::{Error, Keys, Options, RecoveryMode, Sample, Store, SyncMode};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The first byte picks what the rest damages: a log segment after a valid
/// header, a whole log segment, a block file, a manifest, or the key list
/// (the last three XOR the rest into a real checkpoint's file). Opening
/// must not panic, in strict or salvage mode. A store that opens must take
/// a put, close, and reopen with exactly what it held plus that put; or,
/// when the damage is in a window on disk (which is read on demand), fail
/// to read it with the corruption error and no panic.
pub fn log_replay(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    for recovery in [RecoveryMode::Strict, RecoveryMode::Salvage] {
        let dir = scratch();
        match mode % 5 {
            0 => write(&dir.path().join("wal").join(SEGMENT), &[b"EDRMWAL\x02", rest].concat()),
            1 => write(&dir.path().join("wal").join(SEGMENT), rest),
            kind => {
                let damaged = match kind {
                    2 => "blocks",
                    3 => "checkpoint-",
                    _ => "keys",
                };
                for (path, bytes) in checkpointed_files() {
                    let mut bytes = bytes.clone();
                    if path.to_string_lossy().contains(damaged) && !bytes.is_empty() {
                        let len = bytes.len();
                        rest.iter().enumerate().for_each(|(i, b)| bytes[i % len] ^= b);
                    }
                    write(&dir.path().join(path), &bytes);
                }
            }
        }
        open_put_close_reopen(dir.path(), recovery);
    }
}

const SEGMENT: &str = "00000000000000000001.wal";

/// A scratch folder, in memory where possible: opening syncs files and
/// folders, which costs nothing on tmpfs.
pub(crate) fn scratch() -> tempfile::TempDir {
    tempfile::tempdir_in("/dev/shm").or_else(|_| tempfile::tempdir()).expect("a scratch folder")
}

pub(crate) fn options(recovery: RecoveryMode) -> Options {
    Options { sync: SyncMode::Never, recovery, checkpoint_interval: None, ..Options::default() }
}

fn write(path: &Path, bytes: &[u8]) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("creating a folder");
    }
    std::fs::write(path, bytes).expect("writing a file");
}

/// Every point of a store as (key, timestamp, value bits), in scan order.
pub(crate) fn all_points(store: &Store) -> Vec<(String, i64, u64)> {
    try_all_points(store).expect("reading the store")
}

fn try_all_points(store: &Store) -> eardrum_storage::Result<Vec<(String, i64, u64)>> {
    let mut points = Vec::new();
    store
        .scan(Keys::All, |key, timestamp, value| points.push((key.to_owned(), timestamp, value.to_bits())))?;
    Ok(points)
}

fn open_put_close_reopen(dir: &Path, recovery: RecoveryMode) {
    let Ok(store) = Store::open(dir, options(recovery)) else {
        return;
    };
    const KEY: &str = "fuzz.after";
    let before = match try_all_points(&store) {
        Ok(points) => points,
        Err(Error::CorruptFile { .. }) => return,
        Err(error) => panic!("reading a store that opened: {error}"),
    };
    store.put(&[Sample { key: KEY, timestamp: 1, value: 1.0 }]).expect("a put after a successful open");
    store.close().expect("closing");
    let reopened = Store::open(dir, options(RecoveryMode::Strict)).expect("a store closed cleanly reopens");
    let after = all_points(&reopened);
    let others = |points: &[(String, i64, u64)]| -> Vec<(String, i64, u64)> {
        points.iter().filter(|(key, ..)| key != KEY).cloned().collect()
    };
    assert_eq!(others(&after), others(&before), "points changed across a clean close");
    assert!(after.contains(&(KEY.to_owned(), 1, 1f64.to_bits())), "the put after opening is lost");
}

/// The files of a store that has a checkpoint: three series over two
/// windows, made once.
fn checkpointed_files() -> &'static Vec<(PathBuf, Vec<u8>)> {
    static FILES: OnceLock<Vec<(PathBuf, Vec<u8>)>> = OnceLock::new();
    FILES.get_or_init(|| {
        let dir = scratch();
        let store = Store::open(dir.path(), options(RecoveryMode::Strict)).expect("opening");
        for step in 0..60i64 {
            let timestamp = 1_700_000_000 + step * 300;
            let samples = [
                Sample { key: "host1.cpu", timestamp, value: (step % 7) as f64 / 2.0 },
                Sample { key: "host1.bytes", timestamp, value: (step * step * 1000) as f64 },
                Sample { key: "host2.odd", timestamp, value: f64::from_bits(step as u64 * 0x9E37_79B9) },
            ];
            store.put(&samples).expect("put");
        }
        store.close().expect("closing writes a checkpoint");
        let mut files = Vec::new();
        let mut folders = vec![dir.path().to_owned()];
        while let Some(folder) = folders.pop() {
            for entry in std::fs::read_dir(&folder).expect("listing").flatten() {
                let path = entry.path();
                if path.is_dir() {
                    folders.push(path);
                } else if path.file_name().is_some_and(|name| name != "LOCK") {
                    let bytes = std::fs::read(&path).expect("reading");
                    files.push((path.strip_prefix(dir.path()).expect("inside").to_owned(), bytes));
                }
            }
        }
        files
    })
}
