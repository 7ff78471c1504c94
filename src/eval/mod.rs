//! Evaluate: how well does a weighting recover known partnerships?
//!
//! Input: the matching configuration (profiles, weights, rules) and a table of known
//! partnerships (`source_id`, `target_id`, optional `modality`, `directed`). Output: an
//! [`Evaluation`]: recall@k and mean reciprocal rank of the engine's ranking, and of a plain
//! baseline (cosine similarity of the dense feature rows, the vector a similarity search
//! would use), over the same queries.
//!
//! Every known pair (a, b) makes two queries: where does b rank in a's list, and a in b's
//! (a partnership is a good match for both sides). The rank is among every candidate the
//! method admits (the engine's rules apply to the engine; the baseline only drops the partner
//! itself and inactive partners); a target the rules remove counts as a miss (reciprocal
//! rank 0).
//!
//! **Leakage:** known partnerships are read only here, after features are built from the
//! profile table; they never enter features, rarity weights or rules.

use std::cmp::Ordering;
use std::path::Path;

use rayon::prelude::*;

use crate::cli::EvaluateArgs;
use crate::config::MatchConfig;
use crate::error::Error;
use crate::features::{PartnerFeatures, DENSE_WIDTH};
use crate::pipeline::{prepare, Prepared, StageClock};
use crate::telemetry::Progress;
use crate::profile::Profile;
use crate::rank::top_k::{ranking_order, Hit};
use crate::rules::RuleSet;
use crate::score::Scorer;
use crate::table::{StringTable, TableError, TableSource};
use crate::PartnerIdx;

/// Known partnerships resolved to partner indices.
pub struct Known {
    /// (a, b) pairs, both valid partners.
    pub pairs: Vec<(PartnerIdx, PartnerIdx)>,
    /// Rows naming an id that is not among the valid profiles (counted, never silently 0).
    pub unknown_rows: Vec<usize>,
}

/// Why the known-partnerships table cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// The table cannot be read.
    #[error(transparent)]
    Table(#[from] TableError),
    /// A required column is missing.
    #[error("{file}: the known-partnerships table needs columns source_id and target_id")]
    Columns {
        /// The file.
        file: String,
    },
}

impl Known {
    /// Reads the table and resolves ids against the id-sorted profiles.
    pub fn load(path: &Path, profiles: &[Profile]) -> Result<Known, EvalError> {
        let table = StringTable::read(&TableSource::File(path.to_path_buf()))?;
        let (Some(source), Some(target)) = (table.position("source_id"), table.position("target_id")) else {
            return Err(EvalError::Columns {
                file: table.source_name().to_string(),
            });
        };
        let index = |id: Option<&str>| {
            id.and_then(|id| profiles.binary_search_by(|p| p.id.as_str().cmp(id)).ok())
                .map(|i| i as PartnerIdx)
        };
        let mut known = Known {
            pairs: Vec::new(),
            unknown_rows: Vec::new(),
        };
        for row in 0..table.height() {
            match (index(table.cell(source, row)), index(table.cell(target, row))) {
                (Some(a), Some(b)) if a != b => known.pairs.push((a, b)),
                _ => known.unknown_rows.push(row + 1),
            }
        }
        Ok(known)
    }

    /// The (query, target) pairs: both directions of every known pair.
    pub fn queries(&self) -> Vec<(PartnerIdx, PartnerIdx)> {
        self.pairs.iter().flat_map(|&(a, b)| [(a, b), (b, a)]).collect()
    }
}

/// Accuracy of one ranking method.
#[derive(Clone, Debug, PartialEq)]
pub struct Accuracy {
    /// Queries evaluated.
    pub queries: usize,
    /// Share of queries whose target is in the top k.
    pub recall_at_k: f64,
    /// Mean of 1 / rank (0 where the target is not admitted).
    pub mrr: f64,
}

/// Computes recall@k and MRR from each query's rank (`None` = not admitted).
pub fn accuracy(ranks: &[Option<usize>], k: usize) -> Accuracy {
    let n = ranks.len().max(1) as f64;
    Accuracy {
        queries: ranks.len(),
        recall_at_k: ranks.iter().filter(|r| r.is_some_and(|r| r <= k)).count() as f64 / n,
        mrr: ranks.iter().map(|r| r.map_or(0.0, |r| 1.0 / r as f64)).sum::<f64>() / n,
    }
}

