//! Candidates: which pairs are worth scoring?
//!
//! Input: the fitted [`ClusterModel`] and assignment, [`PartnerFeatures`], `--probe` and
//! `--max-block`. Output: a [`Blocking`]: the clusters as an inverted index (cluster → its
//! active partners), after splitting any cluster larger than `max_block` by sub-clustering
//! it (k-means on its members, seeded), and for each partner the clusters to probe.
//!
//! A partner probes the clusters nearest to two versions of its dense row: as it is (for
//! peers: similar context, values, sector, kind) and with its offers and needs blocks swapped
//! (for complementarity: partners whose offers look like its needs and the other way round),
//! half of `--probe` each, nearest first, without repeats.
//!
//! **Invariant:** blocked candidates ⊆ exact candidates; with one cluster, or a probe of all
//! clusters, blocked mode scores exactly the exact mode's pairs.

use ndarray::{concatenate, Array2, Axis};

use crate::cluster::{self, ClusterError, ClusterModel};
use crate::features::{PartnerFeatures, DENSE_BLOCKS, DENSE_WIDTH};
use crate::PartnerIdx;

/// Clusters as candidate blocks.
pub struct Blocking {
    /// Centroids of the blocks (after splitting).
    pub centroids: Array2<f32>,
    /// Active members of each block, ascending.
    pub members: Vec<Vec<PartnerIdx>>,
    /// Blocks each partner probes.
    pub probe: usize,
    /// Blocks split because they exceeded `max_block`.
    pub split: usize,
}

/// Where the offers and needs blocks sit in a dense row.
fn offers_needs_ranges() -> (std::ops::Range<usize>, std::ops::Range<usize>) {
    let mut at = 0;
    let (mut offers, mut needs) = (0..0, 0..0);
    for (name, width) in DENSE_BLOCKS {
        match name {
            "offers" => offers = at..at + width,
            "needs" => needs = at..at + width,
            _ => {}
        }
        at += width;
    }
    (offers, needs)
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
        let mut centroids = model.centroids.clone();
        let mut split = 0;
        if let Some(cap) = max_block.filter(|&c| c > 0) {
            // Split until no block exceeds the cap: sub-cluster an oversized block with
            // k-means; where that makes no progress (near-identical partners), cut it into
            // chunks in id order, each with the block's centroid.
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
                for &i in &members[c] {
                    let mut row = vec![0.0; DENSE_WIDTH];
                    features.dense_row(i, &mut row);
                    groups[sub.nearest(&row) as usize].push(i);
                }
                groups.retain(|g| !g.is_empty());
                let (new_centroids, new_groups): (Vec<Vec<f32>>, Vec<Vec<PartnerIdx>>) = if groups.len() > 1 {
                    let rows = groups.iter().map(|g| {
                        let mut row = vec![0.0; DENSE_WIDTH];
                        features.dense_row(g[0], &mut row);
                        sub.centroids.row(sub.nearest(&row) as usize).to_vec()
                    });
                    (rows.collect(), groups)
                } else {
                    let chunks: Vec<Vec<PartnerIdx>> = members[c].chunks(cap).map(<[PartnerIdx]>::to_vec).collect();
                    (vec![centroids.row(c).to_vec(); chunks.len()], chunks)
                };
                let mut new_groups = new_groups.into_iter();
                let mut new_centroids = new_centroids.into_iter();
                members[c] = new_groups.next().expect("at least one part");
                centroids.row_mut(c).assign(&ndarray::ArrayView1::from(&new_centroids.next().expect("one centroid")));
                for (group, centroid) in new_groups.zip(new_centroids) {
                    members.push(group);
                    let row = Array2::from_shape_vec((1, DENSE_WIDTH), centroid).expect("width");
                    centroids = concatenate(Axis(0), &[centroids.view(), row.view()]).expect("same width");
                }
                // Re-examine block c: its first part may still be over the cap.
            }
        }
        Ok(Blocking {
            centroids,
            members,
            probe: probe.max(1),
            split,
        })
    }

    /// The blocks partner `i` probes: nearest to its row and to its offers/needs-swapped row.
    pub fn probes(&self, features: &PartnerFeatures, i: PartnerIdx) -> Vec<usize> {
        let mut row = vec![0.0; DENSE_WIDTH];
        features.dense_row(i, &mut row);
        let (offers, needs) = offers_needs_ranges();
        let mut swapped = row.clone();
        swapped[offers.clone()].copy_from_slice(&row[needs.clone()]);
        swapped[needs].copy_from_slice(&row[offers]);
        let nearest = |query: &[f32]| {
            let mut d: Vec<(f32, usize)> = self
                .centroids
                .outer_iter()
                .enumerate()
                .map(|(c, centroid)| (centroid.iter().zip(query).map(|(a, b)| (a - b) * (a - b)).sum(), c))
                .collect();
            d.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            d.into_iter().map(|(_, c)| c)
        };
        let own = self.probe.div_ceil(2);
        let mut chosen: Vec<usize> = nearest(&row).take(own).collect();
        for c in nearest(&swapped) {
            if chosen.len() >= self.probe.min(self.centroids.nrows()) {
                break;
            }
            if !chosen.contains(&c) {
                chosen.push(c);
            }
        }
        chosen
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
