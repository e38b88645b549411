use super::*;
use crate::codec::chunk;
use crate::codec::ints::zigzag;
use crate::varint;
use crate::wal::record::frame_into;
use crate::{Keys, Options, Store};

/// The points of series `id` in `window` of the upgrade test.
fn points(id: u32, window: i64) -> Vec<(i64, f64)> {
    (0..100).map(|i| (window * WINDOW_SECONDS + i * 60, f64::from(id) + i as f64 / 4.0)).collect()
}

/// Writes a data folder as the first block format left it: version 1
/// block files without an index, named by a version 2 manifest.
fn write_first_format(dir: &Path) {
    std::fs::create_dir_all(dir.join(BLOCKS_DIR)).unwrap();
    let mut manifest_windows = Vec::new();
    for window in 0..3 {
        let mut payload = Vec::new();
        for id in 0..2u32 {
            let mut encoded = Vec::new();
            chunk::encode(&points(id, window), &mut encoded);
            varint::write_u64(&mut payload, u64::from(id));
            varint::write_u64(&mut payload, encoded.len() as u64);
            payload.extend_from_slice(&encoded);
        }
        let mut file = b"EDRMBLK\x01".to_vec();
        frame_into(&mut file, &payload);
        std::fs::write(block::path(&dir.join(BLOCKS_DIR), window, 1), &file).unwrap();
        manifest_windows.push((window, file.len() as u64));
    }
    let mut payload = Vec::new();
    for number in [1, 1] {
        varint::write_u64(&mut payload, number); // generation, then wal_start
    }
    payload.push(1);
    varint::write_u64(&mut payload, zigzag(3 * WINDOW_SECONDS - 60));
    varint::write_u64(&mut payload, 2);
    for key in ["a.cpu", "b.cpu"] {
        varint::write_u64(&mut payload, key.len() as u64);
        payload.extend_from_slice(key.as_bytes());
    }
    varint::write_u64(&mut payload, manifest_windows.len() as u64);
    for (window, bytes) in manifest_windows {
        varint::write_u64(&mut payload, zigzag(window));
        varint::write_u64(&mut payload, 1);
        varint::write_u64(&mut payload, bytes);
    }
    let mut file = b"EDRMCKP\x02".to_vec();
    frame_into(&mut file, &payload);
    std::fs::write(manifest::path(dir, 1), &file).unwrap();
}

fn every_point(store: &Store) -> Vec<(String, i64, u64)> {
    let mut every = Vec::new();
    store.scan(Keys::All, |key, t, v| every.push((key.to_owned(), t, v.to_bits()))).unwrap();
    every
}

#[test]
fn a_folder_of_the_first_block_format_opens_whole_and_is_rewritten_with_indexes() {
    let dir = tempfile::tempdir().unwrap();
    write_first_format(dir.path());
    let expected: Vec<(String, i64, u64)> = ["a.cpu", "b.cpu"]
        .into_iter()
        .zip(0u32..)
        .flat_map(|(key, id)| {
            (0..3)
                .flat_map(move |window| points(id, window))
                .map(move |(t, v)| (key.to_owned(), t, v.to_bits()))
        })
        .collect();
    let options = Options { checkpoint_interval: None, ..Options::default() };
    let store = Store::open(dir.path(), options.clone()).unwrap();
    assert_eq!(every_point(&store), expected);
    assert_eq!(store.stats().points, 600);
    // Every window was read whole; the first checkpoint rewrites them
    // all and moves the oldest out of memory.
    store.checkpoint().unwrap();
    assert_eq!(store.stats().windows_on_disk, 1);
    assert_eq!(every_point(&store), expected);
    store.close().unwrap();
    for ((window, generation), path) in block::list(&dir.path().join(BLOCKS_DIR)).unwrap() {
        if generation > 1 {
            assert_eq!(std::fs::read(&path).unwrap()[7], 3, "window {window}: the format version");
        }
    }
    let store = Store::open(dir.path(), options).unwrap();
    assert_eq!(every_point(&store), expected);
    assert_eq!((store.stats().points, store.stats().windows_on_disk), (600, 1));
}

#[test]
fn files_of_a_first_checkpoint_cut_short_of_its_manifest_are_garbage_while_the_log_is_whole() {
    let dir = tempfile::tempdir().unwrap();
    let options = Options { checkpoint_interval: None, checkpoint_on_close: false, ..Options::default() };
    let store = Store::open(dir.path(), options.clone()).unwrap();
    let samples: Vec<crate::Sample<'_>> =
        (0..2000).map(|i| crate::Sample { key: "a", timestamp: i * 10, value: i as f64 }).collect();
    store.put(&samples).unwrap();
    store.checkpoint().unwrap();
    store.close().unwrap();
    // As a crash just before the first manifest was renamed into place
    // leaves the folder: block files and the key list, the whole log.
    for (_, path) in manifest::list(dir.path()).unwrap() {
        std::fs::remove_file(path).unwrap();
    }
    assert!(!block::list(&dir.path().join(BLOCKS_DIR)).unwrap().is_empty());
    let store = Store::open(dir.path(), options).unwrap();
    let mut read = 0;
    store.scan(Keys::All, |_, _, _| read += 1).unwrap();
    assert_eq!(read, 2000, "every point, from the log");
    assert!(block::list(&dir.path().join(BLOCKS_DIR)).unwrap().is_empty(), "the leftovers deleted");
    store.checkpoint().unwrap();
    drop(store);
}
