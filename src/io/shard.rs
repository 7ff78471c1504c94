//! A shard directory: what one machine of a sharded night computed, for `merge`.
//!
//! Input, writing: a locked [`Staging`] area, the shard's lists and its [`ShardManifest`]
//! (written last, [`publish_shard`]). Input, reading: a directory path. Output: a
//! [`ShardDir`], its manifest and its lists, partners and candidates by id, each file checked
//! against the sha256 the manifest holds before it is read.
//!
//! ```text
//!   DIR/shard.json              written last: the shard, the run id, input, config, counts, sha256 of the rest
//!   DIR/pools.parquet           partner_id, rank, candidate_id, score: each partner's ranked candidates
//!   DIR/resource-lists.parquet  the same for each partner in need and its funders and facilitators
//!   DIR/.sstc-match             the mark: a directory the engine made
//! ```
//!
//! Partners and candidates are written by id, so a shard directory can be read, checked and
//! diffed by hand; the scores are the f32 the engine ranked by, kept bit for bit.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use polars::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::RunConfig;
use crate::engine::profile::{IdIndex, Profile};
use crate::engine::rank::{Hit, Shortlist};
use crate::engine::shard::Shard;
use crate::io::atomic::OutputIoError;
use crate::io::manifest::{BlockingRecord, InputRecord, StageTiming};
use crate::io::run_dir::publish::{PublishError, Staging};
use crate::io::table::{hex, write_frame, TableError, TableFormat};
use crate::PartnerIdx;

/// The shard's manifest, written last.
pub const SHARD_MANIFEST: &str = "shard.json";
/// Each partner's ranked candidates.
pub const POOLS: &str = "pools.parquet";
/// Each partner in need's funders and facilitators.
pub const RESOURCE_LISTS: &str = "resource-lists.parquet";

/// Everything recorded about one shard.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShardManifest {
    /// Which shard of how many.
    pub shard: Shard,
    /// The run id of the night (the same in every shard, and in the merged run).
    pub run_id: String,
    /// When the shard started (RFC 3339, UTC).
    pub started_at: String,
    /// When it was published.
    pub finished_at: String,
    /// Crate version.
    pub version: String,
    /// Git commit the binary was built from.
    pub git_commit: String,
    /// The profile table.
    pub input: InputRecord,
    /// The configuration, `shard` included.
    pub config: RunConfig,
    /// Active partners of the shard: the lists in [`POOLS`].
    pub partners: usize,
    /// Partners of the shard in need: the lists in [`RESOURCE_LISTS`].
    pub in_need: usize,
    /// Pairs that passed every rule and were scored.
    pub pairs_scored: u64,
    /// Pairs removed before scoring, per rule name.
    pub pairs_removed_by_rule: BTreeMap<String, u64>,
    /// Blocked mode's record (recall is measured by `merge`, on the merged lists).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocking: Option<BlockingRecord>,
    /// Seconds per stage.
    pub timings: Vec<StageTiming>,
    /// Peak resident memory of the process, MiB.
    pub peak_rss_mb: f64,
    /// sha256 of every file of the shard (the manifest aside).
    pub outputs: BTreeMap<String, String>,
}

/// Why a shard directory cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ShardError {
    /// No shard manifest.
    #[error("{dir}: not a finished shard (no {SHARD_MANIFEST}); give the --out directories of `run --shard` runs, and rerun a shard that failed")]
    NotAShard {
        /// The directory.
        dir: String,
    },
    /// The manifest does not parse.
    #[error("{path}: the shard manifest cannot be read ({reason}); rerun this shard")]
    Manifest {
        /// The manifest.
        path: String,
        /// The parser's message.
        reason: String,
    },
    /// A file the manifest lists is missing or differs from what the shard wrote.
    #[error("{path}: {problem} since the shard wrote it; rerun this shard")]
    Changed {
        /// The file.
        path: String,
        /// Missing, or changed.
        problem: &'static str,
    },
    /// A list file cannot be decoded.
    #[error("{path}: {reason}; rerun this shard")]
    Unreadable {
        /// The file.
        path: String,
        /// The decoder's message.
        reason: String,
    },
    /// A list names a partner the input does not hold, or one outside the shard.
    #[error("{path}: row {row}, column {column}: '{id}' {problem}; the shard was computed on other profiles: rerun it on tonight's")]
    Stranger {
        /// The file.
        path: String,
        /// 1-based data row.
        row: usize,
        /// The column.
        column: &'static str,
        /// The id.
        id: String,
        /// What is wrong with it.
        problem: &'static str,
    },
}

