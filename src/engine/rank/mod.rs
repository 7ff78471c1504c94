//! Rank: the one scan that scores queries against candidates, and the best k of each.
//!
//! Input: a [`Scan`]: the [`Scorer`], the [`RuleSet`] and the [`Candidates`] (columns scanned
//! whole, or the block tree of blocked mode); a set of query partners (all active partners,
//! a sample, one partner for `explain`) and a [`Collector`]. Output: each query's fruit, in
//! query order, and [`RankStats`] (pairs scored, pairs each rule removed).
//!
//! Every command ranks through [`Scan::run`]; the kernel ([`crate::engine::score::kernel`])
//! applies the rules to a run of candidates, bounds their scores and marks those that can
//! still reach the collector's floor, and only those are scored exactly and offered.
//! Three drivers, chosen by the shape of the work:
//!
//! - **pairwise** (every active partner against every partner, the nightly job): the score
//!   and every rule's verdict but `candidate_active` are symmetric, so partner q scans only
//!   the candidates after it and feeds both collectors of each pair. Each pool thread keeps
//!   a collector for every active partner and takes blocks of partners from a shared
//!   counter; the collectors are merged at the end. Lists start from floors found on a
//!   sample of candidates (a lower bound of the final floor). The same loop ranks some
//!   partners against everyone ([`Scan::around`], an incremental night's fresh partners): a
//!   pair of two of them from the lower one's side, any other pair from theirs, for both
//!   lists.
//! - **per query** (any other set): rayon over blocks of queries, each owning its collectors,
//!   tile-outer (a tile of candidate columns is read from cache by every query of the block).
//! - **blocked**: each query scans the leaf blocks of its best bounds until they hold `probe`
//!   candidates, planned in batches of neighbours (a run of 64 of a leaf block's members,
//!   [`Blocks::plan`]); the batch reads the union leaf by leaf, and a member skips a leaf
//!   whose bound is below its floor.
//!
//! Memory is O(threads × partners × collector). **Invariant:** the output is identical for
//! any thread count (collectors merge associatively, [`top_k`] orders totally), and a
//! query's list for any set of queries it is asked with (what lets a night be sharded).

pub mod collector;
pub mod rerank;
pub mod top_k;

use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};

use rayon::prelude::*;

use crate::engine::candidates::{BlockTree, Blocks};
use crate::engine::profile::IdSet;
use crate::engine::rules::{Rule, RuleSet};
use crate::engine::score::columns::{Columns, TILE};
use crate::engine::score::kernel::{Kernel, Reach, Tile};
use crate::engine::score::query::Query;
use crate::engine::score::Scorer;
use crate::{PartnerIdx, Score};

pub use collector::{Collector, QueryCollector, TopKCollector};
pub use top_k::{Hit, TopK};

/// Queries per parallel task: big enough to amortise scheduling, small enough to balance.
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

/// Counters of a scan.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RankStats {
    /// Pairs that passed every rule and were scored.
    pub pairs_scored: u64,
    /// Pairs removed, per rule (same order as [`RuleSet::names`]).
    pub removed_by_rule: Vec<u64>,
}

impl RankStats {
    /// No pair scored or removed yet.
    pub fn new(rules: &RuleSet) -> Self {
        RankStats {
            pairs_scored: 0,
            removed_by_rule: vec![0; rules.len()],
        }
    }

    /// The counters of two scans together.
    pub fn merge(mut self, other: RankStats) -> RankStats {
        self.pairs_scored += other.pairs_scored;
        for (mine, theirs) in self.removed_by_rule.iter_mut().zip(other.removed_by_rule) {
            *mine += theirs;
        }
        self
    }
}

/// What a scan scores the queries against.
pub enum Candidates<'a> {
    /// Columns scanned whole (every partner in index order for exact lists, or a subset).
    Columns(&'a Columns),
    /// The same, owned by the scan (freed with it).
    Owned(Box<Columns>),
    /// The block tree of blocked mode, with its leaves' columns and the probe limit.
    Blocks(&'a Blocks),
}

/// The one ranking loop: queries against candidates, through the tile kernel, into a
/// collector.
pub struct Scan<'a> {
    scorer: Scorer<'a>,
    rules: &'a RuleSet,
    candidates: Candidates<'a>,
}

/// Each query's fruit, in query order.
pub type Fruits<F> = Vec<(PartnerIdx, F)>;

impl<'a> Scan<'a> {
    /// A scan of `candidates` under `rules`.
    pub fn new(scorer: Scorer<'a>, rules: &'a RuleSet, candidates: Candidates<'a>) -> Self {
        Scan { scorer, rules, candidates }
    }

