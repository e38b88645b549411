//! `cargo fuzz run request --features libfuzzer --sanitizer none`: see `eardrum_fuzz::request`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| eardrum_fuzz::request(data));
