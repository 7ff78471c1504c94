//! Properties that hold for any input:
//! 1. the outputs are byte-identical for `--threads 1` and `--threads 2`, and for the same
//!    input with its rows shuffled;
//! 2. every score equals the sum of its `term_*` columns (1e-6);
//! 3. every term is symmetric: terms(i, j) == terms(j, i) bit for bit;
//! 4. the ranked lists equal a sort-everything oracle (proptest over generated populations);
//! 5. the pruned scoring of the ranking loop is exact, and skips only pairs below the floor.

mod util;

use proptest::prelude::*;
use rand::seq::SliceRandom;
use rand::SeedableRng;

use sstc_match::cli::GenerateArgs;
use sstc_match::config::weights::default_weights;
use sstc_match::features::{FeatureSettings, PartnerFeatures};
use sstc_match::ingest::ingest;
use sstc_match::rank::{self, top_k::ranking_order, Hit};
use sstc_match::reference::Reference;
use sstc_match::rules::RuleSet;
use sstc_match::score::{Scorer, Weights, TERM_COUNT};
use sstc_match::table::TableSource;
use sstc_match::{generate, PartnerIdx};
use util::{code, stderr, Csv, Dir};

use sstc_match::config::default_score_settings as settings;

fn generated(dir: &Dir, n: usize, seed: u64) -> std::path::PathBuf {
    let out = dir.path(&format!("g{n}-{seed}.csv"));
    generate::write(&GenerateArgs {
        n,
        seed,
        out: out.clone(),
        with_seed_countries: false,
    })
    .expect("generated");
    out
}

fn run_job(dir: &Dir, profiles: &str, out: &str, threads: &str) {
    let output = dir.run(&[
        "run", "--profiles", profiles, "--out", out, "--model-dir", out, "--threads", threads, "-q",
    ]);
    assert!(code(&output) <= 1, "{}", stderr(&output));
}

fn same_files(dir: &Dir, a: &str, b: &str) {
    for file in ["shortlist.csv", "shortlist.parquet", "clusters.csv", "rejects.csv"] {
        let left = std::fs::read(dir.path(a).join(file)).unwrap();
        let right = std::fs::read(dir.path(b).join(file)).unwrap();
        assert!(left == right, "{file} differs between {a} and {b}");
    }
}

#[test]
fn outputs_are_identical_across_thread_counts_and_row_order() {
    let dir = Dir::new();
    let input = generated(&dir, 700, 3);
    run_job(&dir, input.to_str().unwrap(), "t1", "1");
    run_job(&dir, input.to_str().unwrap(), "t2", "2");
    same_files(&dir, "t1", "t2");

    let text = std::fs::read_to_string(&input).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    let header = lines.remove(0);
    lines.shuffle(&mut rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(11));
    let shuffled = dir.write("shuffled.csv", &format!("{header}\n{}\n", lines.join("\n")));
    run_job(&dir, shuffled.to_str().unwrap(), "shuffled", "2");
    same_files(&dir, "t1", "shuffled");
}

#[test]
fn every_score_is_the_sum_of_its_terms() {
    let dir = Dir::new();
    let input = generated(&dir, 400, 4);
    run_job(&dir, input.to_str().unwrap(), "out", "2");
    let shortlist = Csv::read(&dir.path("out/shortlist.csv"));
    let terms: Vec<String> = shortlist
        .table
        .column_names()
        .iter()
        .filter(|c| c.starts_with("term_"))
        .cloned()
        .collect();
    assert_eq!(terms.len(), TERM_COUNT);
    assert!(shortlist.len() > 3000);
    for row in 0..shortlist.len() {
        let score: f64 = shortlist.get(row, "score").parse().unwrap();
        let sum: f64 = terms.iter().map(|t| shortlist.get(row, t).parse::<f64>().unwrap()).sum();
        assert!((score - sum).abs() <= 1e-6, "row {row}: score {score} vs sum {sum}");
    }
}

fn features_of(dir: &Dir, n: usize, seed: u64) -> PartnerFeatures {
    let input = generated(dir, n, seed);
    let ingested = ingest(&TableSource::File(input), Reference::builtin()).unwrap();
    PartnerFeatures::build(&ingested.profiles, Reference::builtin(), &FeatureSettings { rarity: 1.0, ..FeatureSettings::default() })
}

#[test]
fn every_term_is_symmetric() {
    let dir = Dir::new();
    let features = features_of(&dir, 300, 6);
    let scorer = Scorer::new(&features, &Reference::builtin().actor_compatibility, settings(default_weights()));
    let n = features.len() as PartnerIdx;
    for i in 0..n {
        for j in (0..n).step_by(7) {
            assert_eq!(scorer.terms(i, j), scorer.terms(j, i), "pair ({i}, {j})");
        }
    }
}

#[test]
fn pruned_scoring_is_exact_and_skips_only_hopeless_pairs() {
    let dir = Dir::new();
    let features = features_of(&dir, 300, 8);
    let scorer = Scorer::new(&features, &Reference::builtin().actor_compatibility, settings(default_weights()));
    let n = features.len() as PartnerIdx;
    let (mut kept, mut skipped) = (0, 0);
    for i in (0..n).step_by(5) {
        for j in 0..n {
            let exact = scorer.score(i, j);
            assert_eq!(scorer.score_reaching(i, j, None), Some(exact));
            for floor in [0.2f32, 0.4, 0.6] {
                match scorer.score_reaching(i, j, Some(floor)) {
                    Some(s) => {
                        assert_eq!(s.to_bits(), exact.to_bits(), "same bits as score()");
                        kept += 1;
                    }
                    None => {
                        assert!(exact < floor, "({i}, {j}) skipped with {exact} ≥ {floor}");
                        skipped += 1;
                    }
                }
            }
        }
    }
    assert!(kept > 0 && skipped > 0, "both branches exercised: {kept} kept, {skipped} skipped");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn ranked_lists_equal_a_sort_everything_oracle(
        seed in 0u64..1000,
        n in 2usize..120,
        k in 1usize..15,
        weights in prop::array::uniform7(0.0f32..1.0),
    ) {
        prop_assume!(weights.iter().any(|&w| w > 0.0));
        let dir = Dir::new();
        let features = features_of(&dir, n, seed);
        let scorer = Scorer::new(&features, &Reference::builtin().actor_compatibility, settings(Weights(weights)));
        let rules = RuleSet::new(&[], None, None);
        let partners: Vec<PartnerIdx> = (0..features.len() as PartnerIdx).collect();
        let (lists, _) = rank::shortlists(&scorer, &rules, &partners, k, &|_| {});
        for list in lists {
            let mut oracle: Vec<Hit> = (0..features.len() as PartnerIdx)
                .filter(|&c| rules.first_refusal(&features, list.partner, c).is_none())
                .map(|c| Hit { candidate: c, score: scorer.score(list.partner, c) })
                .collect();
            oracle.sort_by(ranking_order);
            oracle.truncate(k);
            prop_assert_eq!(list.hits, oracle);
        }
    }
}
