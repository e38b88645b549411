//! The bodies of eardrum's fuzz targets. Each takes arbitrary bytes and
//! panics when a property fails: no input may make the code under test
//! panic, and what it accepts must round-trip.
//!
//! The cargo-fuzz binaries in `fuzz_targets/` call them (build with the
//! `libfuzzer` feature; on the stable toolchain `cargo fuzz run TARGET
//! --features libfuzzer --sanitizer none`), and `tests/corpus.rs` runs each
//! over its committed corpus in `corpus/TARGET/`, so `cargo test` exercises
//! them too.

mod model;
mod replay;

pub use model::store_model;
pub use replay::log_replay;

use eardrum_protocol::{format_value, next_line, parse_put_line, Reply, Request};
use eardrum_storage::codec::{decode_chunk, encode_chunk};

/// Request framing and parsing: never a panic, and the one-pass put parser
/// agrees with framing plus the general parser on every line it takes.
pub fn request(data: &[u8]) {
    const MAX_LINE: usize = 256;
    let mut rest = data;
    while !rest.is_empty() {
        let fast = parse_put_line(rest, MAX_LINE);
        let Ok(Some((line, used))) = next_line(rest, MAX_LINE) else {
            assert!(fast.is_none(), "parse_put_line took a line next_line does not frame");
            return;
        };
        let parsed = Request::parse(line);
        if let Some((put, fast_used)) = fast {
            assert_eq!(fast_used, used, "line lengths differ");
            let Ok(Some(Request::Put(general))) = parsed else {
                panic!("parse_put_line took {line:?}, which the general parser does not accept as a put");
            };
            assert_eq!((put.key, put.timestamp), (general.key, general.timestamp));
            assert_eq!(put.value.to_bits(), general.value.to_bits());
        }
        if let Ok(Some(Request::Put(put))) = parsed {
            // What the server stores, it answers in Python's repr, which
            // reads back as the same double.
            let mut text = Vec::new();
            format_value(put.value, &mut text);
            let again = eardrum_protocol::parse_value(&text).expect("a formatted value parses");
            assert!(again.to_bits() == put.value.to_bits() || (again.is_nan() && put.value.is_nan()));
        }
        rest = &rest[used..];
    }
}

/// Graphite plaintext lines: never a panic, and a point that parses
/// prints back (name, Python `repr` of the value, whole seconds) to a line
/// that parses to the same point.
pub fn graphite(data: &[u8]) {
    for line in data.split(|&b| b == b'\n') {
        let Ok(Some(point)) = eardrum_protocol::graphite::parse_line(line) else {
            continue;
        };
        let mut again = Vec::new();
        again.extend_from_slice(point.key.as_bytes());
        again.push(b' ');
        format_value(point.value, &mut again);
        again.extend_from_slice(format!(" {}", point.timestamp.unwrap_or(-1)).as_bytes());
        let reparsed = eardrum_protocol::graphite::parse_line(&again)
            .unwrap_or_else(|error| panic!("{:?} does not parse: {error}", String::from_utf8_lossy(&again)))
            .expect("not blank");
        assert_eq!((reparsed.key, reparsed.timestamp), (point.key, point.timestamp));
        assert!(
            reparsed.value.to_bits() == point.value.to_bits()
                || (reparsed.value.is_nan() && point.value.is_nan())
        );
    }
}

/// Graphite name patterns: parsing any text never panics, and the name
/// index finds exactly the untagged keys the pattern matches one by one. The first
/// line of the input is the pattern; the other lines are keys.
pub fn names(data: &[u8]) {
    use eardrum_graphite::pattern::Pattern;
    use eardrum_storage::names::NameIndex;
    let text = String::from_utf8_lossy(data);
    let mut lines = text.lines();
    let Some(Ok(pattern)) = lines.next().map(Pattern::parse) else {
        return;
    };
    let mut index = NameIndex::default();
    let mut keys: Vec<&str> = Vec::new();
    for key in lines.take(64) {
        if !keys.contains(&key) {
            index.add(keys.len() as u32, key);
            keys.push(key);
        }
    }
    // Tagged keys (with a `;`) are found by their tags, never by patterns.
    let matched = |id: &u32| {
        let key = keys[*id as usize];
        !key.contains(';') && pattern.matches(key)
    };
    let expected: Vec<u32> = (0..keys.len() as u32).filter(matched).collect();
    assert_eq!(index.series(&pattern), expected, "the index and one-by-one matching disagree");
}

