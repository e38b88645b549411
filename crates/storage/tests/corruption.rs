//! The data folder's contract, case by case: for each kind of file (newest
//! and older log segment, block file, newest and older manifest) and each
//! kind of damage (a byte flipped at the start, middle or end; truncated to
//! nothing, to its header, to half; deleted; garbage appended; tail zeroed;
//! a length field changed), opening either refuses naming the file, or
//! serves every acknowledged point (and the rollups and archives they
//! make). Salvage always opens, keeps damaged
//! bytes aside, serves only true points and everything outside the damage,
//! and leaves a folder that then opens without it.

#![expect(clippy::unwrap_used, reason = "test helpers: a failure is a panic")]

use eardrum_graphite::schema::StorageSchemas;
use eardrum_storage::rollup::{Aggregate, Roller};
use eardrum_storage::{Keys, Options, RecoveryMode, Sample, Store};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const HOUR: i64 = 3600;

/// Block files also hold each series' archives of this layout (every
/// slot with a point has a value: the points are ten minutes apart).
const SCHEMAS: &str = "[all]\npattern = .\nretentions = 10s:1d,60s:7d,600s:30d,86400s:5y\n";
const AGGREGATION: &str = "[all]\npattern = .\nxFilesFactor = 0\naggregationMethod = max\n";

fn schemas() -> Arc<StorageSchemas> {
    Arc::new(StorageSchemas::parse(SCHEMAS, Some(AGGREGATION)).unwrap())
}

fn options(recovery: RecoveryMode) -> Options {
    Options {
        checkpoint_interval: None,
        checkpoint_on_close: false,
        segment_max_bytes: 512,
        recovery,
        storage_schemas: Some(schemas()),
        ..Options::default()
    }
}

type Point = (String, i64, u64);

fn all(store: &Store) -> BTreeSet<Point> {
    try_all(store).unwrap()
}

fn try_all(store: &Store) -> eardrum_storage::Result<BTreeSet<Point>> {
    let mut points = BTreeSet::new();
    store.scan(Keys::All, |key, timestamp, value| {
        points.insert((key.to_owned(), timestamp, value.to_bits()));
    })?;
    Ok(points)
}

/// Every series' rollups at every step, as (key, step, slot, values).
type Slot = (String, i64, i64, [u64; 6]);

fn bits(step: i64, start: i64, aggregate: &Aggregate) -> (i64, i64, [u64; 6]) {
    let Aggregate { count, sum, min, max, first, last } = *aggregate;
    (step, start, [count, sum.to_bits(), min.to_bits(), max.to_bits(), first.to_bits(), last.to_bits()])
}

fn try_rollups(store: &Store, keys: &BTreeSet<String>) -> eardrum_storage::Result<BTreeSet<Slot>> {
    let mut slots = BTreeSet::new();
    for key in keys {
        for &step in store.rollup_steps() {
            store.rollups(key, step, i64::MIN / 2, i64::MAX / 2, |start, aggregate| {
                let (step, start, values) = bits(step, start, aggregate);
                slots.insert((key.clone(), step, start, values));
            })?;
        }
    }
    Ok(slots)
}

/// Every series' archives (but the finest, the points), as (key,
/// archive, slot, value).
type Archived = (String, usize, i64, u64);

fn try_archives(store: &Store, keys: &BTreeSet<String>) -> eardrum_storage::Result<BTreeSet<Archived>> {
    let mut slots = BTreeSet::new();
    for key in keys {
        let layout = schemas().layout_for(key).unwrap();
        for archive in 1..layout.archives.len() {
            store.archive(key, &layout, archive, i64::MIN / 2, i64::MAX / 2, |start, value| {
                slots.insert((key.clone(), archive, start, value.to_bits()));
            })?;
        }
    }
    Ok(slots)
}

/// The archives `points` make.
fn archived(points: &BTreeSet<Point>) -> BTreeSet<Archived> {
    let mut slots = BTreeSet::new();
    let keys: BTreeSet<&String> = points.iter().map(|(key, _, _)| key).collect();
    for key in keys {
        let layout = schemas().layout_for(key).unwrap();
        let series = points.iter().filter(|(k, _, _)| k == key).map(|(_, t, v)| (*t, f64::from_bits(*v)));
        for archive in 1..layout.archives.len() {
            for (start, value) in layout.archive_of(archive, series.clone()).unwrap() {
                slots.insert((key.clone(), archive, start, value.to_bits()));
            }
        }
    }
    slots
}