/// 1-based rank of `target` among `candidates` (scored hits), ties by candidate index.
fn rank_in(hits: &[Hit], target: PartnerIdx) -> Option<usize> {
    let this = hits.iter().find(|h| h.candidate == target)?;
    Some(1 + hits.iter().filter(|h| ranking_order(h, this) == Ordering::Less).count())
}

/// The engine's rank of each query's target.
pub fn engine_ranks(scorer: &Scorer, rules: &RuleSet, queries: &[(PartnerIdx, PartnerIdx)]) -> Vec<Option<usize>> {
    let f = scorer.features();
    queries
        .par_iter()
        .map(|&(q, t)| {
            let hits: Vec<Hit> = (0..f.len() as PartnerIdx)
                .filter(|&c| rules.first_refusal(f, q, c).is_none())
                .map(|c| Hit { candidate: c, score: scorer.score(q, c) })
                .collect();
            rank_in(&hits, t)
        })
        .collect()
}

/// The baseline's rank: cosine similarity of the dense feature rows over every other active
/// partner.
pub fn cosine_ranks(f: &PartnerFeatures, queries: &[(PartnerIdx, PartnerIdx)]) -> Vec<Option<usize>> {
    let rows: Vec<Vec<f32>> = (0..f.len() as PartnerIdx)
        .map(|i| {
            let mut row = vec![0.0; DENSE_WIDTH];
            f.dense_row(i, &mut row);
            let norm = row.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
            row.iter_mut().for_each(|v| *v /= norm);
            row
        })
        .collect();
    queries
        .par_iter()
        .map(|&(q, t)| {
            let hits: Vec<Hit> = (0..f.len() as PartnerIdx)
                .filter(|&c| c != q && f.active[c as usize])
                .map(|c| Hit {
                    candidate: c,
                    score: rows[q as usize].iter().zip(&rows[c as usize]).map(|(a, b)| a * b).sum(),
                })
                .collect();
            rank_in(&hits, t)
        })
        .collect()
}

/// Runs `evaluate` and renders its report.
pub fn run(args: &EvaluateArgs) -> Result<String, Error> {
    let matching = MatchConfig::resolve(&args.matching)?;
    let Prepared {
        ingested, features, rules, ..
    } = prepare(&matching, &mut StageClock::default(), Progress::hidden())?;
    let known = Known::load(&args.known, &ingested.profiles)?;
    let queries = known.queries();
    let scorer = Scorer::new(&features, &matching.actor_compatibility, matching.score);
    let engine = accuracy(&engine_ranks(&scorer, &rules, &queries), args.k);
    let baseline = accuracy(&cosine_ranks(&features, &queries), args.k);
    let mut out = format!(
        "{} partners, {} known partnerships, {} queries (both directions of each)\n",
        features.len(),
        known.pairs.len(),
        queries.len()
    );
    if !known.unknown_rows.is_empty() {
        out += &format!(
            "warning: {} known-partnership rows name a partner that is not among the valid profiles (rows {:?}); they are left out\n",
            known.unknown_rows.len(),
            known.unknown_rows
        );
    }
    out += &format!("\n| method | recall@{k} | MRR |\n|---|---|---|\n", k = args.k);
    for (name, a) in [("engine (this weighting and rules)", &engine), ("baseline: cosine of all features", &baseline)] {
        out += &format!("| {name} | {:.3} | {:.3} |\n", a.recall_at_k, a.mrr);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accuracy_checked_by_hand() {
        // Ranks 1, 3, 12 and one not admitted, k = 10:
        // recall = 2/4; MRR = (1 + 1/3 + 1/12 + 0) / 4 = 0.354166...
        let a = accuracy(&[Some(1), Some(3), Some(12), None], 10);
        assert_eq!(a.queries, 4);
        assert_eq!(a.recall_at_k, 0.5);
        assert!((a.mrr - 0.354_166_666).abs() < 1e-8);
    }

    #[test]
    fn rank_counts_better_hits_and_breaks_ties_by_index() {
        let hits = [
            Hit { candidate: 5, score: 0.9 },
            Hit { candidate: 2, score: 0.5 },
            Hit { candidate: 7, score: 0.5 },
        ];
        assert_eq!(rank_in(&hits, 5), Some(1));
        assert_eq!(rank_in(&hits, 2), Some(2));
        assert_eq!(rank_in(&hits, 7), Some(3));
        assert_eq!(rank_in(&hits, 9), None);
    }
}
