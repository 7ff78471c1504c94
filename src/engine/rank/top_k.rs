//! Top-k selection with a deterministic order.
//!
//! Input: a stream of [`Hit`]s (candidate, score) for one partner. Output: the best `k`,
//! sorted by score descending, ties broken by ascending candidate index, which is ascending
//! partner id (profiles are id-sorted). The order is total, so the result does not depend on
//! the order hits arrive in, nor on the thread that produced them.
//!
//! Shape (after tantivy's `TopNComputer`): a buffer of up to `2k` hits; when full, keep the
//! best `k` with `select_nth_unstable_by` and raise a threshold that later hits must beat.
//! Amortised O(1) per hit, O(k) memory.

use std::cmp::Ordering;

use crate::{PartnerIdx, Score};

/// One scored candidate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Hit {
    /// The candidate.
    pub candidate: PartnerIdx,
    /// Its score.
    pub score: Score,
}

/// The ranking order: higher score first, then lower candidate index.
#[inline]
pub fn ranking_order(a: &Hit, b: &Hit) -> Ordering {
    b.score
        .total_cmp(&a.score)
        .then_with(|| a.candidate.cmp(&b.candidate))
}

/// Collects the best `k` hits.
pub struct TopK {
    k: usize,
    buffer: Vec<Hit>,
    threshold: Option<Hit>,
}

impl TopK {
    /// An empty collector for the best `k` (any `k`: the buffer grows with the hits, not
    /// with `k`).
    pub fn new(k: usize) -> Self {
        TopK {
            k,
            buffer: Vec::with_capacity(k.max(1).saturating_mul(2).min(1 << 12)),
            threshold: None,
        }
    }

    /// The list length.
    pub fn k(&self) -> usize {
        self.k
    }

    /// Offers one hit.
    #[inline]
    pub fn push(&mut self, hit: Hit) {
        if self.k == 0 {
            return;
        }
        if let Some(threshold) = &self.threshold {
            if ranking_order(&hit, threshold) != Ordering::Less {
                return;
            }
        }
        if self.buffer.len() == self.k.saturating_mul(2) {
            self.truncate_to_k();
        }
        self.buffer.push(hit);
    }

    /// The score a new hit must at least reach to have a chance, once the buffer has filled
    /// (hits below it are rejected by [`TopK::push`] anyway).
    #[inline]
    pub fn floor(&self) -> Option<Score> {
        self.threshold.map(|t| t.score)
    }

    /// The `k`-th best score so far, once `k` hits are in (`None` before): what a hit not
    /// yet offered must beat. Settles the buffer to its best `k` to know it.
    pub fn kth(&mut self) -> Option<Score> {
        self.kth_hit().map(|hit| hit.score)
    }

    /// The `k`-th best hit so far, once `k` hits are in: a hit not yet offered that ranks
    /// after it ([`ranking_order`]) cannot enter.
    pub fn kth_hit(&mut self) -> Option<Hit> {
        if self.k > 0 && self.threshold.is_none() && self.buffer.len() >= self.k {
            self.truncate_to_k();
        }
        self.threshold
    }

    fn truncate_to_k(&mut self) {
        self.buffer.select_nth_unstable_by(self.k - 1, ranking_order);
        self.buffer.truncate(self.k);
        self.threshold = Some(self.buffer[self.k - 1]);
    }

    /// The best `k`, best first.
    pub fn into_sorted(mut self) -> Vec<Hit> {
        self.buffer.sort_unstable_by(ranking_order);
        self.buffer.truncate(self.k);
        self.buffer
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn oracle(hits: &[Hit], k: usize) -> Vec<Hit> {
        let mut all = hits.to_vec();
        all.sort_by(ranking_order);
        all.truncate(k);
        all
    }

    #[test]
    fn ties_break_by_candidate_index() {
        let mut top = TopK::new(2);
        for candidate in [9, 3, 5] {
            top.push(Hit { candidate, score: 0.5 });
        }
        let got: Vec<_> = top.into_sorted().iter().map(|h| h.candidate).collect();
        assert_eq!(got, vec![3, 5]);
    }

    proptest! {
        #[test]
        fn equals_sort_everything_oracle(
            scores in prop::collection::vec(0u8..20, 0..300),
            k in 0usize..25,
        ) {
            // Few distinct scores, so ties are common and the tie-break is exercised.
            let hits: Vec<Hit> = scores
                .iter()
                .enumerate()
                .map(|(i, &s)| Hit { candidate: (i * 7919 % 1009) as PartnerIdx, score: s as f32 / 7.0 })
                .collect();
            let mut top = TopK::new(k);
            for hit in &hits {
                top.push(*hit);
            }
            prop_assert_eq!(top.into_sorted(), oracle(&hits, k));
        }
    }
}
