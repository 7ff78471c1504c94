//! Incremental ranking: tonight's pools from last night's, recomputing only what can differ.
//!
//! Input: the [`Scorer`] and [`RuleSet`] of tonight, the active partners, and for each of
//! them last night's pool when the partner is *kept* ([`crate::io::state::kept`]: same
//! content, active both nights, no duplicate group that split; `None`: *fresh*): its
//! candidates (tonight's indices) and its bound, a score no candidate left out of the pool
//! exceeded. Output: every active partner's
//! [`Pool`] of `depth + margin` candidates, whose first `depth` equal a full scan's bit for
//! bit, with the bound to carry to the next night, and [`IncrementalStats`]. The same for
//! the resource lists ([`resource_lists`]): from last night's resource pools of the kept
//! partners in need, every partner in need's resource pool, and [`ResourceStats`].
//!
//! ```text
//!   fresh partner ── against everyone (each pair once, for both lists) ─▶ its list, whole
//!                                          │ the fresh candidates of the kept partners
//!   kept partner  ── last night's pool,    ▼ (below the pool's floor: skipped)
//!                    kept candidates rescored + fresh ─▶ merged; the list stands when its
//!                    depth-th score beats bound + shift, else it is ranked again in full
//! ```
//!
//! Why it is exact: a candidate of a kept partner is either fresh (scanned tonight), or kept
//! and in last night's pool (rescored tonight), or kept and left out of the pool: then it
//! was admitted last night too (two kept partners admitted tonight were), so it scored at
//! most the bound, and a pair of two kept partners moves by at most [`score_shift`] (only
//! the rarity weights of the themes they need changed). So when the
//! merged list's `depth`-th score is strictly above bound + shift, no left-out candidate can
//! enter the first `depth`. Ties are ordered by candidate index, which is the id order on
//! every night.

use rayon::prelude::*;

use crate::engine::profile::IdSet;
use crate::engine::rank::top_k::ranking_order;
use crate::engine::rank::{Candidates, Hit, RankStats, Scan, Shortlist, TopKCollector};
use crate::engine::rules::RuleSet;
use crate::engine::score::columns::Columns;
use crate::engine::score::{Scorer, Term, Weights};
use crate::engine::support::{Supporters, SUPPORT_WEIGHTS};
use crate::{PartnerIdx, Score};

/// Room for rounding in [`score_shift`], per unit of the weights' sum: both nights' need
/// coverages and weighted sums are f32 (a few ulps of 1.0 each, far below this).
const ROUNDING_SLACK: f64 = 1e-4;

/// Last night's pool of a kept partner.
#[derive(Clone, Debug, PartialEq)]
pub struct PreviousPool {
    /// Its candidates, by tonight's index (rescored tonight: last night's scores are not
    /// needed).
    pub candidates: Vec<PartnerIdx>,
    /// No admitted candidate outside `candidates` scored above it last night (−∞: there was
    /// none).
    pub bound: Score,
}

/// A partner's pool: its best `depth + margin` candidates and the bound of those left out.
#[derive(Clone, Debug, PartialEq)]
pub struct Pool {
    /// The ranked candidates.
    pub list: Shortlist,
    /// No admitted candidate outside the list scores above it (−∞: there is none).
    pub bound: Score,
}

/// What an incremental ranking did.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct IncrementalStats {
    /// Active partners new, changed or reactivated: ranked against every candidate.
    pub fresh: usize,
    /// Kept partners whose list was settled from last night's pool and the fresh candidates.
    pub settled: usize,
    /// Kept partners whose list could have changed beyond the pool: ranked again in full.
    pub recomputed: usize,
    /// The score shift allowed between the nights for a pair of kept partners.
    pub shift: Score,
}

/// The bound of a pool of `capacity` found by a scan over every candidate: its last score
/// when full (what was left out scored no higher), else −∞ (nothing was left out).
pub fn full_bound(hits: &[Hit], capacity: usize) -> Score {
    match hits.last() {
        Some(last) if hits.len() >= capacity => last.score,
        _ => Score::NEG_INFINITY,
    }
}

/// How far the score of a pair of kept partners can move between the nights: only the
/// rarity weights changed, and only the need coverages read them; when every weight of
/// `themes` (the needs of the kept partners) moves by a factor in [ρ_min, ρ_max], each of
/// those terms moves by at most [`coverage_move`] of r = ρ_max / ρ_min. Plus
/// [`ROUNDING_SLACK`] when any weight of `themes` moved (even all by one factor: the f32
/// sums round otherwise); none when none did.
pub fn score_shift(previous: &[f32; 64], tonight: &[f32; 64], themes: IdSet, weights: &Weights) -> Score {
    let weight = |term: Term| f64::from(weights.0[term as usize]);
    let sum: f64 = weights.0.iter().map(|&w| f64::from(w)).sum();
    shift_of(previous, tonight, themes, weight(Term::Complementarity) + weight(Term::MutualBenefit), sum)
}

