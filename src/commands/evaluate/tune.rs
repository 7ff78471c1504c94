//! Tune: search term weights that recover known partnerships best, honestly.
//!
//! Input: profiles, matching settings and known partnerships. Output: the chosen weights,
//! saved as a weights file that `run --weights` takes as is, and a report: the metric per
//! fold, the chosen weights, and how much better they are than the defaults **out of fold**.
//!
//! Method: seeded random search. Candidate weightings are the defaults plus `--trials` draws
//! from a flat Dirichlet over the terms. The known pairs are shuffled (seeded) into `--folds`
//! folds; for each fold the weighting best on the other folds' pairs is scored on the
//! held-out pairs, next to the defaults on the same held-out pairs. The saved weighting is
//! the one best on all pairs. Lists never depend on the known pairs (they are positives
//! only), so each weighting's lists are computed once ([`RawTable`]).

use std::fmt::Write;
use std::path::PathBuf;

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

use super::metrics::{accuracy, Accuracy, Lists};
use super::raw::RawTable;
use super::{Known, KnownPair};
use crate::cli::TuneArgs;
use crate::config::weights::to_map;
use crate::config::MatchConfig;
use crate::error::Error;
use crate::io::atomic::write_file_atomic;
use crate::engine::Engine;
use crate::telemetry::StageClock;
use crate::engine::score::{Term, Weights, TERM_COUNT};
use crate::telemetry::Progress;
use crate::PartnerIdx;

/// The metric a tuning maximises.
pub fn metric_of(name: &str, a: &Accuracy) -> f64 {
    match name {
        "precision" => a.precision,
        "recall" => a.recall,
        "mrr" => a.mrr,
        "map" => a.map,
        "hit_rate" => a.hit_rate,
        _ => a.ndcg,
    }
}

fn score(lists: &Lists, pairs: &[&KnownPair], k: usize, metric: &str) -> f64 {
    let known = Known {
        pairs: pairs.iter().map(|p| (*p).clone()).collect(),
        unknown_rows: Vec::new(),
    };
    let relevant = known.relevant();
    metric_of(metric, &accuracy(lists, &relevant, k, relevant.keys()))
}

/// A draw from the flat Dirichlet over the terms (normalised exponentials).
fn random_weights(rng: &mut impl Rng) -> Weights {
    let mut w = [0.0f32; TERM_COUNT];
    for slot in &mut w {
        *slot = -(1.0 - rng.gen::<f32>()).ln();
    }
    let total: f32 = w.iter().sum();
    Weights(w.map(|x| (x / total * 1000.0).round() / 1000.0))
}

/// Runs `tune`; returns the report and writes the weights file.
pub fn run(args: &TuneArgs) -> Result<String, Error> {
    let matching = MatchConfig::resolve(&args.matching)?;
    let engine = Engine::prepare(&matching, &mut StageClock::default(), Progress::hidden())?;
    let profiles = engine.profiles();
    let index = |id: &str| profiles.binary_search_by(|p| p.id.as_str().cmp(id)).ok();
    let known = Known::load(&args.known, &|id| index(id).is_some())?;
    let mut queries: Vec<PartnerIdx> = known
        .pairs
        .iter()
        .flat_map(|p| [&p.source, &p.target])
        .filter_map(|id| index(id))
        .filter(|&i| profiles[i].active)
        .map(|i| i as PartnerIdx)
        .collect();
    queries.sort_unstable();
    queries.dedup();
    let table = RawTable::build(&engine, &queries);

    let mut rng = Xoshiro256PlusPlus::seed_from_u64(args.seed);
    let defaults = matching.score.weights;
    let mut candidates = vec![defaults];
    candidates.extend((0..args.trials).map(|_| random_weights(&mut rng)));
    let lists: Vec<Lists> = candidates.iter().map(|w| table.lists(w, args.k, profiles)).collect();

    let mut pairs: Vec<&KnownPair> = known.pairs.iter().collect();
    pairs.shuffle(&mut rng);
    let folds = args.folds.clamp(2, pairs.len().max(2));
    let mut out = String::new();
    let metric = format!("{}@{}", args.metric, args.k);
    let _ = writeln!(
        out,
        "{} known partnerships, {} folds, {} random weightings + the defaults, maximising {metric}\n",
        pairs.len(),
        folds,
        args.trials
    );
    let _ = writeln!(out, "| fold | held-out pairs | tuned (out of fold) | defaults (same pairs) | gain |\n|---|---|---|---|---|");
    let (mut tuned_sum, mut default_sum) = (0.0, 0.0);
    for fold in 0..folds {
        let in_fold = |i: usize| i % folds == fold;
        let held: Vec<&KnownPair> = pairs.iter().enumerate().filter(|(i, _)| in_fold(*i)).map(|(_, p)| *p).collect();
        let train: Vec<&KnownPair> = pairs.iter().enumerate().filter(|(i, _)| !in_fold(*i)).map(|(_, p)| *p).collect();
        let best = (0..candidates.len())
            .max_by(|&a, &b| {
                score(&lists[a], &train, args.k, &args.metric)
                    .total_cmp(&score(&lists[b], &train, args.k, &args.metric))
                    .then(b.cmp(&a))
            })
            .expect("candidates");
        let tuned = score(&lists[best], &held, args.k, &args.metric);
        let default = score(&lists[0], &held, args.k, &args.metric);
        tuned_sum += tuned;
        default_sum += default;
        let _ = writeln!(out, "| {} | {} | {tuned:.3} | {default:.3} | {:+.3} |", fold + 1, held.len(), tuned - default);
    }
    let (tuned_mean, default_mean) = (tuned_sum / folds as f64, default_sum / folds as f64);
    let _ = writeln!(out, "| mean | | {tuned_mean:.3} | {default_mean:.3} | {:+.3} |", tuned_mean - default_mean);

    let all: Vec<&KnownPair> = known.pairs.iter().collect();
    let chosen = (0..candidates.len())
        .max_by(|&a, &b| {
            score(&lists[a], &all, args.k, &args.metric)
                .total_cmp(&score(&lists[b], &all, args.k, &args.metric))
                .then(b.cmp(&a))
        })
        .expect("candidates");
    let weights = candidates[chosen];
    let _ = writeln!(
        out,
        "\nChosen weights ({metric} on all pairs {:.3}, defaults {:.3}):",
        score(&lists[chosen], &all, args.k, &args.metric),
        score(&lists[0], &all, args.k, &args.metric)
    );
    for term in Term::ALL {
        let _ = writeln!(out, "  {:<16} {:.3}  (default {:.3})", term.name(), weights.0[term as usize], defaults.0[term as usize]);
    }
    let path = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("models/weights-{}.toml", args.name)));
    let mut file = format!(
        "# sstc-match weights tuned by `sstc-match tune` for {metric}: {} folds, {} random weightings, seed {}.\n\
         # Out of fold: tuned {tuned_mean:.3} vs defaults {default_mean:.3}. Use with: sstc-match run --weights {}\n[weights]\n",
        folds,
        args.trials,
        args.seed,
        path.display()
    );
    for (name, value) in to_map(&weights) {
        let _ = writeln!(file, "{name} = {value}");
    }
    write_file_atomic(&path, file.as_bytes())?;
    let _ = writeln!(out, "\nwritten to {}", path.display());
    Ok(out)
}
