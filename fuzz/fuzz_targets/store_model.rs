//! `cargo fuzz run store_model --features libfuzzer --sanitizer none`: see `eardrum_fuzz::store_model`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| eardrum_fuzz::store_model(data));
