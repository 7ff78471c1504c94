//! Candidates: which pairs are worth scoring?
//!
//! Input: [`PartnerFeatures`], the active partners, `--probe` and `--max-block`. Output: a
//! [`BlockTree`]: the active partners sorted so that partners alike in what the score weighs
//! most sit together, cut into nested blocks whose leaves hold at most [`LEAF`] partners,
//! each leaf with its columns and a [`GroupSummary`] for the score bound
//! ([`crate::engine::score::bound`]); and, per batch of partners, a [`Plan`]: the leaves each
//! member scans and the order they are read in.
//!
//! ```text
//!   root ── one node per (UN sub-region, actor type)
//!            └── one node per country (pieces of at most --max-block partners)
//!                 └── leaves of at most LEAF partners, consecutive in the order
//!                     (roles, themes offered, themes needed, sectors)
//! ```
//!
//! A partner scans the leaves of its best bounds: its bound with every leaf comes from the
//! leaves' summaries as columns, a few vectorised passes ([`Scorer::bounds_with`]), and it
//! takes leaves in descending order of bound until they hold `--probe` candidates (every leaf
//! without a probe). Partners are planned in batches of neighbours (runs of [`BATCH`]
//! partners of one leaf block): their leaves overlap, and the batch reads the union of them
//! leaf by leaf, the highest bound any member has with a leaf first, so a leaf's columns
//! come from memory once for all the members that scan it. A member skips a leaf whose bound
//! is below its list floor by then: nothing there can enter its list. So a partner's list is
//! the best k of the leaves its own bounds chose, whatever its batch (exact without a
//! probe); the recall of the probe is measured on a sample.
//!
//! Why each member's own bounds, not the batch's walk of the tree (until 2026-12-06): a
//! batch walked the tree best bound first by the batch's bound, and each member scanned the
//! leaves the walk reached while its own bound reached its floor, in the batch's order. At
//! 1M, 64,000 candidates per partner gave recall@10 0.979 that way and 0.989 in each
//! member's own order; the member's bounds with every node (a scalar bound at a time, two
//! billion of them) were a quarter of the rank stage, and the bounds with all 10,000 leaves
//! in columns cost less than that.
//!
//! Why these blocks and not the k-means clusters: clusters group partners that look alike,
//! but the score pairs a need with an offer, so a cluster's members score very differently
//! with one partner and its bound is loose. Measured on 300 partners of the 1M generated
//! registry: ranking blocks by bound, k-means blocks (k = √N) needed 75 % of all pairs (at
//! 100k) for exact lists, these blocks 3 %.
//!
//! **Invariant:** a partner scans a subset of the exact candidates; with no probe limit the
//! lists equal exact mode's (the bound is never below a member's score).

use std::ops::Range;

use crate::engine::features::PartnerFeatures;
use rayon::prelude::*;

use crate::engine::score::bound::{GroupSummary, SummaryColumns};
use crate::engine::score::columns::Columns;
use crate::engine::score::Scorer;
use crate::{PartnerIdx, Score};

/// Partners per leaf block: small enough for a tight bound, large enough for the tile
/// kernel's loops. Measured at 1M (2026-12-04): leaves of 32 cost about 49 ns of a core per
/// pair scanned, mostly the kernel's per-call work on short runs; leaves of 128 need more
/// than twice the pairs for the same recall, each at about a third of the cost
/// (BENCHMARKS.md).
pub const LEAF: usize = 128;

/// Partners planned together: a planned leaf carries a bit per member (at most 64).
const BATCH: usize = 64;

/// Blocked mode's candidates: the tree, the columns of each leaf (a few pages each: a batch
/// jumps from leaf to leaf, and slices of registry-wide columns would cost a page walk per
/// column) and their summaries, and how many candidates a partner scans at most (`None`:
/// until its list is exact).
pub struct Blocks {
    /// The block tree.
    pub tree: BlockTree,
    /// Each leaf's columns, by leaf number.
    pub leaves: Vec<Columns>,
    /// Each leaf's summary for the bound, by leaf number.
    summaries: SummaryColumns,
    /// Candidates a partner scans at most (whole leaves: its leaves of the best bounds until
    /// they hold the limit).
    pub probe: Option<usize>,
}

