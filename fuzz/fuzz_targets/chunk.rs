//! `cargo fuzz run chunk --features libfuzzer --sanitizer none`: see `eardrum_fuzz::chunk`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| eardrum_fuzz::chunk(data));
