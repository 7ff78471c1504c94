//! Collectors: what a scan keeps of the pairs it scores.
//!
//! Input: for each query partner, the admitted candidates whose score bound reaches the
//! collector's floor, with their exact score and raw terms. Output: whatever the collector
//! keeps (its fruit): the best `k` ([`TopKCollector`], the nightly lists), every admitted
//! pair's terms ([`AllTerms`], for evaluation under many weightings), or where one pair
//! stands ([`RankProbe`], for `explain`).
//!
//! The shape is tantivy's `Collector` / `SegmentCollector`: a [`Collector`] makes one
//! [`QueryCollector`] per query partner; a scan may split a query's candidates between
//! threads, each with a collector of its own, and [`QueryCollector::merge`] folds them
//! together. **Invariant:** merging is associative and order-free (the best k of a union does
//! not depend on how it was split; tested against a sort), so a scan's fruit is the same at
//! any thread count.

use std::cmp::Ordering;

use crate::engine::rank::top_k::{ranking_order, Hit, TopK};
use crate::engine::score::TermValues;
use crate::{PartnerIdx, Score};

/// Makes a [`QueryCollector`] for each query partner of a scan.
pub trait Collector: Sync {
    /// The per-query collector.
    type Child: QueryCollector;

    /// A fresh collector for `query`'s candidates.
    fn for_query(&self, query: PartnerIdx) -> Self::Child;
}

/// Keeps what it wants of one query partner's scored candidates.
pub trait QueryCollector: Send + Sized {
    /// What it hands back at the end.
    type Fruit: Send;

    /// The score a candidate's bound must reach to be offered: a candidate scoring below it
    /// would not be kept. It may only rise as candidates arrive, and a collector that saw
    /// more candidates never has a lower floor (a scan starts lists from floors found on a
    /// sample of candidates).
    fn floor(&self) -> Score;

    /// The floor it ends with: any collector of the same query that sees these candidates
    /// and more will have at least this floor (by default, [`QueryCollector::floor`]).
    fn final_floor(self) -> Score {
        self.floor()
    }

    /// Offers one admitted candidate, its exact score and raw terms.
    fn collect(&mut self, candidate: PartnerIdx, score: Score, terms: &TermValues);

    /// Folds in what another collector of the same query saw (of other candidates).
    fn merge(&mut self, other: Self);

    /// What was kept.
    fn harvest(self) -> Self::Fruit;
}

/// The best `k` candidates of each query, ranked ([`TopK`]).
pub struct TopKCollector {
    /// List length.
    pub k: usize,
}

impl Collector for TopKCollector {
    type Child = TopK;

    fn for_query(&self, _query: PartnerIdx) -> TopK {
        TopK::new(self.k)
    }
}

impl QueryCollector for TopK {
    type Fruit = Vec<Hit>;

    #[inline]
    fn floor(&self) -> Score {
        TopK::floor(self).unwrap_or(Score::NEG_INFINITY)
    }

    /// The k-th best score once `k` candidates came (the running floor may still be lower:
    /// it is raised only when the buffer is trimmed).
    fn final_floor(self) -> Score {
        let k = self.k();
        let hits = self.into_sorted();
        if k > 0 && hits.len() == k {
            hits[k - 1].score
        } else {
            Score::NEG_INFINITY
        }
    }

    #[inline]
    fn collect(&mut self, candidate: PartnerIdx, score: Score, _terms: &TermValues) {
        self.push(Hit { candidate, score });
    }

    fn merge(&mut self, other: Self) {
        other.into_sorted().into_iter().for_each(|hit| self.push(hit));
    }

    fn harvest(self) -> Vec<Hit> {
        self.into_sorted()
    }
}

/// Every admitted candidate of each query with its raw terms, so that any weighting can be
/// ranked later by the same formula without scoring again. Memory: queries × admitted
/// candidates × 7 floats; meant for the partners of an evaluation, not a whole registry.
pub struct AllTerms;

/// One query's admitted candidates and their raw terms, in no particular order.
#[derive(Default)]
pub struct TermRows(pub Vec<(PartnerIdx, TermValues)>);

impl Collector for AllTerms {
    type Child = TermRows;

    fn for_query(&self, _query: PartnerIdx) -> TermRows {
        TermRows::default()
    }
}

impl QueryCollector for TermRows {
    type Fruit = Vec<(PartnerIdx, TermValues)>;

    fn floor(&self) -> Score {
        Score::NEG_INFINITY
    }