impl Blocks {
    /// The tree of `active` and its leaves' columns.
    pub fn build(scorer: &Scorer, active: &[PartnerIdx], max_block: Option<usize>, probe: Option<usize>) -> Self {
        let tree = BlockTree::build(scorer.features(), active, max_block);
        let members: Vec<&[PartnerIdx]> = tree.leaves().collect();
        let leaves = members.par_iter().map(|members| Columns::build(scorer, members.to_vec())).collect();
        let summaries: Vec<GroupSummary> = members.par_iter().map(|members| GroupSummary::of(scorer.features(), members)).collect();
        Blocks { tree, leaves, summaries: SummaryColumns::of(&summaries), probe }
    }

    /// What a batch of `partners` (at most 64) scans: each partner's leaves in descending
    /// order of its bound with each until they hold `--probe` candidates (every leaf without
    /// a probe), and the union of these, best first by the highest bound any of them has.
    pub fn plan(&self, scorer: &Scorer, partners: &[PartnerIdx]) -> Plan {
        assert!(partners.len() <= 64, "a batch holds at most 64 partners");
        let alone: Vec<GroupSummary> = partners.iter().map(|&p| GroupSummary::of(scorer.features(), &[p])).collect();
        let bounds = scorer.bounds_with(&alone, &self.summaries);
        let mut union: Vec<(Score, u64)> = vec![(Score::NEG_INFINITY, 0); self.leaves.len()];
        for (m, bounds) in bounds.iter().enumerate() {
            for leaf in self.best_leaves(bounds) {
                let (best, mask) = &mut union[leaf as usize];
                *best = best.max(bounds[leaf as usize]);
                *mask |= 1 << m;
            }
        }
        let mut keys: Vec<u64> = union.iter().enumerate().filter(|(_, (_, mask))| *mask != 0).map(|(leaf, &(best, _))| best_first(best, leaf)).collect();
        keys.sort_unstable();
        let order = keys.into_iter().map(|key| key as u32 as usize).map(|leaf| (leaf, union[leaf].1)).collect();
        Plan { order, bounds }
    }

    /// The leaves of the best bounds in `bounds` (by leaf number) until they hold `--probe`
    /// candidates (ties: the lower leaf number first); every leaf without a probe.
    fn best_leaves(&self, bounds: &[Score]) -> Vec<u32> {
        let Some(probe) = self.probe else { return (0..bounds.len() as u32).collect() };
        let mut taken: Vec<u32> = Vec::new();
        let (mut above, mut want, mut candidates) = (Score::INFINITY, probe.div_ceil(LEAF) + probe / LEAF / 4, 0);
        // A piece at a time: the probe takes a few hundred of the thousands of leaves, so
        // the cut of each piece is read from a sample, and only the piece is sorted.
        while above > Score::NEG_INFINITY {
            let stride = (bounds.len() / 256).max(1);
            let mut sample: Vec<Score> = bounds.iter().step_by(stride).copied().filter(|&b| b < above).collect();
            sample.sort_unstable_by(|a, b| b.total_cmp(a));
            let cut = sample.get(want.div_ceil(stride)).copied().unwrap_or(Score::NEG_INFINITY);
            let mut piece = vec![0; bounds.len()];
            // Without a branch: every leaf is written, and the next write overwrites it
            // unless it was taken.
            let mut len = 0;
            for (leaf, &bound) in bounds.iter().enumerate() {
                piece[len] = best_first(bound, leaf);
                len += usize::from(cut <= bound && bound < above);
            }
            piece.truncate(len);
            piece.sort_unstable();
            for leaf in piece.into_iter().map(|key| key as u32) {
                taken.push(leaf);
                candidates += self.leaves[leaf as usize].len();
                if candidates >= probe {
                    return taken;
                }
            }
            (above, want) = (cut, want * 2);
        }
        taken
    }
}

/// A key that sorts a higher bound first, then the lower leaf number: the bound's bits
/// turned so that they order as unsigned numbers as the floats do (IEEE 754 total order),
/// then inverted, above the leaf number.
fn best_first(bound: Score, leaf: usize) -> u64 {
    let bits = bound.to_bits();
    let ascending = if bits >> 31 == 1 { !bits } else { bits | 1 << 31 };
    u64::from(!ascending) << 32 | leaf as u64
}

