//! Rank: give me the best k candidates of every partner, in a stable order.
//!
//! Input: a [`Scorer`], the [`RuleSet`] and the partners to rank for (any subset, so the query
//! side can be split into shards and merged). Output: one [`Shortlist`] per partner, in the
//! order given, and [`RankStats`] (pairs scored, pairs each rule removed).
//!
//! Candidates are scanned exhaustively; partners are processed in parallel blocks with rayon,
//! each block owning its collectors (no shared mutable state). Memory is O(partners × k).
//!
//! **Invariant:** the output is identical for any thread count (each partner's list is
//! computed by one thread, and [`top_k`] orders totally).

pub mod rerank;
pub mod top_k;

use rayon::prelude::*;

use crate::candidates::Blocking;
use crate::rules::RuleSet;
use crate::score::Scorer;
use crate::PartnerIdx;

pub use top_k::{Hit, TopK};

/// Partners per parallel task: big enough to amortise scheduling, small enough to balance.
const QUERY_BLOCK: usize = 32;

/// The best candidates of one partner, best first.
#[derive(Clone, Debug, PartialEq)]
pub struct Shortlist {
    /// The partner the list is for.
    pub partner: PartnerIdx,
    /// Its candidates, ranked.
    pub hits: Vec<Hit>,
}

impl Shortlist {
    /// The first `k` candidates.
    pub fn truncated(&self, k: usize) -> Shortlist {
        Shortlist {
            partner: self.partner,
            hits: self.hits.iter().take(k).copied().collect(),
        }
    }
}

/// Counters of a ranking pass.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RankStats {
    /// Pairs that passed every rule and were scored.
    pub pairs_scored: u64,
    /// Pairs removed, per rule (same order as [`RuleSet::names`]).
    pub removed_by_rule: Vec<u64>,
}

impl RankStats {
    fn new(rules: &RuleSet) -> Self {
        RankStats {
            pairs_scored: 0,
            removed_by_rule: vec![0; rules.len()],
        }
    }

    fn merge(mut self, other: RankStats) -> RankStats {
        self.pairs_scored += other.pairs_scored;
        for (mine, theirs) in self.removed_by_rule.iter_mut().zip(other.removed_by_rule) {
            *mine += theirs;
        }
        self
    }
}

/// Ranks every candidate for each partner in `partners`; `progress` is told how many partners
/// each finished block held.
pub fn shortlists(
    scorer: &Scorer,
    rules: &RuleSet,
    partners: &[PartnerIdx],
    k: usize,
    progress: &(dyn Fn(u64) + Sync),
) -> (Vec<Shortlist>, RankStats) {
    let candidates = scorer.features().len() as PartnerIdx;
    in_blocks(partners, rules, progress, |block, stats| {
        let mut tops: Vec<TopK> = block.iter().map(|_| TopK::new(k)).collect();
        // Candidate-outer: each candidate's features are read once per block of partners.
        for candidate in 0..candidates {
            for (top, &partner) in tops.iter_mut().zip(block) {
                offer(scorer, rules, stats, top, partner, candidate);
            }
        }
        block
            .iter()
            .zip(tops)
            .map(|(&partner, top)| Shortlist {
                partner,
                hits: top.into_sorted(),
            })
            .collect()
    })
}

/// Runs `rank_block` over blocks of partners in parallel, each with its own counters, and
/// merges the lists in partner order.
fn in_blocks(
    partners: &[PartnerIdx],
    rules: &RuleSet,
    progress: &(dyn Fn(u64) + Sync),
    rank_block: impl Fn(&[PartnerIdx], &mut RankStats) -> Vec<Shortlist> + Sync,
) -> (Vec<Shortlist>, RankStats) {
    let blocks: Vec<(Vec<Shortlist>, RankStats)> = partners
        .par_chunks(QUERY_BLOCK)
        .map(|block| {
            let mut stats = RankStats::new(rules);
            let lists = rank_block(block, &mut stats);
            progress(block.len() as u64);
            (lists, stats)
        })
        .collect();
    let mut all = Vec::with_capacity(partners.len());
    let mut total = RankStats::new(rules);
    for (lists, stats) in blocks {
        all.extend(lists);
        total = total.merge(stats);
    }
    (all, total)
}

/// Offers one pair to a partner's collector: the rules first, then the score, skipped when
/// the pair cannot reach the collector's floor.
#[inline]
fn offer(scorer: &Scorer, rules: &RuleSet, stats: &mut RankStats, top: &mut TopK, partner: PartnerIdx, candidate: PartnerIdx) {
    if let Some(rule) = rules.first_refusal(scorer.features(), partner, candidate) {
        stats.removed_by_rule[rule] += 1;
        return;
    }
    stats.pairs_scored += 1;
    if let Some(score) = scorer.score_reaching(partner, candidate, top.floor()) {
        top.push(Hit { candidate, score });
    }
}


/// Like [`shortlists`], but each partner scores only the members of the blocks it probes
/// ([`Blocking::probes`]).
pub fn shortlists_blocked(
    scorer: &Scorer,
    rules: &RuleSet,
    partners: &[PartnerIdx],
    k: usize,
    blocking: &Blocking,
    progress: &(dyn Fn(u64) + Sync),
) -> (Vec<Shortlist>, RankStats) {
    let features = scorer.features();
    in_blocks(partners, rules, progress, |block, stats| {
        block
            .iter()
            .map(|&partner| {
                let mut top = TopK::new(k);
                for b in blocking.probes(features, partner) {
                    for &candidate in &blocking.members[b] {
                        offer(scorer, rules, stats, &mut top, partner, candidate);
                    }
                }
                Shortlist {
                    partner,
                    hits: top.into_sorted(),
                }
            })
            .collect()
    })
}

/// Recall@k of `lists` against exact lists for the same partners: the mean share of each
/// exact list (when not empty) that `lists` also holds.
pub fn recall_against(lists: &[Shortlist], exact: &[Shortlist]) -> f64 {
    let (mut sum, mut n) = (0.0, 0usize);
    for (l, e) in lists.iter().zip(exact) {
        debug_assert_eq!(l.partner, e.partner);
        if e.hits.is_empty() {
            continue;
        }
        let found = e.hits.iter().filter(|h| l.hits.iter().any(|x| x.candidate == h.candidate)).count();
        sum += found as f64 / e.hits.len() as f64;
        n += 1;
    }
    if n == 0 {
        1.0
    } else {
        sum / n as f64
    }
}
