//! The run directory: the files one run publishes together, and the one way to read them
//! back.
//!
//! Input, writing: a locked [`Staging`] area ([`publish`]: the rules of the output
//! directory and the publication protocol) that the output stage fills, and the
//! [`RunManifest`] written last by [`publish()`]. Input, reading: a directory
//! path. Output: [`RunDir`], a finished run with its typed manifest, its shortlist as
//! [`ShortlistRow`]s, its cluster table and the centroids it used. `diff`, `evaluate --run`,
//! `campaign` and `report` all read a run here; a file that is missing or changed after the
//! run is an error naming the file (and the row and column), never a silent default.
//!
//! ```text
//!   OUT/manifest.json         written last: config, input digests, counts, sha256 of the rest
//!   OUT/shortlist.csv|.parquet
//!   OUT/resources.csv|.parquet  funders and facilitators per partner in need
//!   OUT/rejects.csv  OUT/duplicates.csv  OUT/clusters.csv  OUT/centroids.json  [OUT/triads.csv|.parquet]
//!   OUT/.sstc-match           the mark: a directory the engine made
//! ```

pub mod publish;

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::engine::cluster::store::StoredModel;
use crate::engine::cluster::ClusterModel;
use crate::engine::score::{Term, TERM_COUNT};
use crate::io::atomic::OutputIoError;
use publish::{PublishError, Staging, MARK};
use crate::io::manifest::RunManifest;
use crate::io::table::{spreadsheet_value, StringTable, TableError, TableSource};

/// The manifest, written last.
pub const MANIFEST: &str = "manifest.json";
/// The shortlist as CSV.
pub const SHORTLIST_CSV: &str = "shortlist.csv";
/// The shortlist as Parquet.
pub const SHORTLIST_PARQUET: &str = "shortlist.parquet";
/// Rejected input rows.
pub const REJECTS: &str = "rejects.csv";
/// The cluster summary.
pub const CLUSTERS: &str = "clusters.csv";
/// The centroids the run used.
pub const CENTROIDS: &str = "centroids.json";
/// Likely duplicate records.
pub const DUPLICATES: &str = "duplicates.csv";
/// Funders and facilitators per partner in need, as CSV.
pub const RESOURCES_CSV: &str = "resources.csv";
/// The same as Parquet.
pub const RESOURCES_PARQUET: &str = "resources.parquet";
/// Triads as CSV.
pub const TRIADS_CSV: &str = "triads.csv";
/// Triads as Parquet.
pub const TRIADS_PARQUET: &str = "triads.parquet";

/// Every name a run may write into its directory.
pub const RUN_FILES: &[&str] = &[MANIFEST, SHORTLIST_CSV, SHORTLIST_PARQUET, REJECTS, DUPLICATES, RESOURCES_CSV, RESOURCES_PARQUET, CLUSTERS, CENTROIDS, TRIADS_CSV, TRIADS_PARQUET, MARK];