/// The rollups `points` make.
fn rolled(points: &BTreeSet<Point>, steps: &[i64]) -> BTreeSet<Slot> {
    let mut slots = BTreeSet::new();
    let keys: BTreeSet<&String> = points.iter().map(|(key, _, _)| key).collect();
    for key in keys {
        for level in 0..steps.len() {
            let mut roller = Roller::new(&steps[..=level]);
            let mut emit = |start, aggregate: &Aggregate| {
                let (step, start, values) = bits(steps[level], start, aggregate);
                slots.insert((key.clone(), step, start, values));
            };
            for (_, timestamp, value) in points.iter().filter(|(k, _, _)| k == key) {
                roller.push(*timestamp, f64::from_bits(*value), &mut emit);
            }
            roller.flush(&mut emit);
        }
    }
    slots
}

/// Puts four series at `hours` of timestamps starting at `start`, every
/// ten minutes, values tagged with `phase`.
fn put(store: &Store, start: i64, hours: i64, phase: f64) {
    for step in 0..hours * 6 {
        let keys = ["a.cpu", "a.mem", "b.cpu", "b.mem"];
        let batch: Vec<Sample<'_>> = keys
            .iter()
            .enumerate()
            .map(|(i, key)| Sample {
                key,
                timestamp: start + step * 600,
                value: phase + i as f64 + step as f64 / 8.0,
            })
            .collect();
        store.put(&batch).unwrap();
    }
}

/// The folder every case damages: two checkpoints (the older one kept as
/// the fallback), a log after them over several segments, closed without
/// a final checkpoint. Returns every point put, and those in checkpoints.
fn build(dir: &Path) -> (BTreeSet<Point>, BTreeSet<Point>) {
    let store = Store::open(dir, options(RecoveryMode::Strict)).unwrap();
    // Four windows: the first checkpoint moves the older two out of memory,
    // rolled up.
    put(&store, 0, 8, 0.0);
    store.checkpoint().unwrap();
    // New windows and one old window changed: the second checkpoint writes
    // files of its own (the two windows leaving memory again, with their
    // rollups) and keeps one of the first's.
    put(&store, 8 * HOUR, 4, 100.0);
    store.put(&[Sample { key: "a.cpu", timestamp: 5, value: -1.0 }]).unwrap();
    store.checkpoint().unwrap();
    let checkpointed = all(&store);
    put(&store, 12 * HOUR, 6, 200.0);
    let every = all(&store);
    store.close().unwrap();
    (every, checkpointed)
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Target {
    NewestSegment,
    OlderSegment,
    /// Covered by the newest checkpoint, kept for its fallback.
    CoveredSegment,
    NewBlock,
    SharedBlock,
    NewestManifest,
    OlderManifest,
    /// Every manifest's keys; kept twice.
    KeyList,
    KeyListMirror,
}

#[derive(Debug, Clone, Copy)]
enum Damage {
    FlipStart,
    FlipMiddle,
    FlipEnd,
    TruncateToZero,
    TruncateToHeader,
    TruncateToHalf,
    Delete,
    AppendGarbage,
    ZeroTail,
    ChangeLength,
}

fn sorted(dir: &Path, filter: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file() && filter(&path.file_name().unwrap().to_string_lossy()))
        .collect();
    files.sort();
    files
}

