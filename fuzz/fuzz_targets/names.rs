//! `cargo fuzz run names --features libfuzzer --sanitizer none`: see `eardrum_fuzz::names`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| eardrum_fuzz::names(data));