    fn collect(&mut self, candidate: PartnerIdx, _score: Score, terms: &TermValues) {
        self.0.push((candidate, *terms));
    }

    fn merge(&mut self, other: Self) {
        self.0.extend(other.0);
    }

    fn harvest(self) -> Self::Fruit {
        self.0
    }
}

/// Where one candidate stands in its query's list: how many admitted candidates rank before
/// it, and the best `k` (for the score a candidate must beat to enter).
pub struct RankProbe {
    /// List length.
    pub k: usize,
    /// The candidate looked for, and its score.
    pub target: Hit,
}

/// A [`RankProbe`]'s count and list.
pub struct Standing {
    /// Admitted candidates ranking before the target.
    pub before: u64,
    /// The best `k`.
    pub top: TopK,
    target: Hit,
}

impl Collector for RankProbe {
    type Child = Standing;

    fn for_query(&self, _query: PartnerIdx) -> Standing {
        Standing { before: 0, top: TopK::new(self.k), target: self.target }
    }
}

impl QueryCollector for Standing {
    type Fruit = (u64, Vec<Hit>);

    fn floor(&self) -> Score {
        // Whatever can rank before the target, or enter the list.
        QueryCollector::floor(&self.top).min(self.target.score)
    }

    fn collect(&mut self, candidate: PartnerIdx, score: Score, terms: &TermValues) {
        let hit = Hit { candidate, score };
        if ranking_order(&hit, &self.target) == Ordering::Less {
            self.before += 1;
        }
        self.top.collect(candidate, score, terms);
    }

    fn merge(&mut self, other: Self) {
        self.before += other.before;
        self.top.merge(other.top);
    }

    fn harvest(self) -> (u64, Vec<Hit>) {
        (self.before, self.top.into_sorted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Offers `hits` to one collector of `collector` split into `parts` pieces (hit i to
    /// piece `split[i] % parts`), merged first to last or last to first, and harvests it.
    fn split_and_merge<C: Collector>(collector: &C, hits: &[Hit], split: &[usize], parts: usize, reversed: bool) -> <C::Child as QueryCollector>::Fruit {
        let mut pieces: Vec<C::Child> = (0..parts).map(|_| collector.for_query(0)).collect();
        for (hit, &s) in hits.iter().zip(split) {
            pieces[s % parts].collect(hit.candidate, hit.score, &[hit.score; 7]);
        }
        if reversed {
            pieces.reverse();
        }
        let mut pieces = pieces.into_iter();
        let mut merged = pieces.next().expect("one piece at least");
        pieces.for_each(|piece| merged.merge(piece));
        merged.harvest()
    }

    fn hits(scores: &[u8]) -> Vec<Hit> {
        // Few distinct scores: ties are common, so the tie-break is exercised.
        scores.iter().enumerate().map(|(i, &s)| Hit { candidate: (i * 7919 % 1009) as PartnerIdx, score: s as f32 / 7.0 }).collect()
    }

    proptest! {
        #[test]
        fn merged_collectors_equal_a_sort_however_the_hits_were_split(
            scores in prop::collection::vec(0u8..20, 0..200),
            split in prop::collection::vec(0usize..8, 200),
            parts in 1usize..6,
            k in 1usize..12,
            reversed: bool,
        ) {
            let hits = hits(&scores);
            let mut sorted = hits.clone();
            sorted.sort_by(ranking_order);

            let top = split_and_merge(&TopKCollector { k }, &hits, &split, parts, reversed);
            prop_assert_eq!(&top, &sorted.iter().take(k).copied().collect::<Vec<_>>());

            let target = hits.first().copied().unwrap_or(Hit { candidate: 0, score: 0.0 });
            let (before, top) = split_and_merge(&RankProbe { k, target }, &hits, &split, parts, reversed);
            let oracle = sorted.iter().filter(|h| ranking_order(h, &target) == Ordering::Less).count() as u64;
            prop_assert_eq!(before, oracle);
            prop_assert_eq!(&top, &sorted.iter().take(k).copied().collect::<Vec<_>>());

            let mut rows: Vec<PartnerIdx> = split_and_merge(&AllTerms, &hits, &split, parts, reversed).into_iter().map(|(c, _)| c).collect();
            let mut all: Vec<PartnerIdx> = hits.iter().map(|h| h.candidate).collect();
            rows.sort_unstable();
            all.sort_unstable();
            prop_assert_eq!(rows, all);
        }
    }
}
