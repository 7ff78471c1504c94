//! Checked configuration of a run.
//!
//! Input: the unchecked [`RunArgs`] from the command line (and the weights file they name).
//! Output: a [`RunConfig`] holding resolved, validated values, and its serialisable
//! [`ResolvedConfig`] form that goes into the manifest. Precedence: defaults < weights file <
//! flags.

pub mod weights;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use crate::cli::RunArgs;
use crate::reference::default_profiles;
use crate::score::{GeographyKernel, Weights};
use crate::table::TableSource;

pub use weights::WeightError;

/// Share of the geography term given to "same UN sub-region".
pub const REGION_SHARE: f32 = 0.25;

/// A configuration problem (a user error: fix the flags or files).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A weights problem.
    #[error(transparent)]
    Weights(#[from] WeightError),
    /// A flag with an impossible value.
    #[error("--{flag} {value}: {reason}")]
    Flag {
        /// The flag, without dashes.
        flag: &'static str,
        /// The value given.
        value: String,
        /// What is allowed.
        reason: &'static str,
    },
}

/// Everything a run needs, checked.
#[derive(Clone, Debug)]
pub struct RunConfig {
    /// The profile table.
    pub profiles: TableSource,
    /// Output directory.
    pub out_dir: PathBuf,
    /// Where centroids are saved and read.
    pub model_dir: PathBuf,
    /// Read centroids instead of fitting.
    pub reuse_model: bool,
    /// Worker threads.
    pub threads: usize,
    /// k-means seed.
    pub seed: u64,
    /// Candidates per partner.
    pub top_k: usize,
    /// Clusters (None: chosen from the number of partners).
    pub clusters: Option<usize>,
    /// Term weights.
    pub weights: Weights,
    /// Geography term settings.
    pub geography: GeographyKernel,
    /// Theme rarity exponent.
    pub rarity: f32,
}

/// The manifest's record of a configuration.
#[derive(Clone, Debug, Serialize)]
pub struct ResolvedConfig {
    /// The profile table as named on the command line (or the built-in set).
    pub profiles: String,
    /// Model directory.
    pub model_dir: String,
    /// Whether centroids were reused.
    pub reuse_model: bool,
    /// Worker threads.
    pub threads: usize,
    /// k-means seed.
    pub seed: u64,
    /// Candidates per partner.
    pub top_k: usize,
    /// Clusters actually used.
    pub clusters: usize,
    /// Term weights by name.
    pub weights: BTreeMap<String, f32>,
    /// Geography kernel scale, km.
    pub geo_scale_km: f32,
    /// Share of geography given to same sub-region.
    pub geo_region_share: f32,
    /// Theme rarity exponent.
    pub rarity: f32,
}

impl RunConfig {
    /// Checks the flags and resolves the weights.
    pub fn resolve(args: &RunArgs) -> Result<Self, ConfigError> {
        let weights = weights::resolve(args.weights.as_deref(), &args.weight)?;
        let positive = |flag, value: f32| {
            if value.is_finite() && value > 0.0 {
                Ok(value)
            } else {
                Err(ConfigError::Flag {
                    flag,
                    value: value.to_string(),
                    reason: "must be a positive number",
                })
            }
        };
        let geo_scale_km = positive("geo-scale-km", args.geo_scale_km)?;
        if !(0.0..=1.0).contains(&args.rarity) {
            return Err(ConfigError::Flag {
                flag: "rarity",
                value: args.rarity.to_string(),
                reason: "must be between 0 (off) and 1 (full)",
            });
        }
        if args.top_k == 0 {
            return Err(ConfigError::Flag {
                flag: "top-k",
                value: "0".into(),
                reason: "must be at least 1",
            });
        }
        if args.threads == Some(0) || args.clusters == Some(0) {
            return Err(ConfigError::Flag {
                flag: if args.threads == Some(0) { "threads" } else { "clusters" },
                value: "0".into(),
                reason: "must be at least 1",
            });
        }
        Ok(RunConfig {
            profiles: match &args.profiles {
                Some(path) => TableSource::File(path.clone()),
                None => default_profiles(),
            },
            out_dir: args.out.clone(),
            model_dir: args.model_dir.clone(),
            reuse_model: args.reuse_model,
            threads: args
                .threads
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
            seed: args.seed,
            top_k: args.top_k,
            clusters: args.clusters,
            weights,
            geography: GeographyKernel {
                scale_km: geo_scale_km,
                region_share: REGION_SHARE,
            },
            rarity: args.rarity,
        })
    }

    /// The manifest's record, with the cluster count actually used.
    pub fn resolved(&self, clusters: usize) -> ResolvedConfig {
        ResolvedConfig {
            profiles: self.profiles.display_name(),
            model_dir: self.model_dir.display().to_string(),
            reuse_model: self.reuse_model,
            threads: self.threads,
            seed: self.seed,
            top_k: self.top_k,
            clusters,
            weights: weights::to_map(&self.weights),
            geo_scale_km: self.geography.scale_km,
            geo_region_share: self.geography.region_share,
            rarity: self.rarity,
        }
    }
}
