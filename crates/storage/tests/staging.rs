//! Staging and committing: batches staged by several callers are invisible
//! until one commit writes them all in one log record, in staging order.

use eardrum_storage::{Keys, Options, Outcome, Sample, Store};

fn points(store: &Store, key: &str) -> Vec<(i64, f64)> {
    let mut points = Vec::new();
    store
        .scan(Keys::One(key), |_, timestamp, value| points.push((timestamp, value)))
        .expect("reading the store");
    points
}

fn sample(key: &str, timestamp: i64, value: f64) -> Sample<'_> {
    Sample { key, timestamp, value }
}

#[test]
fn staged_batches_are_invisible_until_committed_then_applied_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), Options::default()).unwrap();
    let first = store.stage(&[sample("a", 1, 1.0), sample("new", 5, 5.0)]);
    let second = store.stage(&[sample("a", 1, 2.0), sample("a", 2, 3.0)]);
    assert_eq!(store.outcome(&first), Outcome::Pending);
    assert_eq!(points(&store, "a"), []);
    assert_eq!(points(&store, "new"), []);
    assert_eq!(store.stats().series, 0, "staged keys are not series yet");
    let mut keys = Vec::new();
    store.scan(Keys::All, |key, _, _| keys.push(key.to_owned())).expect("reading the store");
    assert!(keys.is_empty());

    store.commit().unwrap();
    assert_eq!((store.outcome(&first), store.outcome(&second)), (Outcome::Stored, Outcome::Stored));
    assert_eq!(points(&store, "a"), [(1, 2.0), (2, 3.0)], "the later batch wins");
    assert_eq!(points(&store, "new"), [(5, 5.0)]);
    store.close().unwrap();

    let reopened = Store::open(dir.path(), Options::default()).unwrap();
    assert_eq!(points(&reopened, "a"), [(1, 2.0), (2, 3.0)]);
    assert_eq!(points(&reopened, "new"), [(5, 5.0)]);
}

#[test]
fn one_commit_writes_one_record_for_every_staged_batch() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), Options::default()).unwrap();
    store.put(&[sample("a", 0, 1.0)]).unwrap();
    let before = store.stats().log_bytes_written;
    store.put(&[sample("a", 1, 1.0)]).unwrap();
    store.put(&[sample("a", 2, 1.0)]).unwrap();
    let two_records = store.stats().log_bytes_written - before;
    let _ = store.stage(&[sample("a", 3, 1.0)]);
    let _ = store.stage(&[sample("a", 4, 1.0)]);
    store.commit().unwrap();
    let one_record = store.stats().log_bytes_written - before - two_records;
    // The same entries, one frame (length and checksum, 8 bytes) fewer.
    assert_eq!(one_record + 8, two_records);
    store.commit().unwrap();
    assert_eq!(store.stats().log_bytes_written - before, two_records + one_record, "nothing staged");
}

fn keys(store: &Store) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    store
        .scan(Keys::All, |key, _, _| {
            if keys.last().is_none_or(|last| last != key) {
                keys.push(key.to_owned());
            }
        })
        .expect("reading the store");
    keys
}

#[test]
fn new_keys_beyond_the_series_limit_are_refused_and_existing_keys_keep_working() {
    let dir = tempfile::tempdir().unwrap();
    let limited = |max_series| Options { max_series: Some(max_series), ..Options::default() };
    let store = Store::open(dir.path(), limited(2)).unwrap();
    store.put(&[sample("a", 1, 1.0), sample("b", 1, 1.0)]).unwrap();

    let staged =
        store.stage(&[sample("a", 2, 2.0), sample("c", 2, 2.0), sample("b", 2, 2.0), sample("d", 2, 2.0)]);
    assert_eq!(staged.refused(), [1, 3]);
    store.commit().unwrap();
    assert_eq!(store.outcome(&staged), Outcome::Stored, "the batch's other samples are stored");
    let error = store.put(&[sample("e", 3, 3.0), sample("a", 3, 3.0)]).unwrap_err();
    assert!(matches!(error, eardrum_storage::Error::SeriesLimit { refused: 1, limit: 2 }), "{error}");

    // A batch with nothing left to store still gets its outcome.
    let all_refused = store.stage(&[sample("f", 4, 4.0)]);
    store.commit().unwrap();
    assert_eq!((store.outcome(&all_refused), all_refused.refused()), (Outcome::Stored, &[0][..]));

    assert_eq!(keys(&store), ["a", "b"]);
    assert_eq!(points(&store, "a"), [(1, 1.0), (2, 2.0), (3, 3.0)]);
    assert_eq!(points(&store, "b"), [(1, 1.0), (2, 2.0)]);
    store.close().unwrap();

    // Series already stored are kept past a lowered limit, and take points.
    let store = Store::open(dir.path(), limited(1)).unwrap();
    assert_eq!(keys(&store), ["a", "b"], "refused keys never reached the log");
    store.put(&[sample("b", 5, 5.0)]).unwrap();
    assert!(store.put(&[sample("g", 5, 5.0)]).is_err());
    assert_eq!(points(&store, "b"), [(1, 1.0), (2, 2.0), (5, 5.0)]);
}

#[test]
fn a_name_index_catches_up_with_the_stores_keys_in_batches() {
    use eardrum_graphite::pattern::Pattern;
    use eardrum_storage::names::NameIndex;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), Options::default()).unwrap();
    let keys: Vec<String> = (0..10_000).map(|i| format!("host{}.cpu{}", i / 10, i % 10)).collect();
    let samples: Vec<Sample<'_>> = keys.iter().map(|key| sample(key, 1, 1.0)).collect();
    store.put(&samples).unwrap();
    let mut index = NameIndex::default();
    index.catch_up(&store).unwrap();
    assert_eq!(index.len(), 10_000);
    assert_eq!(index.series(&Pattern::parse("host99{7,8}.cpu[0-1]").unwrap()), [9970, 9971, 9980, 9981]);
    store.put(&[sample("late.key", 2, 2.0)]).unwrap();
    index.catch_up(&store).unwrap();
    assert_eq!(index.series(&Pattern::parse("late.*").unwrap()), [10_000]);
}

#[test]
fn a_scan_starting_at_a_time_sees_exactly_the_points_from_then_on() {
    use eardrum_storage::ScanCursor;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), Options::default()).unwrap();
    // Several sealed chunks, a head, and late points in an overlay.
    for timestamp in (0..2_000).step_by(2) {
        store.put(&[sample("s", timestamp, timestamp as f64)]).unwrap();
    }
    for timestamp in [501, 777, 1_999, 3] {
        store.put(&[sample("s", timestamp, -1.0)]).unwrap();
    }
    let all = points(&store, "s");
    for from in [i64::MIN, 0, 1, 500, 501, 502, 1_500, 1_999, 5_000] {
        let mut cursor = ScanCursor::starting_at(from);
        let mut seen = Vec::new();
        while !cursor.is_done() {
            store
                .scan_some(Keys::One("s"), &mut cursor, 100, |_, t, v| seen.push((t, v)))
                .expect("reading the store");
        }
        let expected: Vec<(i64, f64)> = all.iter().copied().filter(|&(t, _)| t >= from).collect();
        assert_eq!(seen, expected, "from {from}");
    }
}
