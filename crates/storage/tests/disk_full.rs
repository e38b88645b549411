//! A full disk: puts are refused (never acknowledged unwritten), nothing on
//! disk is damaged, and writing resumes once there is space again.
//!
//! Runs on a 2 MiB tmpfs that the test mounts itself (it needs root, as CI
//! has); where mounting is impossible it says so and skips.

#![expect(clippy::unwrap_used, reason = "test helpers: a failure is a panic")]

use eardrum_storage::{Error, Keys, Options, Sample, Store};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A size-limited tmpfs, unmounted when dropped.
struct SmallDisk {
    path: PathBuf,
    _parent: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> Option<SmallDisk> {
        let parent = tempfile::tempdir().ok()?;
        let path = parent.path().join("disk");
        std::fs::create_dir(&path).ok()?;
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&path)
            .output()
            .ok()?;
        if !mounted.status.success() {
            eprintln!(
                "SKIPPED: cannot mount a tmpfs here ({}); the disk-full test needs root",
                String::from_utf8_lossy(&mounted.stderr).trim()
            );
            return None;
        }
        Some(SmallDisk { path, _parent: parent })
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.path).status();
    }
}

fn count(store: &Store) -> usize {
    let mut n = 0;
    store.scan(Keys::All, |_, _, _| n += 1).unwrap();
    n
}

fn fill(path: &Path) -> usize {
    // Take all but a little of the space with a file we can delete later.
    let mut written = 0;
    let chunk = vec![7u8; 64 * 1024];
    let mut file = std::fs::File::create(path).unwrap();
    while std::io::Write::write_all(&mut file, &chunk).is_ok() {
        written += chunk.len();
    }
    written
}

#[test]
fn a_full_disk_refuses_puts_damages_nothing_and_recovers() {
    let Some(disk) = SmallDisk::mount("2m") else { return };
    let data = disk.path.join("data");
    let options = Options { checkpoint_interval: None, segment_max_bytes: 256 * 1024, ..Options::default() };
    let store = Store::open(&data, options.clone()).unwrap();
    let key: String = "k".repeat(40);
    let early: Vec<Sample<'_>> =
        (0..500).map(|i| Sample { key: "early", timestamp: i, value: 0.5 }).collect();
    store.put(&early).unwrap();
    fill(&disk.path.join("filler"));

    let mut acknowledged = early.len();
    let mut refused = 0;
    for batch in 0..10_000i64 {
        let samples: Vec<Sample<'_>> =
            (0..50).map(|i| Sample { key: &key, timestamp: batch * 50 + i, value: i as f64 / 3.0 }).collect();
        match store.put(&samples) {
            Ok(()) => acknowledged += samples.len(),
            Err(Error::Io { source, .. }) => {
                assert_eq!(source.raw_os_error(), Some(libc_enospc()), "{source}");
                refused += 1;
                if refused > 20 {
                    break;
                }
            }
            Err(other) => panic!("unexpected error {other}"),
        }
    }
    assert!(refused > 0, "the disk never filled");
    assert!(acknowledged > early.len(), "some puts should fit before the disk is full");
    assert_eq!(count(&store), acknowledged, "only acknowledged points are visible");
    // A checkpoint cannot be written either, and says so.
    assert!(store.checkpoint().is_err());

    // Space comes back: writes resume without a restart.
    std::fs::remove_file(disk.path.join("filler")).unwrap();
    store.put(&[Sample { key: "after", timestamp: 1, value: 1.0 }]).unwrap();
    store.checkpoint().unwrap();
    store.close().unwrap();

    let store = Store::open(&data, options).unwrap();
    assert_eq!(count(&store), acknowledged + 1);
}

fn libc_enospc() -> i32 {
    28
}
