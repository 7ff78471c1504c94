//! Fuzz target `profiles_csv`: arbitrary bytes into `tests/util/fuzz.rs::profiles_csv`, which must answer
//! without a panic. Run with `cargo fuzz run profiles_csv` (see README, "Fuzzing").
#![no_main]

#[path = "../../tests/util/fuzz.rs"]
mod glue;

libfuzzer_sys::fuzz_target!(|data: &[u8]| glue::profiles_csv(data));
