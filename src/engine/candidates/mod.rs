//! Candidates: which pairs are worth scoring?
//!
//! Input: [`PartnerFeatures`], the active partners, `--probe` and `--max-block`. Output: a
//! [`BlockTree`]: the active partners sorted so that partners alike in what the score weighs
//! most sit together, cut into nested blocks, each with a [`GroupSummary`] for the score
//! bound ([`crate::engine::score::bound`]); and, per batch of partners, a best-first walk of the
//! tree ([`BlockTree::search`]) that hands the ranking loop the leaf blocks worth scanning
//! and the partners of the batch each may still improve.
//!
//! ```text
//!   root ── one node per (UN sub-region, actor type)
//!            └── one node per country (pieces of at most --max-block partners)
//!                 └── leaves of at most LEAF partners, consecutive in the order
//!                     (roles, themes offered, themes needed, sectors)
//! ```
//!
//! Partners walk the tree in batches of neighbours (runs of [`BATCH`] partners of one leaf
//! block), so a leaf's columns are read from memory once for the batch. The walk keeps a
//! queue of nodes by their bound with the batch, highest first, each with the members it may
//! still improve (the batch's bound, then the member's own, reaches the member's list floor):
//! a node is opened (its children's bounds computed) or, for a leaf, handed to the ranking
//! loop; it stops when no node left can beat a floor (the lists are exact). The ranking loop may
//! retire a partner earlier, once it has scanned `--probe` candidates (approximate; the
//! recall is measured on a sample).
//!
//! Why these blocks and not the k-means clusters: clusters group partners that look alike,
//! but the score pairs a need with an offer, so a cluster's members score very differently
//! with one partner and its bound is loose. Measured on 300 partners of the 1M generated
//! registry: ranking blocks by bound, k-means blocks (k = √N) needed 75 % of all pairs (at
//! 100k) for exact lists, these blocks 3 %.
//!
//! **Invariant:** the walk scans a subset of the exact candidates; with no probe limit the
//! lists equal exact mode's (the bound is never below a member's score).

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::ops::Range;

use crate::engine::features::PartnerFeatures;
use rayon::prelude::*;

use crate::engine::profile::IdSet;
use crate::engine::score::bound::GroupSummary;
use crate::engine::score::columns::Columns;
use crate::engine::score::Scorer;
use crate::{PartnerIdx, Score};

/// Partners per leaf block: small enough for a tight bound, large enough for the tile
/// kernel's loops. Measured at 1M (2026-12-04): leaves of 32 cost about 49 ns of a core per
/// pair scanned, mostly the kernel's per-call work on short runs; leaves of 128 need more
/// than twice the pairs for the same recall, each at about a third of the cost
/// (BENCHMARKS.md).
pub const LEAF: usize = 128;

/// Partners walking the tree together: a walk's queue carries a bit per member (at most 64),
/// and a smaller batch's bound orders its leaves closer to each member's own.
const BATCH: usize = 32;

/// Blocked mode's candidates: the tree, the columns of each leaf (a few pages each: the walk
/// jumps from leaf to leaf, and slices of registry-wide columns would cost a page walk per
/// column), and how many candidates a partner scans at most (`None`: until its list is
/// exact).
pub struct Blocks {
    /// The block tree.
    pub tree: BlockTree,
    /// Each leaf's columns, by leaf number.
    pub leaves: Vec<Columns>,
    /// Candidates a partner scans at most (whole leaves: it stops at the first leaf that
    /// reaches the limit).
    pub probe: Option<usize>,
}

impl Blocks {
    /// The tree of `active` and its leaves' columns.
    pub fn build(scorer: &Scorer, active: &[PartnerIdx], max_block: Option<usize>, probe: Option<usize>) -> Self {
        let tree = BlockTree::build(scorer.features(), active, max_block);
        let members: Vec<&[PartnerIdx]> = tree.leaves().collect();
        let leaves = members.par_iter().map(|members| Columns::build(scorer, members.to_vec())).collect();
        Blocks { tree, leaves, probe }
    }
}

/// A block of consecutive positions of the tree order.
struct Node {
    positions: Range<usize>,
    kind: NodeKind,
    summary: GroupSummary,
}

