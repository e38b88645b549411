//! Recovery from the log: torn tails, damage, salvage, rotation.

#![expect(clippy::unwrap_used, reason = "test helpers: a failure is a panic")]

use eardrum_storage::{Corruption, Error, Keys, Options, RecoveryMode, Sample, Store};
use std::path::{Path, PathBuf};

const HEADER_BYTES: u64 = 8;

/// These tests are about the log: no checkpoint may delete it under them.
fn log_only() -> Options {
    Options { checkpoint_interval: None, checkpoint_on_close: false, ..Options::default() }
}

fn all_points(store: &Store) -> Vec<(String, i64, f64)> {
    let mut points = Vec::new();
    store.scan(Keys::All, |key, timestamp, value| points.push((key.to_owned(), timestamp, value))).unwrap();
    points
}

fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir.join("wal"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "wal"))
        .collect();
    files.sort();
    files
}

/// Puts `batches` batches of three samples each, one log record per batch,
/// and returns the log offset where each record starts.
fn write_batches(dir: &Path, batches: i64) -> Vec<u64> {
    let store = Store::open(dir, log_only()).unwrap();
    let mut starts = Vec::new();
    for batch in 0..batches {
        starts.push(HEADER_BYTES + store.stats().log_bytes_written);
        let key = format!("series{}", batch % 2);
        store
            .put(&[
                Sample { key: &key, timestamp: batch * 10, value: batch as f64 },
                Sample { key: "shared", timestamp: batch, value: -(batch as f64) },
                Sample { key: &key, timestamp: batch * 10 + 1, value: 0.5 },
            ])
            .unwrap();
    }
    store.close().unwrap();
    starts
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to.join("wal")).unwrap();
    for segment in segments(from) {
        std::fs::copy(&segment, to.join("wal").join(segment.file_name().unwrap())).unwrap();
    }
}

#[test]
fn recovers_valid_prefix_after_truncation_at_every_offset_of_last_record() {
    let original = tempfile::tempdir().unwrap();
    let starts = write_batches(original.path(), 4);
    let expected_prefix = {
        let prefix = tempfile::tempdir().unwrap();
        write_batches(prefix.path(), 3);
        let store = Store::open(prefix.path(), log_only()).unwrap();
        all_points(&store)
    };
    let segment = &segments(original.path())[0];
    let full_len = std::fs::metadata(segment).unwrap().len();
    let last_start = *starts.last().unwrap();
    for cut in last_start..full_len {
        let dir = tempfile::tempdir().unwrap();
        copy_dir(original.path(), dir.path());
        let copy = &segments(dir.path())[0];
        std::fs::OpenOptions::new().write(true).open(copy).unwrap().set_len(cut).unwrap();

        let store = Store::open(dir.path(), log_only()).unwrap();
        assert_eq!(all_points(&store), expected_prefix, "cut at {cut}");
        // The log goes on cleanly after the cut.
        store.put(&[Sample { key: "after", timestamp: 1, value: 1.0 }]).unwrap();
        store.close().unwrap();
        let store = Store::open(dir.path(), log_only()).unwrap();
        assert_eq!(all_points(&store).len(), expected_prefix.len() + 1, "cut at {cut}");
    }
}

#[test]
fn key_order_and_overwrites_survive_restart() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), log_only()).unwrap();
    for (key, timestamp, value) in [("b", 2, 1.0), ("a", 1, 1.0), ("b", 1, 2.0), ("a", 1, 3.0), ("c", 0, 0.0)]
    {
        store.put(&[Sample { key, timestamp, value }]).unwrap();
    }
    // Dropped without close: the log alone must carry everything.
    drop(store);
    let store = Store::open(dir.path(), log_only()).unwrap();
    let expected =
        [("b", 1, 2.0), ("b", 2, 1.0), ("a", 1, 3.0), ("c", 0, 0.0)].map(|(k, t, v)| (k.to_owned(), t, v));
    assert_eq!(all_points(&store), expected);
    assert_eq!(store.stats().series, 3);
    assert_eq!(store.stats().points, 4);
}

#[test]
fn a_zeroed_tail_after_power_loss_is_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    write_batches(dir.path(), 2);
    let segment = &segments(dir.path())[0];
    let mut bytes = std::fs::read(segment).unwrap();
    bytes.extend_from_slice(&[0; 4096]);
    std::fs::write(segment, bytes).unwrap();
    let store = Store::open(dir.path(), log_only()).unwrap();
    assert_eq!(all_points(&store).len(), 6);
}

/// Five batches written, then one bit flipped inside the third record.
struct Damaged {
    starts: Vec<u64>,
    segment: PathBuf,
    bytes: Vec<u8>,
}

fn damage_third_of_five_records(dir: &Path) -> Damaged {
    let starts = write_batches(dir, 5);
    let segment = segments(dir)[0].clone();
    let mut bytes = std::fs::read(&segment).unwrap();
    bytes[starts[2] as usize + 12] ^= 0x40;
    std::fs::write(&segment, &bytes).unwrap();
    Damaged { starts, segment, bytes }
}

#[test]
fn corrupt_record_in_the_middle_is_refused_with_file_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    let Damaged { starts, segment, bytes } = damage_third_of_five_records(dir.path());

    let error = Store::open(dir.path(), log_only()).unwrap_err();
    match &error {
        Error::CorruptLog { path, offset, reason } => {
            assert_eq!((path, *offset, reason), (&segment, starts[2], &Corruption::ChecksumMismatch));
        }
        other => panic!("expected CorruptLog, got {other:?}"),
    }
    let message = error.to_string();
    assert!(message.contains(&segment.display().to_string()) && message.contains(&starts[2].to_string()));
    // Refusing changed nothing on disk.
    assert_eq!(std::fs::read(&segment).unwrap(), bytes);
}