    /// Scores every query against the candidates into `collector`; `progress` is told how
    /// many queries each finished block held.
    pub fn run<C: Collector>(&self, queries: &[PartnerIdx], collector: &C, progress: &(dyn Fn(u64) + Sync)) -> (Fruits<<C::Child as QueryCollector>::Fruit>, RankStats) {
        let (children, stats) = match &self.candidates {
            Candidates::Columns(columns) => self.whole(columns, queries, collector, progress),
            Candidates::Owned(columns) => self.whole(columns, queries, collector, progress),
            Candidates::Blocks(blocks) => self.blocked(blocks, queries, collector, progress),
        };
        (children.into_iter().map(|(q, child)| (q, child.harvest())).collect(), stats)
    }

    /// The best `k` of each query.
    pub fn shortlists(&self, queries: &[PartnerIdx], k: usize, progress: &(dyn Fn(u64) + Sync)) -> (Vec<Shortlist>, RankStats) {
        let (fruits, stats) = self.run(queries, &TopKCollector { k }, progress);
        (fruits.into_iter().map(|(partner, hits)| Shortlist { partner, hits }).collect(), stats)
    }

    fn kernel<'k>(&'k self, columns: &'k Columns) -> Kernel<'k> {
        Kernel::new(&self.scorer, self.rules, columns)
    }

    /// Every query against every column: pairwise when it can, else per query.
    fn whole<C: Collector>(&self, columns: &Columns, queries: &[PartnerIdx], collector: &C, progress: &(dyn Fn(u64) + Sync)) -> (Fruits<C::Child>, RankStats) {
        if self.is_pairwise(columns, queries) {
            self.pairwise(columns, queries, collector, progress)
        } else {
            self.per_query(columns, queries, collector, progress)
        }
    }

    /// Whether the queries are exactly the active partners, ascending, and the candidates
    /// every partner in index order.
    fn is_pairwise(&self, columns: &Columns, queries: &[PartnerIdx]) -> bool {
        let active = &self.scorer.features().active;
        columns.is_index_order(active.len())
            && queries.windows(2).all(|w| w[0] < w[1])
            && queries.iter().all(|&p| active[p as usize])
            && queries.len() == active.iter().filter(|&&a| a).count()
    }

    /// Per query: blocks of queries in parallel, tile-outer.
    fn per_query<C: Collector>(&self, columns: &Columns, queries: &[PartnerIdx], collector: &C, progress: &(dyn Fn(u64) + Sync)) -> (Fruits<C::Child>, RankStats) {
        let kernel = self.kernel(columns);
        let blocks: Vec<&[PartnerIdx]> = queries.chunks(QUERY_BLOCK).collect();
        self.in_blocks(&blocks, progress, |&block, stats| {
            let queries: Vec<Query> = block.iter().map(|&p| Query::new(&self.scorer, p)).collect();
            let mut children: Vec<C::Child> = block.iter().map(|&p| collector.for_query(p)).collect();
            let mut tile = Box::<Tile>::default();
            for run in Columns::runs(0..columns.len()) {
                for (child, query) in children.iter_mut().zip(&queries) {
                    scan_run(&kernel, query, run.clone(), &mut tile, child, stats);
                }
            }
            block.iter().copied().zip(children).collect()
        })
    }

    /// Pairwise: each pair of active partners scored once, for both collectors.
    fn pairwise<C: Collector>(&self, columns: &Columns, partners: &[PartnerIdx], collector: &C, progress: &(dyn Fn(u64) + Sync)) -> (Fruits<C::Child>, RankStats) {
        let n = columns.len();
        let (mut children, forward) = self.pairs_from(columns, partners, vec![Score::NEG_INFINITY; n], collector, progress);
        // Every scanned pair stands for both its directions, except for the two rules the scan
        // never meets: a partner with itself, and an active partner with an inactive one.
        let mut stats = RankStats {
            pairs_scored: 2 * forward.pairs_scored,
            removed_by_rule: forward.removed_by_rule.iter().map(|r| 2 * r).collect(),
        };
        let inactive = (n - partners.len()) as u64;
        for (slot, rule) in stats.removed_by_rule.iter_mut().zip(self.rules.iter()) {
            match rule {
                Rule::NoSelfMatch => *slot = partners.len() as u64,
                Rule::CandidateActive => *slot = partners.len() as u64 * inactive,
                _ => {}
            }
        }
        let fruits = partners.iter().map(|&p| (p, children[p as usize].take().expect("an active partner has a collector"))).collect();
        (fruits, stats)
    }

