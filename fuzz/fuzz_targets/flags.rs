//! Fuzz target `flags`: arbitrary bytes into `tests/util/fuzz.rs::flags`, which must answer
//! without a panic. Run with `cargo fuzz run flags` (see README, "Fuzzing").
#![no_main]

#[path = "../../tests/util/fuzz.rs"]
mod glue;

libfuzzer_sys::fuzz_target!(|data: &[u8]| glue::flags(data));
