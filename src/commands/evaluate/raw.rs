//! Raw term values of every admitted pair of a set of partners, kept so that many weightings
//! can be ranked without scoring again (used by `evaluate`, `tune` and `sensitivity`).
//!
//! Input: the [`Engine`] and the partners to rank for. Output: a [`RawTable`] (the scan's
//! [`AllTerms`] collector) whose [`RawTable::lists`] gives, for any [`Weights`], exactly the
//! lists the job would write (same [`combine`] formula, same tie-break). Memory: queries ×
//! admitted candidates × 7 floats, so it is meant for the partners of an evaluation, not a
//! million-row registry.

use rayon::prelude::*;

use super::metrics::Lists;
use crate::engine::profile::Profile;
use crate::engine::rank::collector::AllTerms;
use crate::engine::rank::top_k::{Hit, TopK};
use crate::engine::score::{combine, TermValues, Weights};
use crate::engine::Engine;
use crate::PartnerIdx;

/// Raw term values of the admitted candidates of each query partner.
pub struct RawTable {
    queries: Vec<PartnerIdx>,
    rows: Vec<Vec<(PartnerIdx, TermValues)>>,
}

impl RawTable {
    /// Scores every admitted candidate of every query once.
    pub fn build(engine: &Engine, queries: &[PartnerIdx]) -> Self {
        let (fruits, _) = engine.scan().run(queries, &AllTerms, &|_| {});
        let (queries, rows) = fruits.into_iter().unzip();
        RawTable { queries, rows }
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