/// Why a run directory cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum RunDirError {
    /// No manifest: not a finished run.
    #[error("{dir}: not a finished sstc-match run (no manifest.json); give the output directory of a run")]
    NotARun {
        /// The directory.
        dir: String,
    },
    /// The manifest does not parse.
    #[error("{path}: the manifest cannot be read ({reason}); it is damaged or was written by another version of sstc-match: run the job again")]
    Manifest {
        /// The manifest.
        path: String,
        /// The parser's message.
        reason: String,
    },
    /// A file the manifest lists is missing.
    #[error("{path}: missing, though the run's manifest lists it; the run directory was changed after the run: run the job again")]
    Missing {
        /// The file.
        path: String,
    },
    /// A table cannot be read.
    #[error(transparent)]
    Table(#[from] TableError),
    /// A column the reader needs is absent.
    #[error("{path}: no column {column}; the file was changed after the run: run the job again")]
    Column {
        /// The file.
        path: String,
        /// The column.
        column: String,
    },
    /// A cell does not hold what its column must.
    #[error("{path}: row {row}, column {column}: '{value}' is not {what}; the file was changed after the run: run the job again")]
    Cell {
        /// The file.
        path: String,
        /// 1-based data row.
        row: usize,
        /// The column.
        column: String,
        /// The value.
        value: String,
        /// What the column holds.
        what: &'static str,
    },
    /// The centroids cannot be used.
    #[error(transparent)]
    Model(#[from] crate::engine::cluster::store::StoreError),
}

/// Writes the manifest (the last file) and publishes the staged run in one step.
pub fn publish(mut staging: Staging, manifest: &RunManifest) -> Result<(), PublishError> {
    let mut file = staging.create(MANIFEST)?;
    let json = serde_json::to_vec_pretty(manifest).expect("a manifest serialises");
    file.write_all(&json).and_then(|_| file.write_all(b"\n")).map_err(|source| OutputIoError { path: MANIFEST.into(), source })?;
    staging.finish(file)?;
    staging.commit()
}

/// One row of a run's shortlist, typed.
#[derive(Clone, Debug, PartialEq)]
pub struct ShortlistRow {
    /// The run.
    pub run_id: String,
    /// Whose list.
    pub partner_id: String,
    /// Its name.
    pub partner_name: String,
    /// Its country (ISO3).
    pub partner_country: String,
    /// Its actor type id.
    pub partner_actor_type: String,
    /// 1-based rank.
    pub rank: u32,
    /// The candidate.
    pub candidate_id: String,
    /// Its name.
    pub candidate_name: String,
    /// Its country (ISO3).
    pub candidate_country: String,
    /// Its actor type id.
    pub candidate_actor_type: String,
    /// The score.
    pub score: f64,
    /// Each term's contribution, in [`Term::ALL`] order.
    pub terms: [f64; TERM_COUNT],
    /// Proposed roles.
    pub direction: String,
    /// Modality.
    pub modality: String,
    /// Provider of a one-way match.
    pub provider_id: Option<String>,
    /// Beneficiary of a one-way match.
    pub beneficiary_id: Option<String>,
    /// The partner's cluster.
    pub partner_cluster: u32,
    /// The candidate's contact name.
    pub candidate_contact_name: Option<String>,
    /// The candidate's contact email.
    pub candidate_contact_email: Option<String>,
    /// The partner's contact name.
    pub partner_contact_name: Option<String>,
    /// The partner's contact email.
    pub partner_contact_email: Option<String>,
    /// New partnerships the partner can take on (`None`: no limit).
    pub partner_capacity: Option<u32>,
    /// New partnerships the candidate can take on (`None`: no limit).
    pub candidate_capacity: Option<u32>,
    /// The reason sentence.
    pub reason: String,
}

/// A finished run, read back.
pub struct RunDir {
    /// The directory.
    pub path: PathBuf,
    /// Its manifest.
    pub manifest: RunManifest,
}

/// Reads cells of one table by column name, with errors naming file, row and column.
struct Cells<'t> {
    table: &'t StringTable,
    path: String,
    /// A CSV file, whose text values were written spreadsheet-safe.
    csv: bool,
}

impl Cells<'_> {
    fn column(&self, name: &str) -> Result<usize, RunDirError> {
        self.table.position(name).ok_or_else(|| RunDirError::Column { path: self.path.clone(), column: name.to_string() })
    }

    fn text(&self, column: usize, row: usize) -> String {
        self.optional(column, row).unwrap_or_default()
    }

    fn optional(&self, column: usize, row: usize) -> Option<String> {
        let value = self.table.cell(column, row)?;
        Some(if self.csv { spreadsheet_value(value) } else { value }.to_string())
    }

    fn parsed<T: std::str::FromStr>(&self, column: usize, row: usize, what: &'static str) -> Result<T, RunDirError> {
        let text = self.table.cell(column, row).unwrap_or_default();
        text.parse().map_err(|_| RunDirError::Cell {
            path: self.path.clone(),
            row: self.table.source_row(row) + 1,
            column: self.table.column_names()[column].clone(),
            value: text.to_string(),
            what,
        })
    }

    fn optional_parsed<T: std::str::FromStr>(&self, column: usize, row: usize, what: &'static str) -> Result<Option<T>, RunDirError> {
        self.table.cell(column, row).map(|_| self.parsed(column, row, what)).transpose()
    }
}

impl RunDir {
    /// Opens a finished run: its manifest must be there and parse.
    pub fn open(path: &Path) -> Result<RunDir, RunDirError> {
        let manifest_path = path.join(MANIFEST);
        let text = std::fs::read(&manifest_path).map_err(|_| RunDirError::NotARun { dir: path.display().to_string() })?;
        let manifest = serde_json::from_slice(&text).map_err(|e| RunDirError::Manifest { path: manifest_path.display().to_string(), reason: e.to_string() })?;
        Ok(RunDir { path: path.to_path_buf(), manifest })
    }