/// Writes `lists` (partner, ranked candidates) as one of the shard's list files.
pub fn write_lists(staging: &mut Staging, name: &str, profiles: &[Profile], lists: &[Shortlist]) -> Result<(), TableError> {
    let rows = lists.iter().map(|l| l.hits.len()).sum::<usize>();
    let (mut partner, mut rank, mut candidate, mut score) = (Vec::with_capacity(rows), Vec::with_capacity(rows), Vec::with_capacity(rows), Vec::with_capacity(rows));
    for list in lists {
        for (r, hit) in list.hits.iter().enumerate() {
            partner.push(profiles[list.partner as usize].id.as_str());
            rank.push(r as u32 + 1);
            candidate.push(profiles[hit.candidate as usize].id.as_str());
            score.push(hit.score);
        }
    }
    let columns = vec![
        Column::new("partner_id".into(), partner),
        Column::new("rank".into(), rank),
        Column::new("candidate_id".into(), candidate),
        Column::new("score".into(), score),
    ];
    let write_error = |reason: String| TableError::Write { target: name.to_string(), reason };
    let mut frame = DataFrame::new(rows, columns).map_err(|e| write_error(e.to_string()))?;
    let mut file = staging.create(name).map_err(|e| write_error(e.to_string()))?;
    write_frame(&mut frame, TableFormat::Parquet, &mut file, name)?;
    staging.finish(file).map_err(|e| write_error(e.to_string()))
}

/// Writes the manifest (the last file) and publishes the shard directory in one step.
pub fn publish_shard(mut staging: Staging, manifest: &ShardManifest) -> Result<(), PublishError> {
    let mut file = staging.create(SHARD_MANIFEST)?;
    let json = serde_json::to_vec_pretty(manifest).expect("a shard manifest serialises");
    file.write_all(&json).and_then(|_| file.write_all(b"\n")).map_err(|source| OutputIoError { path: SHARD_MANIFEST.into(), source })?;
    staging.finish(file)?;
    staging.commit()
}

/// A finished shard directory.
pub struct ShardDir {
    /// Where it is.
    pub path: PathBuf,
    /// Its manifest.
    pub manifest: ShardManifest,
}

impl ShardDir {
    /// Opens a finished shard: its manifest must be there and parse.
    pub fn open(path: &Path) -> Result<ShardDir, ShardError> {
        let manifest_path = path.join(SHARD_MANIFEST);
        let text = std::fs::read(&manifest_path).map_err(|_| ShardError::NotAShard { dir: path.display().to_string() })?;
        let manifest = serde_json::from_slice(&text).map_err(|e| ShardError::Manifest { path: manifest_path.display().to_string(), reason: e.to_string() })?;
        Ok(ShardDir { path: path.to_path_buf(), manifest })
    }

    /// The lists of file `name`, partners and candidates by index (`index_of` the input's
    /// ids), in the file's order; every partner must be `expected` of this shard. Partners
    /// with an empty list have no row.
    pub fn lists(&self, name: &str, index_of: &IdIndex, expected: &dyn Fn(PartnerIdx) -> bool) -> Result<Vec<Shortlist>, ShardError> {
        let path = self.path.join(name);
        let shown = path.display().to_string();
        let bytes = std::fs::read(&path).map_err(|_| ShardError::Changed { path: shown.clone(), problem: "missing" })?;
        if self.manifest.outputs.get(name) != Some(&hex(&Sha256::digest(&bytes))) {
            return Err(ShardError::Changed { path: shown, problem: "changed" });
        }
        let unreadable = |e: PolarsError| ShardError::Unreadable { path: shown.clone(), reason: e.to_string() };
        let frame = ParquetReader::new(std::io::Cursor::new(bytes)).finish().map_err(unreadable)?;
        let text = |column: &str| frame.column(column).and_then(|c| c.str().cloned()).map_err(unreadable);
        let (partners, candidates) = (text("partner_id")?, text("candidate_id")?);
        let scores = frame.column("score").and_then(|c| c.f32().cloned()).map_err(unreadable)?;
        let mut lists: Vec<Shortlist> = Vec::new();
        let mut listed = vec![false; index_of.len()];
        for row in 0..frame.height() {
            let stranger = |column: &'static str, id: &str, problem: &'static str| ShardError::Stranger { path: shown.clone(), row: row + 1, column, id: id.to_string(), problem };
            let (partner_id, candidate_id) = (partners.get(row).unwrap_or_default(), candidates.get(row).unwrap_or_default());
            let partner = *index_of.get(partner_id).ok_or_else(|| stranger("partner_id", partner_id, "is not a profile of the input"))?;
            let candidate = *index_of.get(candidate_id).ok_or_else(|| stranger("candidate_id", candidate_id, "is not a profile of the input"))?;
            let score = scores.get(row).ok_or_else(|| ShardError::Unreadable { path: shown.clone(), reason: format!("row {}: no score", row + 1) })?;
            match lists.last_mut() {
                Some(list) if list.partner == partner => list.hits.push(Hit { candidate, score }),
                _ if !expected(partner) => return Err(stranger("partner_id", partner_id, "is not an active partner of this shard")),
                _ if listed[partner as usize] => return Err(stranger("partner_id", partner_id, "has a second list")),
                _ => {
                    listed[partner as usize] = true;
                    lists.push(Shortlist { partner, hits: vec![Hit { candidate, score }] });
                }
            }
        }
        Ok(lists)
    }
}
