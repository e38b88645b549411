//! Every fuzz target's body over its committed corpus (`corpus/TARGET/`),
//! so that `cargo test` replays what the fuzzers found interesting.

use std::path::Path;

fn replay(target: &str, body: fn(&[u8])) {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus").join(target);
    let mut inputs: Vec<_> = std::fs::read_dir(&folder)
        .unwrap_or_else(|error| panic!("reading {}: {error}", folder.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    inputs.sort();
    assert!(!inputs.is_empty(), "{} is empty", folder.display());
    for input in inputs {
        let bytes = std::fs::read(&input).unwrap();
        body(&bytes);
    }
}

#[test]
fn request() {
    replay("request", eardrum_fuzz::request);
}

#[test]
fn reply() {
    replay("reply", eardrum_fuzz::reply);
}

#[test]
fn chunk() {
    replay("chunk", eardrum_fuzz::chunk);
}

#[test]
fn log_replay() {
    replay("log_replay", eardrum_fuzz::log_replay);
}

#[test]
fn store_model() {
    replay("store_model", eardrum_fuzz::store_model);
}
