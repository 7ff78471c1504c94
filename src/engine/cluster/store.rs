//! Saving and reusing fitted centroids (`centroids.json`, in every run directory and in a
//! `--model-dir`).
//!
//! Input: a [`ClusterModel`] and what it was fitted on ([`FittedOn`]: the profile table's
//! name and digests, the partners). Output: a JSON file with the dense layout it was fitted
//! on. A reuse with a different feature layout, or on another registry than the one it was
//! fitted on, is refused instead of silently assigning partners to meaningless centroids.

use std::path::Path;

use ndarray::Array2;
use serde::{Deserialize, Serialize};

use super::ClusterModel;
use crate::engine::features::{DENSE_BLOCKS, DENSE_WIDTH};

const FORMAT: &str = "sstc-match centroids v2";

/// What a model was fitted on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FittedOn {
    /// The profile table's name (its path, or the built-in set's name).
    pub source: String,
    /// sha256 of its bytes.
    pub sha256: String,
    /// Order-independent digest of its content.
    pub content_digest: String,
    /// Partners the fit was drawn from.
    pub partners: usize,
}

/// The JSON form of a cluster model.
#[derive(Serialize, Deserialize)]
pub struct StoredModel {
    /// Always "sstc-match centroids v1".
    pub format: String,
    /// Dense blocks (name, width) the centroids live in.
    pub layout: Vec<(String, usize)>,
    /// Seed of the fit.
    pub seed: u64,
    /// Rows the fit saw.
    pub trained_on: usize,
    /// Mean squared distance of training rows to their centroid.
    pub inertia: f32,
    /// The profile table the model was fitted on.
    pub fitted_on: FittedOn,
    /// One row per cluster.
    pub centroids: Vec<Vec<f32>>,
}

/// Why a stored model cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The file could not be read.
    #[error("{path}: cannot read the cluster model: {reason}; run once without --reuse-model to fit one")]
    Unreadable {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The file is not a model for this version's features.
    #[error("{path}: {reason}; fit a new model by running without --reuse-model")]
    Incompatible {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The model was fitted on another registry.
    #[error("{path}: fitted on {fitted} ({partners} partners), not on {now}; fit a new model by running without --reuse-model, or give the --model-dir of a model fitted on this registry")]
    OtherRegistry {
        /// The file.
        path: String,
        /// What it was fitted on.
        fitted: String,
        /// Its partners.
        partners: usize,
        /// Tonight's profile table.
        now: String,
    },
}

impl StoredModel {
    /// The stored form of a model fitted on `fitted_on`.
    pub fn new(model: &ClusterModel, fitted_on: FittedOn) -> Self {
        StoredModel {
            format: FORMAT.into(),
            layout: DENSE_BLOCKS.iter().map(|(n, w)| (n.to_string(), *w)).collect(),
            seed: model.seed,
            trained_on: model.trained_on,
            inertia: model.inertia,
            fitted_on,
            centroids: model.centroids.outer_iter().map(|r| r.to_vec()).collect(),
        }
    }

    /// Reads a stored model for reuse on `input` (the same profile table, or the same
    /// content), checking it fits.
    pub fn load_for(path: &Path, input: &FittedOn) -> Result<ClusterModel, StoreError> {
        let (model, fitted_on) = Self::load(path)?;
        if fitted_on.source != input.source && fitted_on.content_digest != input.content_digest {
            return Err(StoreError::OtherRegistry { path: path.display().to_string(), fitted: fitted_on.source, partners: fitted_on.partners, now: input.source.clone() });
        }
        Ok(model)
    }

    /// Reads and checks a stored model; also returns what it was fitted on.
    pub fn load(path: &Path) -> Result<(ClusterModel, FittedOn), StoreError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| StoreError::Unreadable {
            path: name.clone(),
            reason: e.to_string(),
        })?;
        let unreadable = |e: serde_json::Error| StoreError::Unreadable {
            path: name.clone(),
            reason: e.to_string(),
        };
        let value: serde_json::Value = serde_json::from_str(&text).map_err(unreadable)?;
        let incompatible = |reason: String| StoreError::Incompatible {
            path: name.clone(),
            reason,
        };
        let format = value.get("format").and_then(|f| f.as_str()).unwrap_or("no format");
        if format != FORMAT {
            return Err(incompatible(format!("written by another version of sstc-match ({format}, this one reads {FORMAT})")));
        }
        let stored: StoredModel = serde_json::from_value(value).map_err(unreadable)?;
        let layout: Vec<(String, usize)> =
            DENSE_BLOCKS.iter().map(|(n, w)| (n.to_string(), *w)).collect();
        if stored.format != FORMAT || stored.layout != layout {
            return Err(incompatible(format!(
                "fitted on another feature layout ({}, {:?})",
                stored.format, stored.layout
            )));
        }
        let k = stored.centroids.len();
        if k == 0 || stored.centroids.iter().any(|row| row.len() != DENSE_WIDTH) {
            return Err(incompatible(format!(
                "expected k ≥ 1 centroids of width {DENSE_WIDTH}"
            )));
        }
        let flat: Vec<f32> = stored.centroids.into_iter().flatten().collect();
        let model = ClusterModel {
            centroids: Array2::from_shape_vec((k, DENSE_WIDTH), flat).expect("checked widths"),
            seed: stored.seed,
            trained_on: stored.trained_on,
            inertia: stored.inertia,
        };
        Ok((model, stored.fitted_on))
    }
}