#[test]
fn salvage_moves_the_damaged_part_aside_and_starts() {
    let dir = tempfile::tempdir().unwrap();
    let Damaged { starts, bytes, .. } = damage_third_of_five_records(dir.path());

    let salvage = Options { recovery: RecoveryMode::Salvage, ..log_only() };
    let store = Store::open(dir.path(), salvage).unwrap();
    assert_eq!(all_points(&store).len(), 6, "the two batches before the damage");
    store.put(&[Sample { key: "new", timestamp: 1, value: 2.0 }]).unwrap();
    store.close().unwrap();

    let aside: Vec<_> = walk(&dir.path().join("damaged"));
    assert_eq!(aside.len(), 1);
    assert_eq!(std::fs::read(&aside[0]).unwrap(), &bytes[starts[2] as usize..]);
    // From now on the folder opens normally.
    let store = Store::open(dir.path(), log_only()).unwrap();
    assert_eq!(all_points(&store).len(), 7);
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[test]
fn rotation_spreads_the_log_over_segments_and_replays_them_all() {
    let dir = tempfile::tempdir().unwrap();
    let small = Options { segment_max_bytes: 256, ..log_only() };
    let store = Store::open(dir.path(), small.clone()).unwrap();
    for i in 0..200 {
        store.put(&[Sample { key: &format!("k{}", i % 7), timestamp: i, value: i as f64 }]).unwrap();
    }
    store.close().unwrap();
    assert!(segments(dir.path()).len() > 10);
    let store = Store::open(dir.path(), small).unwrap();
    assert_eq!(all_points(&store).len(), 200);
    let keys: Vec<String> = all_points(&store).into_iter().map(|(k, _, _)| k).collect();
    assert_eq!(keys.first().map(String::as_str), Some("k0"));
}

#[test]
fn a_torn_older_segment_is_damage() {
    let dir = tempfile::tempdir().unwrap();
    let small = Options { segment_max_bytes: 256, ..log_only() };
    let store = Store::open(dir.path(), small.clone()).unwrap();
    for i in 0..50 {
        store.put(&[Sample { key: "k", timestamp: i, value: 1.0 }]).unwrap();
    }
    store.close().unwrap();
    let first = &segments(dir.path())[0];
    let len = std::fs::metadata(first).unwrap().len();
    std::fs::OpenOptions::new().write(true).open(first).unwrap().set_len(len - 3).unwrap();
    match Store::open(dir.path(), small) {
        Err(Error::CorruptLog { reason: Corruption::TornMiddleSegment, .. }) => {}
        other => panic!("expected a torn middle segment, got {other:?}"),
    }
}

#[test]
fn a_second_process_cannot_open_the_same_folder() {
    let dir = tempfile::tempdir().unwrap();
    let _store = Store::open(dir.path(), log_only()).unwrap();
    assert!(matches!(Store::open(dir.path(), log_only()), Err(Error::Locked { .. })));
}

#[test]
fn unknown_format_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    write_batches(dir.path(), 1);
    let segment = &segments(dir.path())[0];
    let mut bytes = std::fs::read(segment).unwrap();
    bytes[7] = 99;
    std::fs::write(segment, bytes).unwrap();
    assert!(matches!(Store::open(dir.path(), log_only()), Err(Error::UnsupportedVersion { found: 99, .. })));
}

/// A log written by eardrum 0.1 (format version 1: absolute timestamps) is
/// read, and writing goes on in a new segment of the current version, so
/// the old one stays readable by the build that wrote it.
#[test]
fn a_version_one_log_is_read_and_continued_in_a_new_segment() {
    let dir = tempfile::tempdir().unwrap();
    let wal = dir.path().join("wal");
    std::fs::create_dir_all(&wal).unwrap();
    // define series 0 = "palm.cpu", then put (1150864247, 23.7) as a 0x02 entry.
    let mut payload = vec![0x01, 0x00, 8];
    payload.extend_from_slice(b"palm.cpu");
    payload.extend_from_slice(&[0x02, 0x00]);
    let mut zigzag = (1150864247u64) << 1;
    while zigzag >= 0x80 {
        payload.push(zigzag as u8 | 0x80);
        zigzag >>= 7;
    }
    payload.push(zigzag as u8);
    payload.extend_from_slice(&23.7f64.to_le_bytes());
    let mut segment = b"EDRMWAL\x01".to_vec();
    segment.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    segment.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    segment.extend_from_slice(&payload);
    let old = wal.join(format!("{:020}.wal", 1));
    std::fs::write(&old, &segment).unwrap();

    let store = Store::open(dir.path(), log_only()).unwrap();
    assert_eq!(all_points(&store), [("palm.cpu".to_owned(), 1150864247, 23.7)]);
    store.put(&[Sample { key: "palm.cpu", timestamp: 1150864248, value: 1.0 }]).unwrap();
    store.close().unwrap();
    assert_eq!(std::fs::read(&old).unwrap(), segment, "the old segment is untouched");
    let reopened = Store::open(dir.path(), log_only()).unwrap();
    assert_eq!(
        all_points(&reopened),
        [("palm.cpu".to_owned(), 1150864247, 23.7), ("palm.cpu".to_owned(), 1150864248, 1.0)]
    );
}
