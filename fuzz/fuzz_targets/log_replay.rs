//! `cargo fuzz run log_replay --features libfuzzer --sanitizer none`: see `eardrum_fuzz::log_replay`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| eardrum_fuzz::log_replay(data));
