//! `cargo fuzz run graphite --features libfuzzer --sanitizer none`: see `eardrum_fuzz::graphite`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| eardrum_fuzz::graphite(data));
