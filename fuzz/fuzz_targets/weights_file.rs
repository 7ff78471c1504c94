//! Fuzz target `weights_file`: arbitrary bytes into `tests/util/fuzz.rs::weights_file`, which must answer
//! without a panic. Run with `cargo fuzz run weights_file` (see README, "Fuzzing").
#![no_main]

#[path = "../../tests/util/fuzz.rs"]
mod glue;

libfuzzer_sys::fuzz_target!(|data: &[u8]| glue::weights_file(data));
