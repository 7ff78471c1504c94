//! Rank: give me the best k candidates of every partner, in a stable order.
//!
//! Input: a [`Scorer`], the [`RuleSet`] and the partners to rank for (any subset, so the query
//! side can be split into shards and merged). Output: one [`Shortlist`] per partner, in the
//! order given, and [`RankStats`] (pairs scored, pairs each rule removed).
//!
//! Candidates are scanned exhaustively, a tile of candidate columns at a time
//! ([`crate::engine::score::tile`]); partners are processed in parallel blocks with rayon, each block
//! owning its collectors (no shared mutable state). Memory is O(partners × (k + features)).
//!
//! **Invariant:** the output is identical for any thread count ([`top_k`] orders totally, so
//! a list is the best k of the hits offered, however they were split among threads).

pub mod rerank;
pub mod top_k;

use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};

use rayon::prelude::*;

use crate::engine::candidates::BlockTree;
use crate::engine::profile::IdSet;
use crate::engine::rules::{Rule, RuleSet};
use crate::engine::score::tile::{Columns, Query, Reach, Tile, TILE};
use crate::engine::score::bound::GroupSummary;
use crate::engine::score::Scorer;
use crate::{PartnerIdx, Score};

pub use top_k::{Hit, TopK};

/// Partners per parallel task: big enough to amortise scheduling, small enough to balance.
const QUERY_BLOCK: usize = 32;