fn target_file(dir: &Path, target: Target) -> PathBuf {
    let manifests = sorted(dir, |name| name.starts_with("checkpoint-"));
    let segments = sorted(&dir.join("wal"), |name| name.ends_with(".wal"));
    let newest_generation = manifests.len(); // generations 1 and 2
    let blocks = sorted(&dir.join("blocks"), |name| name.ends_with(".blk"));
    let block_of = |generation: usize| {
        blocks
            .iter()
            .find(|path| path.to_string_lossy().ends_with(&format!("_gen_{generation}.blk")))
            .cloned()
    };
    match target {
        Target::NewestSegment => segments.last().cloned().unwrap(),
        Target::KeyList => dir.join("keys"),
        Target::KeyListMirror => dir.join("keys.mirror"),
        // The first segment the newest checkpoint does not cover, when
        // others follow it.
        Target::OlderSegment => segments[segments.len() - 2].clone(),
        Target::CoveredSegment => segments[0].clone(),
        Target::NewBlock => block_of(newest_generation).unwrap(),
        // A window the second checkpoint did not change: both name it.
        Target::SharedBlock => {
            let window_of = |path: &PathBuf| {
                path.file_name().unwrap().to_string_lossy().split("_gen_").next().unwrap().to_owned()
            };
            let rewritten: BTreeSet<String> = blocks
                .iter()
                .filter(|p| p.to_string_lossy().ends_with("_gen_2.blk"))
                .map(window_of)
                .collect();
            blocks
                .iter()
                .find(|p| p.to_string_lossy().ends_with("_gen_1.blk") && !rewritten.contains(&window_of(p)))
                .cloned()
                .unwrap()
        }
        Target::NewestManifest => manifests.last().cloned().unwrap(),
        Target::OlderManifest => manifests.first().cloned().unwrap(),
    }
}

fn apply(path: &Path, damage: Damage) {
    let mut bytes = std::fs::read(path).unwrap();
    let len = bytes.len();
    match damage {
        Damage::FlipStart => bytes[0] ^= 0x5a,
        Damage::FlipMiddle => bytes[len / 2] ^= 0x5a,
        Damage::FlipEnd => bytes[len - 1] ^= 0x5a,
        Damage::TruncateToZero => bytes.clear(),
        Damage::TruncateToHeader => bytes.truncate(8),
        Damage::TruncateToHalf => bytes.truncate(len / 2),
        Damage::Delete => {
            std::fs::remove_file(path).unwrap();
            return;
        }
        Damage::AppendGarbage => {
            bytes.extend((0..100u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8))
        }
        Damage::ZeroTail => {
            let from = len.saturating_sub(64).max(8);
            bytes[from..].fill(0);
        }
        // The first record's length, right after the 8-byte header.
        Damage::ChangeLength => bytes[8..12].copy_from_slice(&(len as u32 * 3).to_le_bytes()),
    }
    std::fs::write(path, bytes).unwrap();
}

fn files_under(dir: &Path) -> usize {
    match std::fs::read_dir(dir) {
        Err(_) => 0,
        Ok(entries) => entries
            .map(|entry| entry.unwrap().path())
            .map(|path| if path.is_dir() { files_under(&path) } else { 1 })
            .sum(),
    }
}