    /// Some partners (`queries`, active, ascending) against every active partner, each pair
    /// scored once for the collectors of both: the fruit of every active partner, by index (a
    /// query's of every candidate; any other's of the queries alone), and the counters of the
    /// pairs the kernel scanned (a pair of two queries twice, once from each side).
    /// `floors`: for each partner, a score below which its candidates are not wanted (−∞: all
    /// are; an incremental night's kept partner, the last score of the pool its fresh
    /// candidates join, when the pool is full): only the part of its fruit at or above it is
    /// exact (below it, what was kept depends on the threads' timing). The candidates must be
    /// every partner in index order and the queries active and ascending (panics otherwise).
    pub fn around<C: Collector>(&self, queries: &[PartnerIdx], floors: Vec<Score>, collector: &C, progress: &(dyn Fn(u64) + Sync)) -> (Vec<Option<<C::Child as QueryCollector>::Fruit>>, RankStats) {
        let columns = match &self.candidates {
            Candidates::Columns(columns) => *columns,
            Candidates::Owned(columns) => columns,
            Candidates::Blocks(_) => panic!("a scan around some partners reads every partner's columns"),
        };
        let active = &self.scorer.features().active;
        assert!(columns.is_index_order(active.len()), "a scan around some partners reads the columns in index order");
        assert!(queries.windows(2).all(|w| w[0] < w[1]) && queries.iter().all(|&q| active[q as usize]), "the queries are active and ascending");
        let (children, stats) = self.pairs_from(columns, queries, floors, collector, progress);
        (children.into_iter().map(|child| child.map(QueryCollector::harvest)).collect(), stats)
    }

    /// The pairwise loop: each query (active, ascending) against every active partner but
    /// the queries before it, each pair for both collectors. Each pool thread keeps a
    /// collector for every active partner and takes blocks of queries from a shared counter;
    /// the collectors are merged at the end. `floors` as in [`Scan::around`]; the queries'
    /// are raised to their floors on a sample of candidates.
    fn pairs_from<C: Collector>(&self, columns: &Columns, queries: &[PartnerIdx], mut floors: Vec<Score>, collector: &C, progress: &(dyn Fn(u64) + Sync)) -> (Vec<Option<C::Child>>, RankStats) {
        let n = columns.len();
        let kernel = self.kernel(columns);
        let active = &self.scorer.features().active;
        let mut is_query = vec![false; n];
        for &q in queries {
            is_query[q as usize] = true;
        }
        // A query's candidates are the queries after it and every other active partner: its
        // scan starts at the first of them (below it, only when some partner is no query).
        let first_other = (0..n).find(|&p| active[p] && !is_query[p]).unwrap_or(n);
        let start_of = |q: usize| first_other.min(q + 1);
        // A list sees most of its pairs late here (those of the partners before it), so its
        // floor would rise slowly. Its floor against a sample of candidates is a lower bound
        // of its final floor: pairs whose bound is below it are skipped, exactly.
        let sample = 0..n.min(FLOOR_SAMPLE);
        let sampled: Vec<Score> = queries
            .par_iter()
            .map_init(Box::<Tile>::default, |tile, &partner| {
                let query = Query::new(&self.scorer, partner);
                let (mut child, mut ignored) = (collector.for_query(partner), RankStats::new(self.rules));
                for run in Columns::runs(sample.clone()) {
                    scan_run(&kernel, &query, run, tile, &mut child, &mut ignored);
                }
                child.final_floor()
            })
            .collect();
        for (&partner, floor) in queries.iter().zip(sampled) {
            floors[partner as usize] = floors[partner as usize].max(floor);
        }
        let blocks: Vec<&[PartnerIdx]> = queries.chunks(QUERY_BLOCK).collect();
        let next = AtomicUsize::new(0);
        let per_thread: Vec<(Vec<Option<C::Child>>, RankStats)> = rayon::broadcast(|_| {
            let mut children: Vec<Option<C::Child>> = (0..n).map(|p| active[p].then(|| collector.for_query(p as PartnerIdx))).collect();
            let mut floors = floors.clone();
            let mut stats = RankStats::new(self.rules);
            let mut tile = Box::<Tile>::default();
            while let Some(block) = blocks.get(next.fetch_add(1, Ordering::Relaxed)) {
                let queries: Vec<Query> = block.iter().map(|&p| Query::new(&self.scorer, p)).collect();
                let first = start_of(block[0] as usize);
                for start in (first / TILE * TILE..n).step_by(TILE) {
                    for query in &queries {
                        let q = query.partner() as usize;
                        let run = start.max(start_of(q))..n.min(start + TILE);
                        if run.is_empty() {
                            continue;
                        }
                        let reach = Reach::Both(floors[q], &floors[run.clone()]);
                        kernel.score_tile(query, run.clone(), reach, &mut tile, &mut stats.removed_by_rule);
                        stats.pairs_scored += tile.admitted_count();
                        for offset in tile.marked() {
                            let c = run.start + offset;
                            // The floors rise as candidates arrive: check again. A pair of two
                            // queries is the lower one's.
                            if (is_query[c] && c < q) || !tile.reaches(offset, floors[q].min(floors[c])) {
                                continue;
                            }
                            let (score, terms) = kernel.exact(&tile, query, offset);
                            for (list, other) in [(q, c), (c, q)] {
                                let child = children[list].as_mut().expect("both sides of a scanned pair are active");
                                child.collect(other as PartnerIdx, score, &terms);
                                floors[list] = floors[list].max(child.floor());
                            }
                        }
                    }
                }
                progress(block.len() as u64);
            }
            (children, stats)
        });
        let mut per_thread = per_thread.into_iter();
        let (mut children, mut stats) = per_thread.next().expect("a pool has a thread");
        for (others, other_stats) in per_thread {
            for (child, other) in children.iter_mut().zip(others) {
                if let (Some(child), Some(other)) = (child.as_mut(), other) {
                    child.merge(other);
                }
            }
            stats = stats.merge(other_stats);
        }
        (children, stats)
    }