enum NodeKind {
    /// Opened into these nodes.
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

/// A run of at most [`BATCH`] members of one leaf block walking the tree together, and
/// those asked for.
pub struct Batch {
    /// The members, by index.
    pub members: Vec<PartnerIdx>,
    /// The members whose lists are wanted, a bit per member.
    pub asked: u64,
}

/// A node waiting in a walk's queue, highest bound first (ties: the earlier node), with the
/// members of the batch it may still improve.
struct Queued {
    bound: Score,
    node: usize,
    mask: u64,
}

impl PartialEq for Queued {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Queued {}

impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Queued {
    fn cmp(&self, other: &Self) -> Ordering {
        self.bound.total_cmp(&other.bound).then(other.node.cmp(&self.node))
    }
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
        tree.roots = tree.push_nodes(features, regions.clone());
        for (r, region) in tree.roots.clone().zip(regions) {
            let mut countries = Vec::new();
            for run in runs_of(&tree.order, region, country) {
                let cap = max_block.filter(|&cap| cap > 0 && run.len() > cap);
                tree.split += usize::from(cap.is_some());
                countries.extend(pieces(run, cap.unwrap_or(usize::MAX)));
            }
            let children = tree.push_nodes(features, countries.clone());
            tree.nodes[r].kind = NodeKind::Inner(children.clone());
            for (c, country) in children.zip(countries) {
                let leaves = tree.push_nodes(features, pieces(country, LEAF));
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
    fn push_nodes(&mut self, features: &PartnerFeatures, runs: Vec<Range<usize>>) -> Range<usize> {
        let first = self.nodes.len();
        for positions in runs {
            let summary = GroupSummary::of(features, &self.order[positions.clone()]);
            self.nodes.push(Node {
                positions,
                kind: NodeKind::Leaf(0),
                summary,
            });
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
    /// outside the tree alone, last). A member's walk depends on its batch, never on which of
    /// its neighbours are asked for: a partner's list is the same in a run over some partners
    /// (a shard) as over all.
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

    /// Walks the tree for a batch of at most 64 partners (`members`, each summarised alone;
    /// `batch` summarises them together), best bound first, for the members `asked` (a bit
    /// mask). Every node in the queue carries the members it may still improve: those whose
    /// list floor (`floors`, `None` while a list is not full) the batch's bound reaches and
    /// then their own bound too. `scan` is handed each leaf worth scanning (its number and
    /// those members as a bit mask) and updates their floors (`Some(INFINITY)` retires a
    /// member; the members not asked start retired). Stops when no node left can beat a floor.
    pub fn search(
        &self,
        scorer: &Scorer,
        (batch, members): (&GroupSummary, &[GroupSummary]),
        asked: u64,
        mut scan: impl FnMut(usize, u64, &mut [Option<Score>]),
    ) {
        assert!(members.len() <= 64, "a batch holds at most 64 partners");
        let mut floors: Vec<Option<Score>> = (0..members.len()).map(|m| if asked >> m & 1 == 1 { None } else { Some(Score::INFINITY) }).collect();
        let below = |floor: Option<Score>, bound: Score| floor.is_some_and(|floor| bound < floor);
        let mut queue = BinaryHeap::new();
        let enqueue = |queue: &mut BinaryHeap<Queued>, nodes: Range<usize>, mask: u64, floors: &[Option<Score>]| {
            for node in nodes {
                let summary = &self.nodes[node].summary;
                let bound = scorer.pair_bound(batch, summary);
                let mut viable = 0;
                for m in IdSet(mask).iter().map(usize::from) {
                    // The batch's bound first (free), then the member's own.
                    let reaches = match floors[m] {
                        None => true,
                        Some(floor) => bound >= floor && scorer.pair_bound(&members[m], summary) >= floor,
                    };
                    if reaches {
                        viable |= 1 << m;
                    }
                }
                if viable != 0 {
                    queue.push(Queued { bound, node, mask: viable });
                }
            }
        };
        enqueue(&mut queue, self.roots.clone(), asked, &floors);
        while let Some(Queued { bound, node, mask }) = queue.pop() {
            if floors.iter().all(|&floor| below(floor, bound)) {
                break;
            }
            let mask = IdSet(mask).iter().filter(|&m| !below(floors[m as usize], bound)).fold(0, |mask, m| mask | 1 << m);
            if mask == 0 {
                continue;
            }
            match &self.nodes[node].kind {
                NodeKind::Leaf(number) => scan(*number, mask, &mut floors),
                NodeKind::Inner(children) => enqueue(&mut queue, children.clone(), mask, &floors),
            }
        }
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
