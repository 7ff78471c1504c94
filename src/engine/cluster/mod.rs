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

use std::collections::{BTreeMap, BTreeSet};

use linfa::prelude::*;
use linfa_clustering::{KMeans, KMeansInit};
use linfa_nn::distance::Distance;
use ndarray::{s, Array2, ArrayView, ArrayView2, Dimension};
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256Plus;
use rayon::prelude::*;

use crate::engine::features::PartnerFeatures;
use crate::engine::profile::Profile;
use crate::engine::reference::Reference;
use crate::PartnerIdx;

/// k-means is fitted on at most this many sampled rows per cluster (and at most
/// [`SAMPLE_LIMIT`] rows), then every partner is assigned to its nearest centroid: training
/// on all rows costs much and gains little.
pub const SAMPLE_PER_CLUSTER: usize = 256;

/// The most rows a k-means fit samples.
pub const SAMPLE_LIMIT: usize = 16_384;

/// A night keeps the previous night's centroids while their inertia on its fit sample is
/// within this share of its own refit's (BENCHMARKS.md, "Nights").
pub const KEEP_WITHIN: f32 = 0.05;

/// Euclidean distance for linfa's k-means over contiguous rows, summed in eight interleaved
/// lanes so the compiler vectorises it: linfa's default (ndarray-stats' generic `sq_l2_dist`)
/// took 78 % of a 20k blocked run, and a million rows with a thousand clusters would not fit
/// the night.
#[derive(Clone, Debug)]
pub struct SquaredL2;

impl Distance<f32> for SquaredL2 {
    fn distance<D: Dimension>(&self, a: ArrayView<f32, D>, b: ArrayView<f32, D>) -> f32 {
        self.rdistance(a, b).sqrt()
    }

    #[inline]
    fn rdistance<D: Dimension>(&self, a: ArrayView<f32, D>, b: ArrayView<f32, D>) -> f32 {
        match (a.as_slice(), b.as_slice()) {
            (Some(a), Some(b)) => squared_distance(a, b),
            _ => a.iter().zip(b.iter()).map(|(x, y)| (x - y) * (x - y)).sum(),
        }
    }

    fn rdist_to_dist(&self, rdist: f32) -> f32 {
        rdist.sqrt()
    }

    fn dist_to_rdist(&self, dist: f32) -> f32 {
        dist * dist
    }
}

/// `|a − b|²` of two equal-length slices, in eight interleaved partial sums.
#[inline]
pub fn squared_distance(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let (a_chunks, b_chunks) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = a_chunks.remainder().iter().zip(b_chunks.remainder()).map(|(x, y)| (x - y) * (x - y)).sum();
    for (x, y) in a_chunks.zip(b_chunks) {
        for l in 0..8 {
            lanes[l] += (x[l] - y[l]) * (x[l] - y[l]);
        }
    }
    lanes.iter().sum::<f32>() + tail
}

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
/// Returns the model and the sample it was fitted on.
pub fn fit(
    features: &PartnerFeatures,
    partners: &[PartnerIdx],
    k: usize,
    seed: u64,
) -> Result<(ClusterModel, Vec<PartnerIdx>), ClusterError> {
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
    // One run (more restarts gained 0.07 % of inertia at 100k for 3× the time); many
    // clusters (blocking a large registry) get fewer iterations.
    let iterations = if k > 64 { 10 } else { 100 };
    let model = KMeans::params_with(k, rng, SquaredL2)
        .init_method(KMeansInit::KMeansPlusPlus)
        .n_runs(1)
        .max_n_iterations(iterations)
        .tolerance(1e-4)
        .fit(&dataset)
        .map_err(|e| ClusterError::KMeans(e.to_string()))?;
    let fitted = ClusterModel {
        centroids: model.centroids().clone(),
        seed,
        trained_on: sample.len(),
        inertia: model.inertia(),
    };
    Ok((fitted, sample))
}

