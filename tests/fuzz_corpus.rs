//! The fuzz corpus replayed: every file under `fuzz/corpus/<target>/` (seeds, and every
//! input a fuzzing run found to crash, kept as a regression) goes through its target in
//! `tests/util/fuzz.rs`, the same code the fuzzer drives; none may panic.

mod util;

use util::fuzz::TARGETS;

#[test]
fn every_corpus_input_is_answered_without_a_panic() {
    let root = util::repo("fuzz/corpus");
    let mut replayed = 0;
    for (name, target) in TARGETS {
        let dir = root.join(name);
        let files: Vec<_> = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())).map(|e| e.unwrap().path()).collect();
        assert!(!files.is_empty(), "{name} has a corpus");
        for file in files {
            let bytes = std::fs::read(&file).unwrap();
            let outcome = std::panic::catch_unwind(|| target(&bytes));
            assert!(outcome.is_ok(), "{name} panicked on {}", file.display());
            replayed += 1;
        }
    }
    assert!(replayed >= TARGETS.len());
}