/// How far the support of a kept supporter for a kept partner in need can move between the
/// nights: its funding term is a coverage of the partner's needs (`themes`: those of the kept
/// partners in need), weighted as [`SUPPORT_WEIGHTS`] say; see [`score_shift`].
pub fn support_shift(previous: &[f32; 64], tonight: &[f32; 64], themes: IdSet) -> Score {
    shift_of(previous, tonight, themes, f64::from(SUPPORT_WEIGHTS[0]), SUPPORT_WEIGHTS.iter().map(|&w| f64::from(w)).sum())
}

/// How far a coverage, and each term made of coverages, can move when every theme weight
/// moves by a factor in [ρ_min, ρ_max], r = ρ_max / ρ_min ≥ 1: (√r − 1) / (√r + 1).
///
/// A coverage is c = A / (A + B): A the weights of the needs met, B of the others (the same
/// themes both nights for a kept pair). Tonight A' / B' lies within [A / (r·B), r·A / B], so
/// c' ≤ r·c / (r·c + 1 − c), and c' − c is at most the maximum over c of that minus c: at
/// c = 1 / (√r + 1), (√r − 1) / (√r + 1). A fall is bounded the same way
/// (c' ≥ c / (c + r·(1 − c))).
/// Complementarity, the larger coverage, and the min, mean and max fusions of mutual benefit
/// move by at most the larger of their coverages' moves. The harmonic fusion 2ab / (a + b)
/// is 2 / (2 + x + y), x and y the two sides' B / A, each of which moves by a factor in
/// [1/r, r]: it is a coverage of (x + y) / 2, bounded the same way. (The bound r − 1 that
/// a factor r on each coverage gives is about 4 times larger for r near 1.)
fn coverage_move(r: f64) -> f64 {
    let root = r.sqrt();
    (root - 1.0) / (root + 1.0)
}

/// The shift of a score whose terms of weight `coverage_weight` are coverages of `themes`
/// (the weights summing to `sum`), when the rarity weights move from `previous` to `tonight`.
fn shift_of(previous: &[f32; 64], tonight: &[f32; 64], themes: IdSet, coverage_weight: f64, sum: f64) -> Score {
    if themes.iter().all(|t| tonight[t as usize] == previous[t as usize]) {
        // The same weights: the same f32 operations on the same values, the same scores.
        return 0.0;
    }
    let ratios = themes.iter().map(|t| f64::from(tonight[t as usize]) / f64::from(previous[t as usize]));
    let (low, high) = ratios.fold((f64::INFINITY, 0.0f64), |(low, high), r| (low.min(r), high.max(r)));
    (coverage_weight * coverage_move(high / low) + ROUNDING_SLACK * sum.max(1.0)) as Score
}

