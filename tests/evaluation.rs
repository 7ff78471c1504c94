//! Evaluation on the shipped real example set: the engine with default weights beats the
//! cosine baseline on recall@10 and MRR, with exactly the figures the README reports; rows
//! naming a missing partner are counted and reported, never silently dropped.

mod util;

use util::{code, repo, stderr, Dir};

#[test]
fn default_weights_beat_the_cosine_baseline_as_the_readme_says() {
    let dir = Dir::new();
    let profiles = repo("data/examples/profiles.csv");
    let known = repo("data/examples/known_partnerships.csv");
    let output = dir.run(&[
        "evaluate",
        "--profiles",
        profiles.to_str().unwrap(),
        "--known",
        known.to_str().unwrap(),
    ]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let report = String::from_utf8(output.stdout).unwrap();
    let engine = "| engine (this weighting and rules) | 0.521 | 0.305 |";
    let baseline = "| baseline: cosine of all features | 0.408 | 0.166 |";
    assert!(report.contains("82 partners, 71 known partnerships, 142 queries"), "{report}");
    assert!(report.contains(engine) && report.contains(baseline), "{report}");
    let readme = std::fs::read_to_string(repo("README.md")).unwrap();
    assert!(readme.contains(engine) && readme.contains(baseline), "README table is stale:\n{report}");
}

#[test]
fn known_rows_naming_missing_partners_are_reported() {
    let dir = Dir::new();
    let known = dir.write("known.csv", "source_id,target_id\nilo,uclg\nilo,nobody\n");
    let profiles = repo("data/examples/profiles.csv");
    let output = dir.run(&[
        "evaluate",
        "--profiles",
        profiles.to_str().unwrap(),
        "--known",
        known.to_str().unwrap(),
    ]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let report = String::from_utf8(output.stdout).unwrap();
    assert!(report.contains("1 known partnerships, 2 queries"), "{report}");
    assert!(report.contains("warning: 1 known-partnership rows name a partner that is not among the valid profiles (rows [2])"), "{report}");
}