#[test]
fn every_damage_is_refused_by_name_or_loses_nothing_and_salvage_keeps_it_aside() {
    let pristine = tempfile::tempdir().unwrap();
    let (every, checkpointed) = build(pristine.path());
    let targets = [
        Target::NewestSegment,
        Target::OlderSegment,
        Target::CoveredSegment,
        Target::NewBlock,
        Target::SharedBlock,
        Target::NewestManifest,
        Target::OlderManifest,
        Target::KeyList,
        Target::KeyListMirror,
    ];
    let damages = [
        Damage::FlipStart,
        Damage::FlipMiddle,
        Damage::FlipEnd,
        Damage::TruncateToZero,
        Damage::TruncateToHeader,
        Damage::TruncateToHalf,
        Damage::Delete,
        Damage::AppendGarbage,
        Damage::ZeroTail,
        Damage::ChangeLength,
    ];
    let mut refused = 0;
    let mut table = Vec::new();
    for target in targets {
        for damage in damages {
            let case = tempfile::tempdir().unwrap();
            copy_tree(pristine.path(), case.path());
            let file = target_file(case.path(), target);
            apply(&file, damage);
            let label = format!("{target:?} × {damage:?} ({})", file.display());

            // Strict: a refusal names the file (or, without a manifest, the
            // folder), or every acknowledged point is served. A window on
            // disk is read on demand, so its damage may be found by the
            // read instead of the opening: the read then fails, naming the
            // file.
            let refusal = |error: eardrum_storage::Error, when: &str| {
                let message = error.to_string();
                let named = message.contains(&*file.file_name().unwrap().to_string_lossy())
                    || message.contains(&case.path().display().to_string());
                assert!(named, "{label}: the refusal names no file: {message}");
                format!("refused {when}: {message}")
            };
            let strict = match Store::open(case.path(), options(RecoveryMode::Strict)) {
                Err(error) => {
                    refused += 1;
                    refusal(error, "to open")
                }
                Ok(store) => match try_all(&store) {
                    Err(error) => {
                        refused += 1;
                        refusal(error, "to read")
                    }
                    Ok(points) => {
                        assert_eq!(points, every, "{label}: opened but lost points");
                        // The rollups too: right, or refused by name.
                        let keys = points.iter().map(|(key, _, _)| key.clone()).collect();
                        match try_rollups(&store, &keys) {
                            Err(error) => {
                                refused += 1;
                                refusal(error, "to read rollups")
                            }
                            Ok(slots) => {
                                let expected = rolled(&every, store.rollup_steps());
                                assert_eq!(slots, expected, "{label}: rollups differ from the points");
                                match try_archives(&store, &keys) {
                                    Err(error) => {
                                        refused += 1;
                                        refusal(error, "to read archives")
                                    }
                                    Ok(slots) => {
                                        assert!(
                                            slots == archived(&every),
                                            "{label}: archives differ from the points"
                                        );
                                        "served every point, rollup and archive".to_owned()
                                    }
                                }
                            }
                        }
                    }
                },
            };

            // Salvage: opens, invents nothing, keeps the checkpoints' points
            // unless a block of both checkpoints is damaged, and loses
            // nothing at all when only a checkpoint was damaged and its
            // fallback is whole.
            let store = Store::open(case.path(), options(RecoveryMode::Salvage))
                .unwrap_or_else(|error| panic!("{label}: salvage did not open: {error}"));
            let served = all(&store);
            assert!(served.is_subset(&every), "{label}: salvage served points never put");
            match target {
                Target::NewestSegment | Target::OlderSegment => {
                    assert!(served.is_superset(&checkpointed), "{label}: lost checkpointed points")
                }
                Target::CoveredSegment
                | Target::KeyList
                | Target::KeyListMirror
                | Target::NewBlock
                | Target::NewestManifest
                | Target::OlderManifest => {
                    assert_eq!(served, every, "{label}: the fallback should have lost nothing")
                }
                Target::SharedBlock => {}
            }
            let lost = every.len() - served.len();
            drop(store);
            let aside = files_under(&case.path().join("damaged"));
            if strict.starts_with("refused") && !matches!(damage, Damage::Delete | Damage::TruncateToZero) {
                assert!(aside > 0, "{label}: salvage kept nothing aside");
            }
            // The salvaged folder opens as it is from now on.
            let reopened = Store::open(case.path(), options(RecoveryMode::Strict))
                .unwrap_or_else(|error| panic!("{label}: the salvaged folder does not open: {error}"));
            assert_eq!(all(&reopened), served, "{label}: reopening changed the points");
            table.push(format!(
                "{label}: strict {strict}; salvage lost {lost} of {}, {aside} files aside",
                every.len()
            ));
        }
    }
    for row in &table {
        println!("{row}");
    }
    assert!(refused > 20, "most damage is refused, not shrugged off: {refused}");
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_tree(&path, &target);
        } else if path.file_name().unwrap() != "LOCK" {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

#[test]
fn a_missing_manifest_with_block_files_is_refused_and_nothing_is_deleted() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path());
    for manifest in sorted(dir.path(), |name| name.starts_with("checkpoint-")) {
        std::fs::remove_file(manifest).unwrap();
    }
    let blocks_before = sorted(&dir.path().join("blocks"), |_| true);
    let error = Store::open(dir.path(), options(RecoveryMode::Strict)).unwrap_err();
    assert!(error.to_string().contains("no checkpoint manifest"), "{error}");
    assert_eq!(sorted(&dir.path().join("blocks"), |_| true), blocks_before, "refusing deletes nothing");
    // Salvage starts empty, with every file kept aside.
    let store = Store::open(dir.path(), options(RecoveryMode::Salvage)).unwrap();
    assert!(all(&store).is_empty());
    drop(store);
    assert!(files_under(&dir.path().join("damaged")) >= blocks_before.len());
}

#[test]
fn deleting_only_the_newest_manifest_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (every, _) = build(dir.path());
    let newest = sorted(dir.path(), |name| name.starts_with("checkpoint-")).pop().unwrap();
    std::fs::remove_file(newest).unwrap();
    let store = Store::open(dir.path(), options(RecoveryMode::Strict)).unwrap();
    assert_eq!(all(&store), every);
}