/// Candidates each list is first scored against, for its initial floor (pairwise scan).
const FLOOR_SAMPLE: usize = 2048;

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
/// each finished block held. When `partners` are exactly the active partners (the nightly
/// job), each pair is scored once for both lists ([`shortlists_symmetric`]).
pub fn shortlists(
    scorer: &Scorer,
    rules: &RuleSet,
    partners: &[PartnerIdx],
    k: usize,
    progress: &(dyn Fn(u64) + Sync),
) -> (Vec<Shortlist>, RankStats) {
    let active = &scorer.features().active;
    let all_active = partners.windows(2).all(|w| w[0] < w[1])
        && partners.iter().all(|&p| active[p as usize])
        && partners.len() == active.iter().filter(|&&a| a).count();
    if all_active {
        return shortlists_symmetric(scorer, rules, partners, k, progress);
    }
    let columns = Columns::in_index_order(scorer);
    in_blocks(&partners.chunks(QUERY_BLOCK).collect::<Vec<_>>(), rules, progress, |block, stats| {
        let queries: Vec<Query> = block.iter().map(|&p| Query::new(scorer, p)).collect();
        let mut tops: Vec<TopK> = block.iter().map(|_| TopK::new(k)).collect();
        let mut tile = Box::<Tile>::default();
        // Tile-outer: a tile of candidate columns is read from cache by every partner of the block.
        for run in Columns::runs(0..columns.len()) {
            for (top, query) in tops.iter_mut().zip(&queries) {
                scan(scorer, rules, &columns, query, run.clone(), &mut tile, top, stats);
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

/// Exact lists of every active partner (`partners`, ascending), each pair scored once: the
/// score is symmetric bit for bit, and so is every rule's verdict but `candidate_active`, which
/// only the query side of an inactive pair fails. Partner q scans the candidates after it and
/// feeds both lists of each pair. Each pool thread keeps collectors for every partner (memory
/// O(threads × N × k)) and takes blocks of partners from a shared counter; the collectors are
/// merged at the end, and the best k of a union does not depend on how it was split.
fn shortlists_symmetric(
    scorer: &Scorer,
    rules: &RuleSet,
    partners: &[PartnerIdx],
    k: usize,
    progress: &(dyn Fn(u64) + Sync),
) -> (Vec<Shortlist>, RankStats) {
    let n = scorer.features().len();
    let columns = Columns::in_index_order(scorer);
    // A list sees most of its pairs late here (those of the partners before it), so its floor
    // would rise slowly. Its k-th best score against a sample of candidates is a lower bound
    // of its final k-th score: pairs whose bound is below it are skipped, exactly.
    let sample = 0..n.min(FLOOR_SAMPLE);
    let mut initial_floors = vec![f32::NEG_INFINITY; n];
    let sampled: Vec<f32> = partners
        .par_iter()
        .map_init(Box::<Tile>::default, |tile, &partner| {
            let query = Query::new(scorer, partner);
            let (mut top, mut ignored) = (TopK::new(k), RankStats::new(rules));
            for run in Columns::runs(sample.clone()) {
                scan(scorer, rules, &columns, &query, run, tile, &mut top, &mut ignored);
            }
            let hits = top.into_sorted();
            if hits.len() == k { hits[k - 1].score } else { f32::NEG_INFINITY }
        })
        .collect();
    for (&partner, floor) in partners.iter().zip(sampled) {
        initial_floors[partner as usize] = floor;
    }
    let blocks: Vec<&[PartnerIdx]> = partners.chunks(QUERY_BLOCK).collect();
    let next = AtomicUsize::new(0);
    let per_thread: Vec<(Vec<TopK>, RankStats)> = rayon::broadcast(|_| {
        let mut tops: Vec<TopK> = (0..n).map(|_| TopK::new(k)).collect();
        let mut floors = initial_floors.clone();
        let mut stats = RankStats::new(rules);
        let mut tile = Box::<Tile>::default();
        while let Some(block) = blocks.get(next.fetch_add(1, Ordering::Relaxed)) {
            let queries: Vec<Query> = block.iter().map(|&p| Query::new(scorer, p)).collect();
            let first = block[0] as usize + 1;
            for start in (first / TILE * TILE..n).step_by(TILE) {
                for query in &queries {
                    let q = query.partner() as usize;
                    let run = start.max(q + 1)..n.min(start + TILE);
                    if run.is_empty() {
                        continue;
                    }
                    let reach = Reach::Both(floors[q], &floors[run.clone()]);
                    scorer.score_tile(rules, &columns, query, run.clone(), reach, &mut tile, &mut stats.removed_by_rule);
                    stats.pairs_scored += tile.admitted_count();
                    for offset in tile.marked() {
                        let c = run.start + offset;
                        // The floors rise as hits arrive: check again.
                        if !tile.reaches(offset, floors[q].min(floors[c])) {
                            continue;
                        }
                        let score = tile.exact_score(scorer, &columns, query.partner(), offset);
                        for (list, other) in [(q, c), (c, q)] {
                            tops[list].push(Hit { candidate: other as PartnerIdx, score });
                            floors[list] = floors[list].max(tops[list].floor().unwrap_or(f32::NEG_INFINITY));
                        }
                    }
                }
            }
            progress(block.len() as u64);
        }
        (tops, stats)
    });
    let mut per_thread = per_thread.into_iter();
    let (mut tops, mut forward) = per_thread.next().expect("a pool has a thread");
    for (other_tops, stats) in per_thread {
        for (top, other) in tops.iter_mut().zip(other_tops) {
            other.into_sorted().into_iter().for_each(|hit| top.push(hit));
        }
        forward = forward.merge(stats);
    }
    // Every scanned pair stands for both its directions, except for the two rules the scan
    // never meets: a partner with itself, and an active partner with an inactive one.
    let mut stats = RankStats {
        pairs_scored: 2 * forward.pairs_scored,
        removed_by_rule: forward.removed_by_rule.iter().map(|r| 2 * r).collect(),
    };
    let inactive = (n - partners.len()) as u64;
    for (slot, rule) in stats.removed_by_rule.iter_mut().zip(rules.iter()) {
        match rule {
            Rule::NoSelfMatch => *slot = partners.len() as u64,
            Rule::CandidateActive => *slot = partners.len() as u64 * inactive,
            _ => {}
        }
    }
    let lists = partners
        .iter()
        .map(|&partner| Shortlist {
            partner,
            hits: std::mem::replace(&mut tops[partner as usize], TopK::new(0)).into_sorted(),
        })
        .collect();
    (lists, stats)
}

/// Runs `rank_block` over blocks of partners in parallel, each with its own counters, and
/// merges the lists in block order.
fn in_blocks(
    blocks: &[&[PartnerIdx]],
    rules: &RuleSet,
    progress: &(dyn Fn(u64) + Sync),
    rank_block: impl Fn(&[PartnerIdx], &mut RankStats) -> Vec<Shortlist> + Sync,
) -> (Vec<Shortlist>, RankStats) {
    let blocks: Vec<(Vec<Shortlist>, RankStats)> = blocks
        .par_iter()
        .map(|&block| {
            let mut stats = RankStats::new(rules);
            let lists = rank_block(block, &mut stats);
            progress(block.len() as u64);
            (lists, stats)
        })
        .collect();
    let mut all = Vec::new();
    let mut total = RankStats::new(rules);
    for (lists, stats) in blocks {
        all.extend(lists);
        total = total.merge(stats);
    }
    (all, total)
}

/// Scores one partner against the positions `run` of `columns` and offers the candidates
/// whose bound can still enter its list: the rules first, then the bound, then the exact score.
#[allow(clippy::too_many_arguments)]
fn scan(
    scorer: &Scorer,
    rules: &RuleSet,
    columns: &Columns,
    query: &Query,
    run: Range<usize>,
    tile: &mut Tile,
    top: &mut TopK,
    stats: &mut RankStats,
) {
    let reach = Reach::One(top.floor().unwrap_or(Score::NEG_INFINITY));
    scorer.score_tile(rules, columns, query, run.clone(), reach, tile, &mut stats.removed_by_rule);
    stats.pairs_scored += tile.admitted_count();
    for offset in tile.marked() {
        let score = tile.exact_score(scorer, columns, query.partner(), offset);
        top.push(Hit {
            candidate: columns.partner[run.start + offset],
            score,
        });
    }
}

/// Like [`shortlists`], but partners walk the [`BlockTree`] best bound first, a batch of
/// neighbours (a leaf block) at a time ([`BlockTree::search`]): a leaf is read from memory
/// once for the whole batch, and scanned for each partner whose own bound with it reaches its
/// list's floor, at most `probe` leaves per partner (`None`: until the list is exact). Each
/// leaf has columns of its own, a few pages, not a slice of every column of the registry:
/// the walk jumps from leaf to leaf and one column set would cost a page walk per column.
#[allow(clippy::too_many_arguments)]
pub fn shortlists_blocked(
    scorer: &Scorer,
    rules: &RuleSet,
    partners: &[PartnerIdx],
    k: usize,
    tree: &BlockTree,
    probe: Option<usize>,
    progress: &(dyn Fn(u64) + Sync),
) -> (Vec<Shortlist>, RankStats) {
    let features = scorer.features();
    let leaves: Vec<&[PartnerIdx]> = tree.leaves().collect();
    let columns: Vec<Columns> = leaves.par_iter().map(|members| Columns::build(scorer, members.to_vec())).collect();
    let batches = tree.batches(partners);
    let batches: Vec<&[PartnerIdx]> = batches.iter().map(Vec::as_slice).collect();
    let (mut lists, stats) = in_blocks(&batches, rules, progress, |batch, stats| {
        let mut tile = Box::<Tile>::default();
        let mut walkers: Vec<Walker> = batch
            .iter()
            .map(|&p| Walker {
                query: Query::new(scorer, p),
                top: TopK::new(k),
                scanned: 0,
            })
            .collect();
        let members: Vec<GroupSummary> = batch.iter().map(|&p| GroupSummary::of(features, &[p])).collect();
        tree.search(scorer, &GroupSummary::of(features, batch), &members, |leaf, mask, floors| {
            let columns = &columns[leaf];
            for m in IdSet(mask).iter().map(usize::from) {
                let w = &mut walkers[m];
                scan(scorer, rules, columns, &w.query, 0..columns.len(), &mut tile, &mut w.top, stats);
                w.scanned += 1;
                // A partner at its probe limit retires from the walk.
                floors[m] = if probe == Some(w.scanned) { Some(Score::INFINITY) } else { w.top.floor() };
            }
        });
        walkers.into_iter().map(|w| Shortlist { partner: w.query.partner(), hits: w.top.into_sorted() }).collect()
    });
    let mut rank_of = vec![usize::MAX; features.len()];
    for (r, &p) in partners.iter().enumerate() {
        rank_of[p as usize] = r;
    }
    lists.sort_by_key(|l| rank_of[l.partner as usize]);
    (lists, stats)
}

/// One partner of a batch walking the block tree.
struct Walker {
    query: Query,
    top: TopK,
    /// Leaves scanned so far.
    scanned: usize,
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
