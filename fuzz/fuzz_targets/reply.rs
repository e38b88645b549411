//! `cargo fuzz run reply --features libfuzzer --sanitizer none`: see `eardrum_fuzz::reply`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| eardrum_fuzz::reply(data));