/// Reply decoding as the client does it: never a panic, and a decoded
/// reply encodes back to bytes that decode to the same reply.
pub fn reply(data: &[u8]) {
    let Ok(Some((reply, used))) = Reply::decode(data) else {
        return;
    };
    assert!(used <= data.len());
    let mut encoded = Vec::new();
    match &reply {
        Reply::Ok(rows) => {
            encoded.extend_from_slice(b"ok\n");
            for row in rows {
                eardrum_protocol::reply::write_row(&mut encoded, &row.key, row.value, row.timestamp);
            }
        }
        Reply::Error(message) => {
            encoded.extend_from_slice(b"error\n");
            encoded.extend_from_slice(message.as_bytes());
            encoded.push(b'\n');
        }
    }
    encoded.push(b'\n');
    let (again, _) = Reply::decode(&encoded).expect("re-encoded reply decodes").expect("complete");
    match (&reply, &again) {
        (Reply::Ok(rows), Reply::Ok(rows_again)) => {
            assert_eq!(rows.len(), rows_again.len());
            for (row, row_again) in rows.iter().zip(rows_again) {
                assert_eq!((&row.key, row.timestamp), (&row_again.key, row_again.timestamp));
                let same = row.value.to_bits() == row_again.value.to_bits()
                    || (row.value.is_nan() && row_again.value.is_nan());
                assert!(same, "{} became {}", row.value, row_again.value);
            }
        }
        (Reply::Error(message), Reply::Error(message_again)) => {
            // A message that is only empty lines reads back shorter; lossy
            // UTF-8 replacement is stable.
            assert_eq!(message.trim_end_matches('\n'), message_again.trim_end_matches('\n'));
        }
        _ => panic!("{reply:?} became {again:?}"),
    }
}

/// The chunk codecs: decoding arbitrary bytes never panics, and points
/// made from the bytes encode and decode to the same bits.
pub fn chunk(data: &[u8]) {
    if let Ok(points) = decode_chunk(data) {
        for point in points {
            if point.is_err() {
                break;
            }
        }
    }
    let mut points: Vec<(i64, f64)> = data
        .chunks_exact(16)
        .map(|field| {
            let (timestamp, value) = field.split_at(8);
            let timestamp = i64::from_le_bytes(timestamp.try_into().unwrap_or_default());
            let value = f64::from_bits(u64::from_le_bytes(value.try_into().unwrap_or_default()));
            (timestamp, value)
        })
        .collect();
    points.sort_by_key(|&(timestamp, _)| timestamp);
    points.dedup_by_key(|&mut (timestamp, _)| timestamp);
    if points.is_empty() {
        return;
    }
    let mut encoded = Vec::new();
    encode_chunk(&points, &mut encoded);
    let decoded: Vec<(i64, u64)> = decode_chunk(&encoded)
        .expect("an encoded chunk's header reads")
        .map(|point| point.map(|(t, v)| (t, v.to_bits())).expect("an encoded chunk decodes"))
        .collect();
    let expected: Vec<(i64, u64)> = points.iter().map(|&(t, v)| (t, v.to_bits())).collect();
    assert_eq!(decoded, expected);
}

/// Render requests, as `/render` receives them (the input is the query
/// string), over a small store of a few dozen series: whatever the targets,
/// patterns and times, the answer is a reply or a 4xx/503, never a panic,
/// and (run with libFuzzer's `-timeout` and `-rss_limit_mb`, as
/// `fuzz/run.sh` does) never slow or large beyond the request budgets.
pub fn render(data: &[u8]) {
    use std::sync::{Arc, OnceLock};
    static STORE: OnceLock<Arc<dyn eardrum_storage::Backend>> = OnceLock::new();
    let store = STORE.get_or_init(|| {
        // Kept for the process's life: the fuzzer calls this millions of times.
        let dir = tempfile::tempdir().expect("a temporary folder").keep();
        let store = eardrum_storage::Store::open(dir, eardrum_storage::Options::default()).expect("a store");
        let keys: Vec<String> = (0..48)
            .map(|i| {
                format!(
                    "{}.{}.{}",
                    ["palm", "oak", "fir"][i % 3],
                    ["cpu", "mem", "disk", "net"][i % 4],
                    i % 5
                )
            })
            .collect();
        for t in 0..120 {
            let samples: Vec<eardrum_storage::Sample<'_>> = keys
                .iter()
                .enumerate()
                .map(|(i, key)| eardrum_storage::Sample {
                    key,
                    timestamp: 1_000_000 + t * 60,
                    value: (i as i64 * t) as f64 / 7.0,
                })
                .collect();
            store.put(&samples).expect("puts");
        }
        Arc::new(store)
    });
    let limits = eardrum_server::HttpLimits {
        max_points_per_request: 200_000,
        max_series_per_request: 1_000,
        max_reply_bytes: 4 * 1024 * 1024,
        ..eardrum_server::HttpLimits::default()
    };
    let query = String::from_utf8_lossy(data);
    match eardrum_server::render_for_fuzzing(Arc::clone(store), limits, &query, 1_000_000 + 120 * 60) {
        Ok(_) => {}
        Err((status, message)) => {
            assert!(matches!(status, 400 | 422 | 503), "status {status} for {query:?}: {message}");
            assert!(message.len() < 100_000, "an error message of {} bytes", message.len());
        }
    }
}
