//! Snapshots (insta), each read line by line when accepted:
//! 1. `explain` of a two-way pair on the real example set (terms, rules, rank, sentence);
//! 2. the manifest of the golden run, with what varies between runs redacted (times,
//!    memory, paths and the digest of the centroids file, which names the input's path,
//!    commit);
//! 3. the reason sentences of the example set, one row for each (modality, direction) that
//!    occurs, so every kind of sentence is read.

mod util;

use std::collections::BTreeMap;

use util::{code, repo, stderr, Csv, Dir};

fn run_examples(dir: &Dir) {
    let profiles = repo("data/examples/profiles.csv");
    let output = dir.run(&["run", "--profiles", profiles.to_str().unwrap(), "--out", "out", "-q"]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
}

#[test]
fn explanation_of_a_two_way_pair() {
    let dir = Dir::new();
    let profiles = repo("data/examples/profiles.csv");
    let output = dir.run(&["explain", "fenamutra", "coopfenamutra", "--profiles", profiles.to_str().unwrap()]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    insta::assert_snapshot!(String::from_utf8(output.stdout).unwrap());
}

#[test]
fn manifest_of_the_golden_run() {
    let dir = Dir::new();
    let profiles = repo("tests/data/golden/profiles.csv");
    let output = dir.run(&["run", "--profiles", profiles.to_str().unwrap(), "--out", "out", "--top-k", "3", "-q"]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.path("out/manifest.json")).unwrap()).unwrap();
    insta::assert_json_snapshot!(manifest, {
        ".started_at" => "[time]",
        ".finished_at" => "[time]",
        ".git_commit" => "[commit]",
        ".timings[].seconds" => "[seconds]",
        ".peak_rss_mb" => "[memory]",
        ".input.path" => "[path]",
        ".model.fitted_on.source" => "[path]",
        ".outputs[\"centroids.json\"]" => "[digest of a file naming the path]",
        ".config.matching.profiles" => "[path]",
        ".config.threads" => "[threads]",
        ".config.settings.profiles" => "[path]",
    });
}

#[test]
fn reason_sentences_of_every_kind() {
    let dir = Dir::new();
    run_examples(&dir);
    let shortlist = Csv::read(&dir.path("out/shortlist.csv"));
    let mut first: BTreeMap<(String, String), usize> = BTreeMap::new();
    for row in 0..shortlist.len() {
        first.entry((shortlist.get(row, "modality"), shortlist.get(row, "direction"))).or_insert(row);
    }
    let sentences: Vec<String> = first
        .iter()
        .map(|((modality, direction), &row)| {
            format!("[{modality}, {direction}] {} → {}: {}", shortlist.get(row, "partner_id"), shortlist.get(row, "candidate_id"), shortlist.get(row, "reason"))
        })
        .collect();
    insta::assert_snapshot!(sentences.join("\n"));
}
