//! Fuzz target `settings_tables`: arbitrary bytes into `tests/util/fuzz.rs::settings_tables`, which must answer
//! without a panic. Run with `cargo fuzz run settings_tables` (see README, "Fuzzing").
#![no_main]

#[path = "../../tests/util/fuzz.rs"]
mod glue;

libfuzzer_sys::fuzz_target!(|data: &[u8]| glue::settings_tables(data));
