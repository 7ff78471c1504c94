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
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

use super::metrics::{accuracy, Lists, Metric};
use super::raw::RawTable;
use super::{Known, KnownPair};
use crate::config::weights::to_map;
use crate::config::TuneConfig;
use crate::engine::score::{Term, Weights, TERM_COUNT};
use crate::engine::Engine;
use crate::error::Error;
use crate::io::atomic::write_file_atomic;
use crate::telemetry::{Progress, StageClock};
use crate::PartnerIdx;

fn score(lists: &Lists, pairs: &[&KnownPair], k: usize, metric: Metric) -> f64 {
    let known = Known {
        pairs: pairs.iter().map(|p| (*p).clone()).collect(),
        unknown_rows: Vec::new(),
    };
    let relevant = known.relevant();
    metric.of(&accuracy(lists, &relevant, k, relevant.keys()))
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
pub fn run(config: &TuneConfig) -> Result<String, Error> {
    let engine = Engine::prepare(&config.matching, &mut StageClock::default(), Progress::hidden())?;
    let profiles = engine.profiles();
    let known = Known::load(&config.known, &|id| engine.index_of(id).is_some())?;
    if known.pairs.is_empty() {
        return Err(Error::NothingToTune { file: config.known.display().to_string() });
    }
    let mut queries: Vec<PartnerIdx> = known
        .pairs
        .iter()
        .flat_map(|p| [&p.source, &p.target])
        .filter_map(|id| engine.index_of(id))
        .filter(|&i| profiles[i as usize].active)
        .collect();
    queries.sort_unstable();
    queries.dedup();
    let table = RawTable::build(&engine, &queries);

    let (k, metric) = (config.k, config.metric);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(config.seed);
    let defaults = config.matching.weights;
    let mut candidates = vec![defaults];
    candidates.extend((0..config.trials).map(|_| random_weights(&mut rng)));
    let lists: Vec<Lists> = candidates.iter().map(|w| table.lists(w, k, profiles)).collect();
    // The weighting best on `pairs` (ties: the earlier, so the defaults win a tie).
    let best = |pairs: &[&KnownPair]| {
        (0..candidates.len())
            .max_by(|&a, &b| score(&lists[a], pairs, k, metric).total_cmp(&score(&lists[b], pairs, k, metric)).then(b.cmp(&a)))
            .expect("the defaults are a candidate")
    };

    let mut pairs: Vec<&KnownPair> = known.pairs.iter().collect();
    pairs.shuffle(&mut rng);
    let folds = config.folds.min(pairs.len().max(2));
    let mut out = String::new();
    let label = format!("{}@{k}", metric.name());
    let _ = writeln!(
        out,
        "{} known partnerships, {folds} folds{}, {} random weightings + the defaults, maximising {label}\n",
        pairs.len(),
        if folds < config.folds { format!(" (of {} asked: one pair per fold at most)", config.folds) } else { String::new() },
        config.trials
    );
    let _ = writeln!(out, "| fold | held-out pairs | tuned (out of fold) | defaults (same pairs) | gain |\n|---|---|---|---|---|");
    let (mut tuned_sum, mut default_sum) = (0.0, 0.0);
    for fold in 0..folds {
        let in_fold = |held: bool| -> Vec<&KnownPair> { pairs.iter().enumerate().filter(|(i, _)| (i % folds == fold) == held).map(|(_, p)| *p).collect() };
        let (held, train) = (in_fold(true), in_fold(false));
        let tuned = score(&lists[best(&train)], &held, k, metric);
        let default = score(&lists[0], &held, k, metric);
        tuned_sum += tuned;
        default_sum += default;
        let _ = writeln!(out, "| {} | {} | {tuned:.3} | {default:.3} | {:+.3} |", fold + 1, held.len(), tuned - default);
    }
    let (tuned_mean, default_mean) = (tuned_sum / folds as f64, default_sum / folds as f64);
    let _ = writeln!(out, "| mean | | {tuned_mean:.3} | {default_mean:.3} | {:+.3} |", tuned_mean - default_mean);

    let all: Vec<&KnownPair> = known.pairs.iter().collect();
    let chosen = best(&all);
    let weights = candidates[chosen];
    let _ = writeln!(
        out,
        "\nChosen weights ({label} on all pairs {:.3}, defaults {:.3}):",
        score(&lists[chosen], &all, k, metric),
        score(&lists[0], &all, k, metric)
    );
    for term in Term::ALL {
        let _ = writeln!(out, "  {:<16} {:.3}  (default {:.3})", term.name(), weights.0[term as usize], defaults.0[term as usize]);
    }
    let path = &config.out;
    let mut file = format!(
        "# sstc-match weights tuned by `sstc-match tune` for {label}: {folds} folds, {} random weightings, seed {}.\n\
         # Out of fold: tuned {tuned_mean:.3} vs defaults {default_mean:.3}. Use with: sstc-match run --weights {}\n[weights]\n",
        config.trials,
        config.seed,
        path.display()
    );
    for (name, value) in to_map(&weights) {
        let _ = writeln!(file, "{name} = {value}");
    }
    write_file_atomic(path, file.as_bytes())?;
    let _ = writeln!(out, "\nwritten to {}", path.display());
    Ok(out)
}
