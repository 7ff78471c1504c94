//! Candidates: which pairs are worth scoring?
//!
//! Input: the fitted [`ClusterModel`] and assignment, [`PartnerFeatures`], `--probe` and
//! `--max-block`. Output: a [`Blocking`]: the clusters as an inverted index (cluster → its
//! active partners), after splitting any cluster larger than `max_block` by sub-clustering
//! it (k-means on its members, seeded), each with a [`GroupSummary`]; and for each partner
//! its blocks in the order to probe them.
//!
//! A partner probes blocks by descending score bound ([`crate::score::bound`]): the block
//! whose best member could score highest first. The ranking stops at `--probe` blocks, or
//! earlier, exactly, at a block whose bound is below the partner's list floor.
//!
//! **Invariant:** blocked candidates ⊆ exact candidates; with one cluster, or a probe of all
//! clusters, blocked mode gives exactly the exact mode's lists.

use crate::cluster::{self, ClusterError, ClusterModel};
use crate::features::{PartnerFeatures, DENSE_WIDTH};
use crate::score::bound::GroupSummary;
use crate::score::Scorer;
use crate::{PartnerIdx, Score};

/// Clusters as candidate blocks.
pub struct Blocking {
    /// Active members of each block, ascending.
    pub members: Vec<Vec<PartnerIdx>>,
    /// Blocks each partner probes.
    pub probe: usize,
    /// Blocks split because they exceeded `max_block`.
    pub split: usize,
    /// What the score bound knows of each block.
    summaries: Vec<GroupSummary>,
}

impl Blocking {
    /// Builds the blocks from a model and its assignment, splitting oversized ones.
    pub fn build(
        model: &ClusterModel,
        assignment: &[u32],
        features: &PartnerFeatures,
        probe: usize,
        max_block: Option<usize>,
        seed: u64,
    ) -> Result<Self, ClusterError> {
        let mut members: Vec<Vec<PartnerIdx>> = vec![Vec::new(); model.k()];
        for (i, &c) in assignment.iter().enumerate() {
            if features.active[i] {
                members[c as usize].push(i as PartnerIdx);
            }
        }
        let mut split = 0;
        if let Some(cap) = max_block.filter(|&c| c > 0) {
            // Split until no block exceeds the cap: sub-cluster an oversized block with
            // k-means; where that makes no progress (near-identical partners), cut it into
            // chunks in id order.
            let mut c = 0;
            while c < members.len() {
                if members[c].len() <= cap {
                    c += 1;
                    continue;
                }
                split += 1;
                let parts = members[c].len().div_ceil(cap);
                let sub = cluster::fit(features, &members[c], parts, seed ^ c as u64)?;
                let mut groups: Vec<Vec<PartnerIdx>> = vec![Vec::new(); sub.k()];
                let mut row = vec![0.0; DENSE_WIDTH];
                for &i in &members[c] {
                    features.dense_row(i, &mut row);
                    groups[sub.nearest(&row) as usize].push(i);
                }
                groups.retain(|g| !g.is_empty());
                if groups.len() < 2 {
                    groups = members[c].chunks(cap).map(<[PartnerIdx]>::to_vec).collect();
                }
                let mut groups = groups.into_iter();
                members[c] = groups.next().expect("at least one part");
                members.extend(groups);
                // Re-examine block c: its first part may still be over the cap.
            }
        }
        members.retain(|m| !m.is_empty());
        Ok(Blocking {
            summaries: members.iter().map(|m| GroupSummary::of(features, m)).collect(),
            members,
            probe: probe.max(1),
            split,
        })
    }

    /// Partner `i`'s blocks with their score bounds, highest bound first (ties by block),
    /// at most `--probe` of them.
    pub fn probes(&self, scorer: &Scorer, i: PartnerIdx) -> Vec<(Score, usize)> {
        let mut bounds: Vec<(Score, usize)> = self.summaries.iter().map(|s| scorer.group_bound(i, s)).zip(0..).collect();
        bounds.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        bounds.truncate(self.probe);
        bounds
    }

    /// Sizes of the blocks, largest first, with the share of all scored pairs each would take
    /// if every partner probed it (size² / Σ size²).
    pub fn largest(&self, n: usize) -> Vec<(usize, usize, f64)> {
        let total: f64 = self.members.iter().map(|m| (m.len() * m.len()) as f64).sum::<f64>().max(1.0);
        let mut sizes: Vec<(usize, usize)> = self.members.iter().enumerate().map(|(c, m)| (c, m.len())).collect();
        sizes.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        sizes
            .into_iter()
            .take(n)
            .map(|(c, s)| (c, s, (s * s) as f64 / total))
            .collect()
    }
}