/// What a batch scans ([`Blocks::plan`]).
pub struct Plan {
    /// The leaves, in the order scanned, each with the members that scan it (a bit each).
    pub order: Vec<(usize, u64)>,
    /// Each member's bound with each leaf.
    bounds: Vec<Vec<Score>>,
}

impl Plan {
    /// Member `m`'s bound with `leaf`.
    pub fn bound(&self, m: usize, leaf: usize) -> Score {
        self.bounds[m][leaf]
    }
}

/// A block of consecutive positions of the tree order.
struct Node {
    positions: Range<usize>,
    kind: NodeKind,
}

enum NodeKind {
    /// Cut into these nodes.
    Inner(Range<usize>),
    /// Scanned: the leaf's number, in tree order.
    Leaf(usize),
}

/// Nested blocks of the active partners.
pub struct BlockTree {
    /// Active partners in tree order; every block is a run of it.
    pub order: Vec<PartnerIdx>,
    nodes: Vec<Node>,
    roots: Range<usize>,
    /// Countries cut into pieces for exceeding `--max-block`.
    pub split: usize,
}

/// A run of at most [`BATCH`] members of one leaf block planned together, and those asked
/// for.
pub struct Batch {
    /// The members, by index.
    pub members: Vec<PartnerIdx>,
    /// The members whose lists are wanted, a bit per member.
    pub asked: u64,
}

impl BlockTree {
    /// Sorts `active` and builds the blocks.
    pub fn build(features: &PartnerFeatures, active: &[PartnerIdx], max_block: Option<usize>) -> Self {
        let f = features;
        let mut order = active.to_vec();
        // Each key computed once, on the pool: computed at every comparison, on one core,
        // its reads of seven registry-wide columns made the 1M tree build 1.3 s (now 0.8 s).
        order.par_sort_by_cached_key(|&i| {
            let i = i as usize;
            let roles = u8::from(f.can_provide[i]) << 1 | u8::from(f.can_benefit[i]);
            (f.sub_region[i], f.actor[i], f.country[i], roles, f.offers[i].0, f.needs[i].0, f.sectors[i].0, i)
        });
        let mut tree = BlockTree {
            order,
            nodes: Vec::new(),
            roots: 0..0,
            split: 0,
        };
        let region = |i: PartnerIdx| (f.sub_region[i as usize], f.actor[i as usize]);
        let country = |i: PartnerIdx| f.country[i as usize];
        let all = 0..tree.order.len();
        let regions = runs_of(&tree.order, all, region);
        tree.roots = tree.push_nodes(regions.clone());
        for (r, region) in tree.roots.clone().zip(regions) {
            let mut countries = Vec::new();
            for run in runs_of(&tree.order, region, country) {
                let cap = max_block.filter(|&cap| cap > 0 && run.len() > cap);
                tree.split += usize::from(cap.is_some());
                countries.extend(pieces(run, cap.unwrap_or(usize::MAX)));
            }
            let children = tree.push_nodes(countries.clone());
            tree.nodes[r].kind = NodeKind::Inner(children.clone());
            for (c, country) in children.zip(countries) {
                let leaves = tree.push_nodes(pieces(country, LEAF));
                tree.nodes[c].kind = NodeKind::Inner(leaves);
            }
        }
        let mut ordinal = 0;
        for node in &mut tree.nodes {
            if let NodeKind::Leaf(number) = &mut node.kind {
                *number = ordinal;
                ordinal += 1;
            }
        }
        tree
    }

    /// Appends one node per run of positions (leaves until given children); returns their
    /// indices.
    fn push_nodes(&mut self, runs: Vec<Range<usize>>) -> Range<usize> {
        let first = self.nodes.len();
        for positions in runs {
            self.nodes.push(Node { positions, kind: NodeKind::Leaf(0) });
        }
        first..self.nodes.len()
    }

