//! `cargo fuzz run render --features libfuzzer --sanitizer none`: see `eardrum_fuzz::render`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| eardrum_fuzz::render(data));