/// Pairs the rows of `new` with rows of `old`, closest pairs first, each row at most once:
/// new row → old row. `diff` reports relabelled clusters with it, and a refitted model
/// numbers its clusters after last night's with it ([`ClusterModel::numbered_after`]).
pub fn align(old: ArrayView2<f32>, new: ArrayView2<f32>) -> BTreeMap<usize, usize> {
    let mut pairs: Vec<(f32, usize, usize)> = Vec::new();
    for (n, a) in new.outer_iter().enumerate() {
        for (o, b) in old.outer_iter().enumerate() {
            let d: f32 = a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum();
            pairs.push((d, n, o));
        }
    }
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let (mut used_new, mut used_old, mut mapping) = (BTreeSet::new(), BTreeSet::new(), BTreeMap::new());
    for (_, n, o) in pairs {
        if !used_new.contains(&n) && !used_old.contains(&o) {
            used_new.insert(n);
            used_old.insert(o);
            mapping.insert(n, o);
        }
    }
    mapping
}

impl ClusterModel {
    /// Number of clusters.
    pub fn k(&self) -> usize {
        self.centroids.nrows()
    }

    /// Mean squared distance of `partners`' rows to their nearest centroid (what linfa
    /// reports as a fit's inertia, for the rows it was fitted on).
    pub fn inertia_on(&self, features: &PartnerFeatures, partners: &[PartnerIdx]) -> f32 {
        let rows = features.dense(partners);
        let total: f64 = rows
            .outer_iter()
            .map(|row| {
                let row = row.as_slice().expect("dense rows are contiguous");
                self.centroids.outer_iter().map(|c| squared_distance(row, c.as_slice().expect("centroids are contiguous"))).fold(f32::INFINITY, f32::min) as f64
            })
            .sum();
        (total / partners.len().max(1) as f64) as f32
    }

    /// The same clusters, renumbered: each takes the number of the `previous` centroid it is
    /// closest to (closest pairs first, [`align`]), the rest the numbers left, in order. So
    /// a refit does not shuffle the labels an officer knows.
    pub fn numbered_after(self, previous: &ClusterModel) -> ClusterModel {
        let k = self.k();
        let shared = previous.centroids.slice(s![..previous.k().min(k), ..]);
        let mut number: Vec<Option<usize>> = vec![None; k];
        for (new, old) in align(shared, self.centroids.view()) {
            number[new] = Some(old);
        }
        let taken: BTreeSet<usize> = number.iter().flatten().copied().collect();
        let mut free = (0..k).filter(|n| !taken.contains(n));
        let number: Vec<usize> = number.into_iter().map(|n| n.unwrap_or_else(|| free.next().expect("as many numbers as clusters"))).collect();
        let mut centroids = self.centroids.clone();
        for (from, &to) in number.iter().enumerate() {
            centroids.row_mut(to).assign(&self.centroids.row(from));
        }
        ClusterModel { centroids, ..self }
    }

    /// The nearest centroid of every partner (ties to the lower cluster id), in parallel
    /// chunks of rows: `argmin_c |c|² − 2 x·c` with the dot products as one matrix product
    /// per chunk (ndarray's GEMM), so a million partners and a thousand clusters take seconds.
    pub fn assign(&self, features: &PartnerFeatures) -> Vec<u32> {
        const CHUNK: usize = 1024;
        let norms: Vec<f32> = self.centroids.outer_iter().map(|c| c.dot(&c)).collect();
        let transposed = self.centroids.t();
        let partners: Vec<PartnerIdx> = (0..features.len() as PartnerIdx).collect();
        partners
            .par_chunks(CHUNK)
            .flat_map_iter(|chunk| {
                let products = features.dense(chunk).dot(&transposed);
                products
                    .outer_iter()
                    .map(|row| {
                        let mut best = (f32::INFINITY, 0u32);
                        for (c, (&product, &norm)) in row.iter().zip(&norms).enumerate() {
                            let distance = norm - 2.0 * product;
                            if distance < best.0 {
                                best = (distance, c as u32);
                            }
                        }
                        best.1
                    })
                    .collect::<Vec<u32>>()
            })
            .collect()
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