    /// The members of every leaf block, by leaf number.
    pub fn leaves(&self) -> impl Iterator<Item = &[PartnerIdx]> + '_ {
        self.nodes
            .iter()
            .filter(|n| matches!(n.kind, NodeKind::Leaf(_)))
            .map(|n| &self.order[n.positions.clone()])
    }

    /// The batches holding any of `partners` (each leaf block cut into runs of [`BATCH`]),
    /// each with all its members and those of `partners` asked for, in tree order (partners
    /// outside the tree alone, last). A member's leaves come from its own bounds, never from
    /// which of its neighbours are asked for: a partner's list is the same in a run over some
    /// partners (a shard) as over all.
    pub fn batches(&self, partners: &[PartnerIdx]) -> Vec<Batch> {
        let size = self.order.iter().chain(partners).map(|&i| i as usize + 1).max().unwrap_or(0);
        let mut leaf_of = vec![usize::MAX; size];
        for (leaf, members) in self.leaves().enumerate() {
            for &i in members {
                leaf_of[i as usize] = leaf;
            }
        }
        let mut asked = vec![false; size];
        for &i in partners {
            asked[i as usize] = true;
        }
        let mut wanted: Vec<usize> = partners.iter().map(|&i| leaf_of[i as usize]).filter(|&leaf| leaf != usize::MAX).collect();
        wanted.sort_unstable();
        wanted.dedup();
        let leaves: Vec<&[PartnerIdx]> = self.leaves().collect();
        let mut batches: Vec<Batch> = wanted
            .into_iter()
            .flat_map(|leaf| leaves[leaf].chunks(BATCH))
            .filter(|run| run.iter().any(|&i| asked[i as usize]))
            .map(|run| {
                let mut members = run.to_vec();
                members.sort_unstable();
                let asked = members.iter().enumerate().filter(|(_, &i)| asked[i as usize]).fold(0, |mask, (m, _)| mask | 1 << m);
                Batch { members, asked }
            })
            .collect();
        let mut outside: Vec<PartnerIdx> = partners.iter().copied().filter(|&i| leaf_of[i as usize] == usize::MAX).collect();
        outside.sort_unstable();
        batches.extend(outside.into_iter().map(|i| Batch { members: vec![i], asked: 1 }));
        batches
    }

    /// The largest country blocks, largest first: (first partner, active members, share of
    /// Σ size²): what one block would cost if every partner opened it.
    pub fn largest(&self, n: usize) -> Vec<(PartnerIdx, usize, f64)> {
        let children = |n: &Node| match &n.kind {
            NodeKind::Inner(children) => children.clone(),
            NodeKind::Leaf(_) => 0..0,
        };
        let countries: Vec<&Node> = self.roots.clone().flat_map(|r| children(&self.nodes[r])).map(|c| &self.nodes[c]).collect();
        let total: f64 = countries.iter().map(|c| (c.positions.len() as f64).powi(2)).sum::<f64>().max(1.0);
        let mut sizes: Vec<(PartnerIdx, usize)> = countries.iter().map(|c| (self.order[c.positions.start], c.positions.len())).collect();
        sizes.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        sizes.into_iter().take(n).map(|(p, s)| (p, s, (s * s) as f64 / total)).collect()
    }
}

/// Runs of consecutive positions in `range` of `order` with the same key.
fn runs_of<K: PartialEq>(order: &[PartnerIdx], range: Range<usize>, key: impl Fn(PartnerIdx) -> K) -> Vec<Range<usize>> {
    let mut runs: Vec<Range<usize>> = Vec::new();
    for p in range {
        match runs.last_mut() {
            Some(run) if key(order[run.start]) == key(order[p]) => run.end = p + 1,
            _ => runs.push(p..p + 1),
        }
    }
    runs
}

/// `range` cut into consecutive pieces of at most `size` positions.
fn pieces(range: Range<usize>, size: usize) -> Vec<Range<usize>> {
    range.clone().step_by(size).map(|start| start..(start.saturating_add(size)).min(range.end)).collect()
}

#[cfg(test)]
mod tests {
    use super::best_first;

    #[test]
    fn best_first_keys_sort_higher_bounds_first_then_lower_leaves() {
        let bounds = [0.5, -0.0, 0.0, 1.25, -3.0, 0.5, f32::INFINITY, f32::NEG_INFINITY, 1e-6, 0.49999997];
        let mut by_key: Vec<usize> = (0..bounds.len()).collect();
        by_key.sort_by_key(|&leaf| best_first(bounds[leaf], leaf));
        let mut by_float: Vec<usize> = (0..bounds.len()).collect();
        by_float.sort_by(|&x, &y| bounds[y].total_cmp(&bounds[x]).then(x.cmp(&y)));
        assert_eq!(by_key, by_float);
        assert_eq!(by_key[..3], [6, 3, 0], "infinity, 1.25, then the first of the two 0.5");
    }
}
