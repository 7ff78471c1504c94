//! Cluster: here are partners' vectors, give me groups of similar partners.
//!
//! Input: [`PartnerFeatures`] (their dense rows, built on the fly) and the partners to
//! cluster. Output: a [`ClusterModel`] (k-means centroids, fitted with linfa on a seeded
//! sample, saved and reusable through [`store`]) and the assignment of every partner to its
//! nearest centroid; [`summarise`] describes each cluster for `clusters.csv`.
//!
//! **Invariant:** seeded and single-threaded inside linfa's fit, so the same input and seed
//! give the same centroids at any `--threads`; the assignment is a pure per-row argmin.

pub mod store;

use linfa::prelude::*;
use linfa_clustering::{KMeans, KMeansInit};
use ndarray::Array2;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256Plus;
use rayon::prelude::*;

use crate::features::{PartnerFeatures, DENSE_WIDTH};
use crate::profile::Profile;
use crate::reference::Reference;
use crate::PartnerIdx;

/// k-means is fitted on at most this many sampled rows per cluster (and at most
/// [`SAMPLE_LIMIT`] rows), then every partner is assigned to its nearest centroid: training
/// on all rows costs much and gains little.
pub const SAMPLE_PER_CLUSTER: usize = 256;

/// The most rows a k-means fit samples.
pub const SAMPLE_LIMIT: usize = 16_384;

/// Fitted centroids.
#[derive(Clone, Debug, PartialEq)]
pub struct ClusterModel {
    /// `[k × DENSE_WIDTH]` centroids.
    pub centroids: Array2<f32>,
    /// Seed the fit used.
    pub seed: u64,
    /// Rows the fit saw.
    pub trained_on: usize,
    /// Mean squared distance of the training rows to their centroid.
    pub inertia: f32,
}

/// Why clustering failed.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// linfa refused the parameters or the data.
    #[error("k-means failed: {0}")]
    KMeans(String),
}

/// The default number of clusters for `n` partners: about √(n/20), between 2 and 64.
pub fn default_cluster_count(n: usize) -> usize {
    ((n as f64 / 20.0).sqrt().round() as usize).clamp(2, 64)
}

/// Fits k-means on a seeded sample of `partners`. `k` is capped at the number of partners.
pub fn fit(
    features: &PartnerFeatures,
    partners: &[PartnerIdx],
    k: usize,
    seed: u64,
) -> Result<ClusterModel, ClusterError> {
    let k = k.min(partners.len()).max(1);
    let mut rng = Xoshiro256Plus::seed_from_u64(seed);
    let sample_size = (k * SAMPLE_PER_CLUSTER).min(SAMPLE_LIMIT).max(k).min(partners.len());
    let mut sample: Vec<PartnerIdx> = rand::seq::index::sample(&mut rng, partners.len(), sample_size)
        .into_iter()
        .map(|i| partners[i])
        .collect();
    sample.sort_unstable();
    let records = features.dense(&sample);
    let dataset = DatasetBase::from(records);
    // linfa's fit is seeded, its k-means++ initialisation and centroid sums are sequential and
    // its parallel steps are per row, so the result does not depend on --threads (tested).
    // Many clusters (blocking a large registry) get fewer restarts and iterations.
    let (runs, iterations) = if k > 64 { (1, 25) } else { (1, 100) };
    let model = KMeans::params_with_rng(k, rng)
        .init_method(KMeansInit::KMeansPlusPlus)
        .n_runs(runs)
        .max_n_iterations(iterations)
        .tolerance(1e-4)
        .fit(&dataset)
        .map_err(|e| ClusterError::KMeans(e.to_string()))?;
    Ok(ClusterModel {
        centroids: model.centroids().clone(),
        seed,
        trained_on: sample.len(),
        inertia: model.inertia(),
    })
}

impl ClusterModel {
    /// Number of clusters.
    pub fn k(&self) -> usize {
        self.centroids.nrows()
    }

    /// The nearest centroid of every partner (ties to the lower cluster id), in parallel.
    pub fn assign(&self, features: &PartnerFeatures) -> Vec<u32> {
        (0..features.len() as PartnerIdx)
            .into_par_iter()
            .map_init(
                || vec![0.0f32; DENSE_WIDTH],
                |row, i| {
                    features.dense_row(i, row);
                    self.nearest(row)
                },
            )
            .collect()
    }

    /// The centroid nearest to a dense row (ties to the lower cluster id).
    pub fn nearest(&self, row: &[f32]) -> u32 {
        let mut best = (f32::INFINITY, 0u32);
        for (c, centroid) in self.centroids.outer_iter().enumerate() {
            let d: f32 = centroid
                .iter()
                .zip(row)
                .map(|(a, b)| (a - b) * (a - b))
                .sum();
            if d < best.0 {
                best = (d, c as u32);
            }
        }
        best.1
    }
}

/// What `clusters.csv` says of one cluster.
#[derive(Clone, Debug, PartialEq)]
pub struct ClusterSummary {
    /// Cluster id.
    pub cluster: u32,
    /// Partners in it.
    pub size: usize,
    /// Up to three most common UN sub-regions, with counts.
    pub top_regions: Vec<(String, usize)>,
    /// Up to three most common actor types, with counts.
    pub top_actor_types: Vec<(String, usize)>,
    /// Up to five most common themes (offered or needed), with counts.
    pub top_themes: Vec<(String, usize)>,
}

/// Describes every cluster from its members.
pub fn summarise(
    assignment: &[u32],
    k: usize,
    profiles: &[Profile],
    reference: &Reference,
) -> Vec<ClusterSummary> {
    let mut sizes = vec![0usize; k];
    let mut regions = vec![vec![0usize; reference.sub_regions.len()]; k];
    let mut actors = vec![vec![0usize; reference.actor_types.len()]; k];
    let mut themes = vec![vec![0usize; reference.themes.len()]; k];
    for (profile, &c) in profiles.iter().zip(assignment) {
        let c = c as usize;
        sizes[c] += 1;
        regions[c][reference.countries[profile.country as usize].sub_region as usize] += 1;
        actors[c][profile.actor_type as usize] += 1;
        for t in profile.offers.union(profile.needs).iter() {
            themes[c][t as usize] += 1;
        }
    }
    let top = |counts: &[usize], n: usize, name: &dyn Fn(usize) -> String| {
        let mut ranked: Vec<(usize, usize)> =
            counts.iter().copied().enumerate().filter(|(_, c)| *c > 0).collect();
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        ranked.into_iter().take(n).map(|(i, c)| (name(i), c)).collect()
    };
    (0..k)
        .map(|c| ClusterSummary {
            cluster: c as u32,
            size: sizes[c],
            top_regions: top(&regions[c], 3, &|i| reference.sub_regions[i].clone()),
            top_actor_types: top(&actors[c], 3, &|i| reference.actor_types.id(i).to_string()),
            top_themes: top(&themes[c], 5, &|i| reference.themes.id(i).to_string()),
        })
        .collect()
}