/// Ranks every `active` partner into a pool of `depth + margin` from last night's pools
/// (`previous`, by partner index: `Some` for a kept partner), recomputing only what can
/// differ (see the module header). `tick` counts partners done.
pub fn rank(scorer: &Scorer, rules: &RuleSet, active: &[PartnerIdx], previous: &[Option<PreviousPool>], (depth, margin): (usize, usize), shift: Score, tick: &(dyn Fn(u64) + Sync)) -> (Vec<Pool>, RankStats, IncrementalStats) {
    let capacity = depth + margin;
    let features = scorer.features();
    let is_kept = |p: PartnerIdx| previous[p as usize].is_some();
    let (kept, fresh): (Vec<PartnerIdx>, Vec<PartnerIdx>) = active.iter().partition(|&&p| is_kept(p));
    // The kept partners' pools, their kept candidates rescored: what a list starts from.
    let rescored: Vec<Vec<Hit>> = kept
        .par_iter()
        .map(|&partner| {
            let last = previous[partner as usize].as_ref().expect("a kept partner has a pool");
            let mut hits: Vec<Hit> = last
                .candidates
                .iter()
                .filter(|&&c| is_kept(c) && rules.first_refusal(features, partner, c).is_none())
                .map(|&candidate| Hit { candidate, score: scorer.score(partner, candidate) })
                .collect();
            hits.sort_by(ranking_order);
            hits
        })
        .collect();
    // The fresh partners against everyone, each pair once for both lists: a fresh partner's
    // list whole, a kept one's fresh candidates (skipped below its rescored pool's floor).
    let mut floors = vec![Score::NEG_INFINITY; features.len()];
    for (&partner, hits) in kept.iter().zip(&rescored) {
        floors[partner as usize] = full_bound(hits, capacity);
    }
    let columns = (!fresh.is_empty()).then(|| Columns::in_index_order(scorer));
    let (mut lists, mut stats) = match &columns {
        Some(columns) => Scan::new(*scorer, rules, Candidates::Columns(columns)).around(&fresh, floors, &TopKCollector { k: capacity }, tick),
        None => (vec![None; features.len()], RankStats::new(rules)),
    };
    let mut pools: Vec<Option<Pool>> = vec![None; features.len()];
    for &partner in &fresh {
        let hits = lists[partner as usize].take().expect("a fresh partner is ranked");
        pools[partner as usize] = Some(Pool { bound: full_bound(&hits, capacity), list: Shortlist { partner, hits } });
    }
    // Merged with their fresh candidates; settled, or `None` to rank in full.
    let against_fresh: Vec<Vec<Hit>> = kept.iter().map(|&p| lists[p as usize].take().unwrap_or_default()).collect();
    let settled: Vec<Option<Pool>> = kept
        .par_iter()
        .zip(rescored)
        .zip(against_fresh)
        .map(|((&partner, mut hits), fresh_hits)| {
            let last = previous[partner as usize].as_ref().expect("a kept partner has a pool");
            hits.extend(fresh_hits);
            hits.sort_by(ranking_order);
            hits.truncate(capacity);
            settle(&hits, last.bound, depth, capacity, shift).map(|bound| Pool { list: Shortlist { partner, hits }, bound })
        })
        .collect();
    let recomputed: Vec<PartnerIdx> = kept.iter().zip(&settled).filter(|(_, pool)| pool.is_none()).map(|(&p, _)| p).collect();
    tick((kept.len() - recomputed.len()) as u64);
    for pool in settled.into_iter().flatten() {
        let partner = pool.list.partner as usize;
        pools[partner] = Some(pool);
    }
    let counts = IncrementalStats { fresh: fresh.len(), settled: kept.len() - recomputed.len(), recomputed: recomputed.len(), shift };
    if !recomputed.is_empty() {
        let columns = columns.unwrap_or_else(|| Columns::in_index_order(scorer));
        let (lists, full_stats) = Scan::new(*scorer, rules, Candidates::Columns(&columns)).shortlists(&recomputed, capacity, tick);
        stats = stats.merge(full_stats);
        for list in lists {
            let (partner, bound) = (list.partner as usize, full_bound(&list.hits, capacity));
            pools[partner] = Some(Pool { list, bound });
        }
    }
    let pools = active.iter().map(|&p| pools[p as usize].take().expect("every active partner is ranked")).collect();
    (pools, stats, counts)
}

/// Whether a kept list merged from its rescored pool and its fresh candidates (`hits`, best
/// first, cut to the pool's capacity) stands: its `depth`-th score beats what was left out
/// of last night's pool (`bound`) moved by `shift`. Its pool's bound for the next night.
fn settle(hits: &[Hit], bound: Score, depth: usize, capacity: usize, shift: Score) -> Option<Score> {
    let left_out = bound + shift;
    let stands = bound == Score::NEG_INFINITY || hits.get(depth.saturating_sub(1)).is_some_and(|h| h.score > left_out);
    stands.then(|| if bound == Score::NEG_INFINITY { full_bound(hits, capacity) } else { left_out.max(full_bound(hits, capacity)) })
}

/// What an incremental night did with the resource lists.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ResourceStats {
    /// Lists of kept partners settled from last night's pool and the fresh supporters.
    pub settled: usize,
    /// Lists made in full: of fresh partners, and of kept ones that could change beyond
    /// their pool.
    pub recomputed: usize,
    /// The support shift allowed between the nights ([`support_shift`]).
    pub shift: Score,
}