    /// A file of the run, which the manifest lists.
    fn listed(&self, name: &str) -> Result<PathBuf, RunDirError> {
        let path = self.path.join(name);
        if !self.manifest.outputs.contains_key(name) || !path.exists() {
            return Err(RunDirError::Missing { path: path.display().to_string() });
        }
        Ok(path)
    }

    /// A table of the run.
    fn table(&self, name: &str) -> Result<(StringTable, String), RunDirError> {
        let path = self.listed(name)?;
        let table = StringTable::read(&TableSource::File(path.clone()))?;
        Ok((table, path.display().to_string()))
    }

    /// The shortlist, in file order (by partner, then rank), from its Parquet file when the
    /// run wrote one, else its CSV.
    pub fn shortlist(&self) -> Result<Vec<ShortlistRow>, RunDirError> {
        let name = if self.manifest.outputs.contains_key(SHORTLIST_PARQUET) { SHORTLIST_PARQUET } else { SHORTLIST_CSV };
        let (table, path) = self.table(name)?;
        let cells = Cells { table: &table, path, csv: name == SHORTLIST_CSV };
        let c = |name: &str| cells.column(name);
        let (run_id, partner_id, partner_name, partner_country, partner_actor_type) = (c("run_id")?, c("partner_id")?, c("partner_name")?, c("partner_country")?, c("partner_actor_type")?);
        let (rank, candidate_id, candidate_name, candidate_country, candidate_actor_type) = (c("rank")?, c("candidate_id")?, c("candidate_name")?, c("candidate_country")?, c("candidate_actor_type")?);
        let (score, direction, modality, provider_id, beneficiary_id) = (c("score")?, c("direction")?, c("modality")?, c("provider_id")?, c("beneficiary_id")?);
        let (partner_cluster, reason) = (c("partner_cluster")?, c("reason")?);
        let contacts = [c("candidate_contact_name")?, c("candidate_contact_email")?, c("partner_contact_name")?, c("partner_contact_email")?];
        let (partner_capacity, candidate_capacity) = (c("partner_capacity")?, c("candidate_capacity")?);
        let terms = Term::ALL.map(|t| c(&format!("term_{}", t.name())));
        let terms: Vec<usize> = terms.into_iter().collect::<Result<_, _>>()?;
        (0..table.height())
            .map(|row| {
                let mut term_values = [0.0; TERM_COUNT];
                for (value, &column) in term_values.iter_mut().zip(&terms) {
                    *value = cells.parsed(column, row, "a number")?;
                }
                Ok(ShortlistRow {
                    run_id: cells.text(run_id, row),
                    partner_id: cells.text(partner_id, row),
                    partner_name: cells.text(partner_name, row),
                    partner_country: cells.text(partner_country, row),
                    partner_actor_type: cells.text(partner_actor_type, row),
                    rank: cells.parsed(rank, row, "a rank (1, 2, ...)")?,
                    candidate_id: cells.text(candidate_id, row),
                    candidate_name: cells.text(candidate_name, row),
                    candidate_country: cells.text(candidate_country, row),
                    candidate_actor_type: cells.text(candidate_actor_type, row),
                    score: cells.parsed(score, row, "a number")?,
                    terms: term_values,
                    direction: cells.text(direction, row),
                    modality: cells.text(modality, row),
                    provider_id: cells.optional(provider_id, row),
                    beneficiary_id: cells.optional(beneficiary_id, row),
                    partner_cluster: cells.parsed(partner_cluster, row, "a cluster number")?,
                    candidate_contact_name: cells.optional(contacts[0], row),
                    candidate_contact_email: cells.optional(contacts[1], row),
                    partner_contact_name: cells.optional(contacts[2], row),
                    partner_contact_email: cells.optional(contacts[3], row),
                    partner_capacity: cells.optional_parsed(partner_capacity, row, "a whole number")?,
                    candidate_capacity: cells.optional_parsed(candidate_capacity, row, "a whole number")?,
                    reason: cells.text(reason, row),
                })
            })
            .collect()
    }

    /// The cluster summary, as text cells by column name, in file order.
    pub fn clusters(&self) -> Result<StringTable, RunDirError> {
        Ok(self.table(CLUSTERS)?.0)
    }

    /// The centroids the run used (`None` when it had none: no valid profile).
    pub fn centroids(&self) -> Result<Option<ClusterModel>, RunDirError> {
        if !self.manifest.outputs.contains_key(CENTROIDS) {
            return Ok(None);
        }
        Ok(Some(StoredModel::load(&self.listed(CENTROIDS)?)?.0))
    }
}
