//! Raw term values of every admitted pair of a set of partners, kept so that many weightings
//! can be ranked without scoring again (used by `evaluate`, `tune` and `sensitivity`).
//!
//! Input: a [`Scorer`], the [`RuleSet`] and the partners to rank for. Output: a [`RawTable`]
//! whose [`RawTable::lists`] gives, for any [`Weights`], exactly the lists the job would write
//! (same [`combine`] formula, same tie-break). Memory: queries × admitted candidates × 7
//! floats, so it is meant for the partners of an evaluation, not a million-row registry.

use rayon::prelude::*;

use super::metrics::Lists;
use crate::engine::profile::Profile;
use crate::engine::rank::top_k::{Hit, TopK};
use crate::engine::rules::RuleSet;
use crate::engine::score::{combine, Scorer, TermValues, Weights};
use crate::PartnerIdx;

/// Raw term values of the admitted candidates of each query partner.
pub struct RawTable {
    queries: Vec<PartnerIdx>,
    rows: Vec<Vec<(PartnerIdx, TermValues)>>,
}

impl RawTable {
    /// Scores every admitted candidate of every query once.
    pub fn build(scorer: &Scorer, rules: &RuleSet, queries: &[PartnerIdx]) -> Self {
        let f = scorer.features();
        let rows = queries
            .par_iter()
            .map(|&q| {
                (0..f.len() as PartnerIdx)
                    .filter(|&c| rules.first_refusal(f, q, c).is_none())
                    .map(|c| (c, scorer.terms(q, c)))
                    .collect()
            })
            .collect();
        RawTable {
            queries: queries.to_vec(),
            rows,
        }
    }

    /// The top-k lists under `weights`, keyed by partner id.
    pub fn lists(&self, weights: &Weights, k: usize, profiles: &[Profile]) -> Lists {
        self.queries
            .par_iter()
            .zip(&self.rows)
            .map(|(&q, row)| {
                let mut top = TopK::new(k);
                for (c, raw) in row {
                    top.push(Hit {
                        candidate: *c,
                        score: combine(weights, raw).0,
                    });
                }
                let ids = top.into_sorted().iter().map(|h| profiles[h.candidate as usize].id.clone()).collect();
                (profiles[q as usize].id.clone(), ids)
            })
            .collect()
    }
}