/// The resource pools of `needy` (`depth + margin` supporters each, with their bounds) from
/// last night's (`previous`, by partner index: `Some` for a kept partner in need), as
/// [`rank`] does for the lists: a kept partner's pool is rescored (its kept supporters) and
/// merged with its best fresh supporters (`kept` says which partners are kept); it stands
/// when its `depth`-th support beats last night's bound moved by `shift`, else it is made
/// in full, as is a fresh partner's.
pub fn resource_lists(supporters: &Supporters, needy: &[PartnerIdx], previous: &[Option<PreviousPool>], (depth, margin): (usize, usize), shift: Score, kept: &(dyn Fn(PartnerIdx) -> bool + Sync), admits: &(dyn Fn(PartnerIdx, PartnerIdx) -> bool + Sync)) -> (Vec<Pool>, ResourceStats) {
    let capacity = depth + margin;
    let (old, new): (Vec<PartnerIdx>, Vec<PartnerIdx>) = needy.iter().partition(|&&b| previous[b as usize].is_some());
    let fresh_supporters = supporters.only(|s| !kept(s));
    let fresh_hits = fresh_supporters.resource_lists(&old, capacity, admits);
    let settled: Vec<Option<Pool>> = old
        .par_iter()
        .zip(fresh_hits)
        .map(|(&partner, fresh)| {
            let last = previous[partner as usize].as_ref().expect("a kept partner in need has a pool");
            let mut hits: Vec<Hit> = last
                .candidates
                .iter()
                .filter(|&&s| kept(s) && admits(s, partner))
                .filter_map(|&s| supporters.support(s, partner).map(|support| Hit { candidate: s, score: support.score }))
                .chain(fresh)
                .collect();
            hits.sort_by(ranking_order);
            hits.truncate(capacity);
            settle(&hits, last.bound, depth, capacity, shift).map(|bound| Pool { list: Shortlist { partner, hits }, bound })
        })
        .collect();
    let mut pools: Vec<Option<Pool>> = vec![None; previous.len()];
    for pool in settled.into_iter().flatten() {
        let partner = pool.list.partner as usize;
        pools[partner] = Some(pool);
    }
    let anew: Vec<PartnerIdx> = old.iter().copied().filter(|&b| pools[b as usize].is_none()).chain(new).collect();
    for (&partner, hits) in anew.iter().zip(supporters.resource_lists(&anew, capacity, admits)) {
        pools[partner as usize] = Some(Pool { bound: full_bound(&hits, capacity), list: Shortlist { partner, hits } });
    }
    let stats = ResourceStats { settled: needy.len() - anew.len(), recomputed: anew.len(), shift };
    (needy.iter().map(|&b| pools[b as usize].take().expect("every partner in need has a pool")).collect(), stats)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::coverage_move;
    use crate::engine::score::MutualRule;

    /// A coverage (f64): the weights of the needs met over the weights of all needs.
    fn coverage(weights: &[f64], needs: u16, met: u16) -> f64 {
        let mass = |set: u16| (0..weights.len()).filter(|&t| set & (1 << t) != 0).map(|t| weights[t]).sum::<f64>();
        mass(met & needs) / mass(needs)
    }

    proptest! {
        /// Every theme weight moved by a factor within [ρ_min, ρ_max]: each coverage, their
        /// maximum and each fusion moves by at most `coverage_move(ρ_max / ρ_min)`.
        #[test]
        fn no_coverage_or_fusion_moves_further_than_the_bound(
            weights in prop::collection::vec(0.05f64..5.0, 12),
            // Often at the ends of the range, where the bound is reached.
            factors in prop::collection::vec(prop_oneof![Just(0.0f64), Just(1.0), 0.0f64..1.0], 12),
            (low, spread) in (0.5f64..2.0, 0.0f64..0.6),
            (needs_a, met_a, needs_b, met_b) in (1u16..4096, any::<u16>(), 1u16..4096, any::<u16>()),
        ) {
            let tonight: Vec<f64> = weights.iter().zip(&factors).map(|(w, f)| w * (low + f * spread)).collect();
            let (rho_min, rho_max) = factors.iter().map(|f| low + f * spread).fold((f64::INFINITY, 0.0f64), |(a, b), r| (a.min(r), b.max(r)));
            let bound = coverage_move(rho_max / rho_min) + 1e-12;
            let (a, b) = (coverage(&weights, needs_a, met_a), coverage(&weights, needs_b, met_b));
            let (a2, b2) = (coverage(&tonight, needs_a, met_a), coverage(&tonight, needs_b, met_b));
            prop_assert!((a2 - a).abs() <= bound && (b2 - b).abs() <= bound);
            prop_assert!((a2.max(b2) - a.max(b)).abs() <= bound);
            for rule in MutualRule::ALL {
                let fuse = |x: f64, y: f64| f64::from(rule.fuse(x as f32, y as f32));
                // f32 fusion: a few ulps of room.
                prop_assert!((fuse(a2, b2) - fuse(a, b)).abs() <= bound + 1e-6, "{rule:?}: {} -> {}", fuse(a, b), fuse(a2, b2));
            }
        }
    }

    /// The bound is reached: a need met of weight 1 beside one unmet of weight √r, the met
    /// one's weight multiplied by r and the other's kept.
    #[test]
    fn the_bound_is_tight() {
        for r in [1.001f64, 1.02, 1.5, 4.0] {
            let before = coverage(&[1.0, r.sqrt()], 0b11, 0b01);
            let after = coverage(&[r, r.sqrt()], 0b11, 0b01);
            assert!((after - before - coverage_move(r)).abs() < 1e-12, "r = {r}: {} against {}", after - before, coverage_move(r));
            assert!(coverage_move(r) < (r - 1.0) / 3.0, "well under r - 1");
        }
    }
}