    /// Blocked: batches of neighbours read the leaves their members' bounds chose, each
    /// member scanning those it may still improve from.
    fn blocked<C: Collector>(&self, blocks: &Blocks, queries: &[PartnerIdx], collector: &C, progress: &(dyn Fn(u64) + Sync)) -> (Fruits<C::Child>, RankStats) {
        let features = self.scorer.features();
        let tree: &BlockTree = &blocks.tree;
        let kernels: Vec<Kernel> = blocks.leaves.iter().map(|columns| self.kernel(columns)).collect();
        let batches = tree.batches(queries);
        let (mut fruits, stats) = self.in_blocks(&batches, progress, |batch, stats| {
            let mut tile = Box::<Tile>::default();
            let queries: Vec<Query> = batch.members.iter().map(|&p| Query::new(&self.scorer, p)).collect();
            let mut children: Vec<C::Child> = batch.members.iter().map(|&p| collector.for_query(p)).collect();
            // The plan of the whole batch, whichever members are asked: the order of the
            // leaves, and with it what a member skips, is the same in a shard.
            let plan = blocks.plan(&self.scorer, &batch.members);
            // Leaf by leaf, each read from memory once for the members that scan it; a member
            // skips a leaf whose bound is below its floor.
            for &(leaf, mask) in &plan.order {
                let kernel = &kernels[leaf];
                for m in IdSet(mask & batch.asked).iter().map(usize::from) {
                    let child = &mut children[m];
                    if child.floor().is_finite() && plan.bound(m, leaf) < child.floor() {
                        continue;
                    }
                    scan_run(kernel, &queries[m], 0..kernel.columns().len(), &mut tile, child, stats);
                }
            }
            batch.members.iter().copied().zip(children).enumerate().filter(|(m, _)| batch.asked >> m & 1 == 1).map(|(_, fruit)| fruit).collect()
        });
        let mut rank_of = vec![usize::MAX; features.len()];
        for (r, &p) in queries.iter().enumerate() {
            rank_of[p as usize] = r;
        }
        fruits.sort_by_key(|(p, _)| rank_of[*p as usize]);
        (fruits, stats)
    }

    /// Runs `scan_block` over blocks of queries in parallel, each with its own counters, and
    /// concatenates their fruits in block order (progress: a query per fruit). Every block is a
    /// task of its own: rayon's default split runs a quarter of a thread's share as one
    /// sequential piece that no idle thread can take, and at 1M the last such piece kept one
    /// core busy for the rank stage's last 13 s while the other waited.
    fn in_blocks<B: Sync, F: Send>(
        &self,
        blocks: &[B],
        progress: &(dyn Fn(u64) + Sync),
        scan_block: impl Fn(&B, &mut RankStats) -> Fruits<F> + Sync,
    ) -> (Fruits<F>, RankStats) {
        let blocks: Vec<(Fruits<F>, RankStats)> = blocks
            .par_iter()
            .with_max_len(1)
            .map(|block| {
                let mut stats = RankStats::new(self.rules);
                let fruits = scan_block(block, &mut stats);
                progress(fruits.len() as u64);
                (fruits, stats)
            })
            .collect();
        let mut all = Vec::new();
        let mut total = RankStats::new(self.rules);
        for (fruits, stats) in blocks {
            all.extend(fruits);
            total = total.merge(stats);
        }
        (all, total)
    }
}

/// Scores one query against the positions `run` of the kernel's columns and offers the
/// candidates whose bound reaches the collector's floor: the rules first, then the bound,
/// then the exact score.
fn scan_run<Q: QueryCollector>(kernel: &Kernel, query: &Query, run: Range<usize>, tile: &mut Tile, child: &mut Q, stats: &mut RankStats) {
    let reach = Reach::One(child.floor());
    kernel.score_tile(query, run.clone(), reach, tile, &mut stats.removed_by_rule);
    stats.pairs_scored += tile.admitted_count();
    for offset in tile.marked() {
        let (score, terms) = kernel.exact(tile, query, offset);
        child.collect(kernel.columns().partner[run.start + offset], score, &terms);
    }
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
