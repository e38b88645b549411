//! Every fuzz target's body over its committed corpus (`corpus/TARGET/`),
//! so that `cargo test` replays what the fuzzers found interesting, and
//! then over a fixed number of mutations of it: a few seconds of fuzzing
//! without libFuzzer, the same inputs on every run, so a failure repeats.

#![expect(clippy::unwrap_used, reason = "test helpers: a failure is a panic")]

use std::path::Path;

/// Replays the corpus of `target`, then `mutations` inputs derived from it.
fn replay(target: &str, body: fn(&[u8]), mutations: usize) {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus").join(target);
    let mut paths: Vec<_> = std::fs::read_dir(&folder)
        .unwrap_or_else(|error| panic!("reading {}: {error}", folder.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "{} is empty", folder.display());
    let inputs: Vec<Vec<u8>> = paths.iter().map(|path| std::fs::read(path).unwrap()).collect();
    for input in &inputs {
        body(input);
    }
    let mut random = SplitMix(target.len() as u64);
    for round in 0..mutations {
        let mut input = inputs[round % inputs.len()].clone();
        for _ in 0..1 + random.below(4) {
            mutate(&mut input, &inputs, &mut random);
        }
        body(&input);
    }
}

/// One of libFuzzer's simpler mutations: flip a bit, set, insert or erase a
/// byte, copy a piece within, cut the end, or splice in another input.
fn mutate(input: &mut Vec<u8>, corpus: &[Vec<u8>], random: &mut SplitMix) {
    let len = input.len() as u64;
    let at = |random: &mut SplitMix| random.below(len.max(1)) as usize;
    match random.below(7) {
        0 if len > 0 => {
            let i = at(random);
            input[i] ^= 1 << random.below(8);
        }
        1 if len > 0 => {
            let i = at(random);
            input[i] = random.below(256) as u8;
        }
        2 => {
            let i = random.below(len + 1) as usize;
            input.insert(i, [b' ', b'\n', b'0', b'9', b'.', b'-', 0, 0xff][random.below(8) as usize]);
        }
        3 if len > 0 => {
            input.remove(at(random));
        }
        4 if len > 1 => {
            let (from, to) = (at(random), at(random));
            let piece: Vec<u8> =
                input[from..(from + 1 + random.below(16) as usize).min(input.len())].to_vec();
            input.splice(to..to, piece);
        }
        5 if len > 0 => input.truncate(at(random)),
        _ => {
            let other = &corpus[random.below(corpus.len() as u64) as usize];
            let from = random.below(other.len() as u64 + 1) as usize;
            input.extend_from_slice(&other[from..]);
        }
    }
}

/// A small deterministic generator.
struct SplitMix(u64);

impl SplitMix {
    fn below(&mut self, bound: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % bound
    }
}

#[test]
fn request() {
    replay("request", eardrum_fuzz::request, 50_000);
}

#[test]
fn graphite() {
    replay("graphite", eardrum_fuzz::graphite, 50_000);
}

#[test]
fn names() {
    replay("names", eardrum_fuzz::names, 20_000);
}

#[test]
fn render() {
    replay("render", eardrum_fuzz::render, 5_000);
}

#[test]
fn reply() {
    replay("reply", eardrum_fuzz::reply, 50_000);
}

#[test]
fn chunk() {
    replay("chunk", eardrum_fuzz::chunk, 50_000);
}

#[test]
fn log_replay() {
    replay("log_replay", eardrum_fuzz::log_replay, 1_000);
}

#[test]
fn store_model() {
    replay("store_model", eardrum_fuzz::store_model, 1_000);
}
