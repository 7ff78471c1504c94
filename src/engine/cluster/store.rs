//! Saving and reusing fitted centroids (`models/centroids.json`).
//!
//! Input: a [`ClusterModel`] and the run's input hash. Output: a JSON file with the dense
//! layout it was fitted on, so that a reuse with a different feature layout is refused
//! instead of silently assigning partners to meaningless centroids.

use std::path::Path;

use ndarray::Array2;
use serde::{Deserialize, Serialize};

use super::ClusterModel;
use crate::engine::features::{DENSE_BLOCKS, DENSE_WIDTH};

const FORMAT: &str = "sstc-match centroids v1";

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
    /// sha256 of the profile table the model was fitted on.
    pub input_sha256: String,
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
}

impl StoredModel {
    /// The stored form of a model fitted on the input with this hash.
    pub fn new(model: &ClusterModel, input_sha256: &str) -> Self {
        StoredModel {
            format: FORMAT.into(),
            layout: DENSE_BLOCKS.iter().map(|(n, w)| (n.to_string(), *w)).collect(),
            seed: model.seed,
            trained_on: model.trained_on,
            inertia: model.inertia,
            input_sha256: input_sha256.into(),
            centroids: model.centroids.outer_iter().map(|r| r.to_vec()).collect(),
        }
    }

    /// Reads and checks a stored model.
    pub fn load(path: &Path) -> Result<ClusterModel, StoreError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| StoreError::Unreadable {
            path: name.clone(),
            reason: e.to_string(),
        })?;
        let stored: StoredModel =
            serde_json::from_str(&text).map_err(|e| StoreError::Unreadable {
                path: name.clone(),
                reason: e.to_string(),
            })?;
        let incompatible = |reason: String| StoreError::Incompatible {
            path: name.clone(),
            reason,
        };
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
        Ok(ClusterModel {
            centroids: Array2::from_shape_vec((k, DENSE_WIDTH), flat).expect("checked widths"),
            seed: stored.seed,
            trained_on: stored.trained_on,
            inertia: stored.inertia,
        })
    }
}
