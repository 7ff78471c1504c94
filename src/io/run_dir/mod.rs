//! The run directory: the files one run publishes together, and the one way to read them
//! back.
//!
//! Input, writing: a locked [`Staging`] area ([`publish`]: the rules of the output
//! directory and the publication protocol) that the output stage fills, and the
//! [`RunManifest`] written last by [`publish()`]. Input, reading: a directory
//! path. Output: [`RunDir`], a finished run with its typed manifest, its shortlist as
//! [`ShortlistRow`]s, its resource lists and triads as [`ResourceRow`]s and [`TriadRow`]s,
//! its cluster table and the centroids it used. `diff`, `evaluate --run`,
//! `campaign` and `report` all read a run here; a file that is missing or changed after the
//! run is an error naming the file (and the row and column), never a silent default.
//!
//! ```text
//!   OUT/manifest.json         written last: config, input digests, counts, sha256 of the rest
//!   OUT/shortlist.csv|.parquet
//!   OUT/resources.csv|.parquet  funders and facilitators per partner in need
//!   OUT/rejects.csv  OUT/duplicates.csv  OUT/clusters.csv  OUT/centroids.json  [OUT/triads.csv|.parquet]
//!   [OUT/changes.csv|.parquet]  what entered, left or moved in each list since the previous run
//!   [OUT/state-partners.parquet  OUT/state-pools.parquet  OUT/state-resources.parquet]  with --incremental: the next night's state
//!   OUT/.sstc-match           the mark: a directory the engine made
//! ```

pub mod publish;

use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use polars::prelude::*;
use sha2::{Digest, Sha256};

use crate::engine::cluster::store::{FittedOn, StoredModel};
use crate::engine::cluster::ClusterModel;
use crate::engine::score::{Term, TERM_COUNT};
use crate::engine::support::SUPPORT_TERMS;
use crate::io::atomic::OutputIoError;
use publish::{PublishError, Staging, MARK};
use crate::io::manifest::RunManifest;
use crate::io::shard::{POOLS, RESOURCE_LISTS, SHARD_MANIFEST};
use crate::io::state::{STATE_PARTNERS, STATE_POOLS, STATE_RESOURCES};
use crate::io::table::{all_columns, hex, spreadsheet_value, StringTable, TableError, TableSource, Wanted};

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
/// What entered, left or moved in each list since the previous run, as CSV.
pub const CHANGES_CSV: &str = "changes.csv";
/// The same as Parquet.
pub const CHANGES_PARQUET: &str = "changes.parquet";

/// Every name a run (or a shard of one) may write into its directory.
pub const RUN_FILES: &[&str] = &[MANIFEST, SHORTLIST_CSV, SHORTLIST_PARQUET, REJECTS, DUPLICATES, RESOURCES_CSV, RESOURCES_PARQUET, CLUSTERS, CENTROIDS, TRIADS_CSV, TRIADS_PARQUET, CHANGES_CSV, CHANGES_PARQUET, STATE_PARTNERS, STATE_POOLS, STATE_RESOURCES, SHARD_MANIFEST, POOLS, RESOURCE_LISTS, MARK];

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
    /// A file is not the one the run wrote.
    #[error("{path}: changed after the run (its sha256 is not the one the run's manifest gives); the run directory was edited: run the job again")]
    Changed {
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

/// Writes the manifest (the last file) and publishes the staged run in one step, once `last`
/// (the database sink's commit) has succeeded (see [`Staging::commit_after`]).
pub fn publish<E: From<PublishError>>(mut staging: Staging, manifest: &RunManifest, last: impl FnOnce() -> Result<(), E>) -> Result<(), E> {
    let mut file = staging.create(MANIFEST).map_err(PublishError::from)?;
    let json = serde_json::to_vec_pretty(manifest).expect("a manifest serialises");
    file.write_all(&json).and_then(|_| file.write_all(b"\n")).map_err(|source| PublishError::from(OutputIoError { path: MANIFEST.into(), source }))?;
    staging.finish(file).map_err(PublishError::from)?;
    staging.commit_after(last)
}

/// Each partner's list of a finished run: partner → (candidate → rank).
pub type Lists = BTreeMap<String, BTreeMap<String, u32>>;

/// One row of a run's shortlist, typed.
#[derive(Clone, Debug, PartialEq)]
pub struct ShortlistRow<'t> {
    /// The run.
    pub run_id: &'t str,
    /// Whose list.
    pub partner_id: &'t str,
    /// Its name.
    pub partner_name: &'t str,
    /// Its country (ISO3).
    pub partner_country: &'t str,
    /// Its actor type id.
    pub partner_actor_type: &'t str,
    /// 1-based rank.
    pub rank: u32,
    /// The candidate.
    pub candidate_id: &'t str,
    /// Its name.
    pub candidate_name: &'t str,
    /// Its country (ISO3).
    pub candidate_country: &'t str,
    /// Its actor type id.
    pub candidate_actor_type: &'t str,
    /// The score.
    pub score: f64,
    /// Each term's contribution, in [`Term::ALL`] order.
    pub terms: [f64; TERM_COUNT],
    /// Proposed roles.
    pub direction: &'t str,
    /// Modality.
    pub modality: &'t str,
    /// Provider of a one-way match.
    pub provider_id: Option<&'t str>,
    /// Beneficiary of a one-way match.
    pub beneficiary_id: Option<&'t str>,
    /// The partner's cluster.
    pub partner_cluster: u32,
    /// The candidate's contact name.
    pub candidate_contact_name: Option<&'t str>,
    /// The candidate's contact email.
    pub candidate_contact_email: Option<&'t str>,
    /// The partner's contact name.
    pub partner_contact_name: Option<&'t str>,
    /// The partner's contact email.
    pub partner_contact_email: Option<&'t str>,
    /// New partnerships the partner can take on (`None`: no limit).
    pub partner_capacity: Option<u32>,
    /// New partnerships the candidate can take on (`None`: no limit).
    pub candidate_capacity: Option<u32>,
    /// The reason sentence.
    pub reason: &'t str,
}

/// One row of a run's resource lists (`resources.csv`): a partner in need and one of its
/// funders or facilitators, typed.
#[derive(Clone, Debug, PartialEq)]
pub struct ResourceRow<'t> {
    /// The partner in need.
    pub partner_id: &'t str,
    /// Its name.
    pub partner_name: &'t str,
    /// Its country (ISO3).
    pub partner_country: &'t str,
    /// Its actor type id.
    pub partner_actor_type: &'t str,
    /// Its contact name.
    pub partner_contact_name: Option<&'t str>,
    /// Its contact email.
    pub partner_contact_email: Option<&'t str>,
    /// 1-based rank.
    pub rank: u32,
    /// The funder or facilitator.
    pub candidate_id: &'t str,
    /// Its name.
    pub candidate_name: &'t str,
    /// Its country (ISO3).
    pub candidate_country: &'t str,
    /// Its actor type id.
    pub candidate_actor_type: &'t str,
    /// Its contact name.
    pub candidate_contact_name: Option<&'t str>,
    /// Its contact email.
    pub candidate_contact_email: Option<&'t str>,
    /// The support score.
    pub score: f64,
    /// `funder` or `facilitator`.
    pub role: &'t str,
    /// Each support term's contribution, in [`SUPPORT_TERMS`] order.
    pub terms: [f64; SUPPORT_TERMS.len()],
    /// Modality by the triangular definition.
    pub modality: &'t str,
    /// The reason sentence.
    pub reason: &'t str,
}

/// A member of a triad as `triads.csv` names it.
#[derive(Clone, Debug, PartialEq)]
pub struct Member<'t> {
    /// Its id.
    pub id: &'t str,
    /// Its name.
    pub name: &'t str,
    /// Its country (ISO3).
    pub country: &'t str,
}

/// One row of a run's triads (`triads.csv`), typed.
#[derive(Clone, Debug, PartialEq)]
pub struct TriadRow<'t> {
    /// The beneficiary.
    pub beneficiary: Member<'t>,
    /// The provider.
    pub provider: Member<'t>,
    /// The third member.
    pub third: Member<'t>,
    /// The third member's role (`funder` or `facilitator`).
    pub third_role: &'t str,
    /// The triad's score.
    pub score: f64,
    /// The reason sentence.
    pub reason: &'t str,
}

/// A finished run, read back.
pub struct RunDir {
    /// The directory.
    pub path: PathBuf,
    /// Its manifest.
    pub manifest: RunManifest,
}

/// A table of a finished run, read back; its rows borrow their text from it (a copy of every
/// cell of a million-row shortlist would cost more than reading the file).
pub struct RunTable {
    table: StringTable,
    path: String,
    /// A CSV file, whose text values were written spreadsheet-safe.
    csv: bool,
}

impl RunTable {
    fn cells(&self) -> Cells<'_> {
        Cells { table: &self.table, path: self.path.clone(), csv: self.csv }
    }
}

/// A run's shortlist, read back: [`Shortlist::rows`].
pub struct Shortlist(RunTable);

/// A run's resource lists, read back: [`Resources::rows`].
pub struct Resources(RunTable);

/// A run's triads, read back: [`Triads::rows`].
pub struct Triads(RunTable);

/// Reads cells of one table by column name, with errors naming file, row and column.
struct Cells<'t> {
    table: &'t StringTable,
    path: String,
    /// A CSV file, whose text values were written spreadsheet-safe.
    csv: bool,
}

impl<'t> Cells<'t> {
    fn column(&self, name: &str) -> Result<usize, RunDirError> {
        self.table.position(name).ok_or_else(|| RunDirError::Column { path: self.path.clone(), column: name.to_string() })
    }

    fn text(&self, column: usize, row: usize) -> &'t str {
        self.optional(column, row).unwrap_or_default()
    }

    fn optional(&self, column: usize, row: usize) -> Option<&'t str> {
        let value = self.table.cell(column, row)?;
        Some(if self.csv { spreadsheet_value(value) } else { value })
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

    /// A file of the run, which the manifest lists, as the run wrote it (its sha256 checked:
    /// what is compared with tonight must be what was published).
    fn verified(&self, name: &str) -> Result<PathBuf, RunDirError> {
        let path = self.listed(name)?;
        let shown = || path.display().to_string();
        let mut hasher = Sha256::new();
        std::fs::File::open(&path)
            .and_then(|mut file| std::io::copy(&mut file, &mut hasher))
            .map_err(|e| RunDirError::Table(TableError::Malformed { source_name: shown(), format: if name.ends_with(".csv") { "CSV" } else { "Parquet" }, reason: e.to_string() }))?;
        if self.manifest.outputs.get(name) != Some(&hex(&hasher.finalize())) {
            return Err(RunDirError::Changed { path: shown() });
        }
        Ok(path)
    }

    /// Checks that the shortlist the manifest lists is there (before a night's work that
    /// will compare with it).
    pub fn check_shortlist(&self) -> Result<(), RunDirError> {
        self.listed(self.shortlist_file()).map(|_| ())
    }

    /// The wanted columns of a table of the run.
    fn table(&self, name: &str, wanted: Wanted) -> Result<RunTable, RunDirError> {
        let path = self.listed(name)?;
        let table = StringTable::read_hashed(&TableSource::File(path.clone()), wanted)?.0;
        Ok(RunTable { table, path: path.display().to_string(), csv: name.ends_with(".csv") })
    }

    /// The shortlist file: Parquet when the run wrote one, else CSV.
    fn shortlist_file(&self) -> &'static str {
        if self.manifest.outputs.contains_key(SHORTLIST_PARQUET) {
            SHORTLIST_PARQUET
        } else {
            SHORTLIST_CSV
        }
    }

    /// Each partner's list as candidate → rank, and each listed partner's cluster: what
    /// `diff` and `report --previous` compare, read from four columns of the shortlist.
    pub fn lists(&self) -> Result<(Lists, BTreeMap<String, u32>), RunDirError> {
        let name = self.shortlist_file();
        let wanted = |c: &str| ["partner_id", "candidate_id", "rank", "partner_cluster"].contains(&c);
        let table = self.table(name, &wanted)?;
        let cells = table.cells();
        let c = |name: &str| cells.column(name);
        let (partner_id, candidate_id, rank, cluster) = (c("partner_id")?, c("candidate_id")?, c("rank")?, c("partner_cluster")?);
        let (mut lists, mut clusters) = (Lists::new(), BTreeMap::new());
        for row in 0..table.table.height() {
            let partner = cells.text(partner_id, row);
            clusters.insert(partner.to_string(), cells.parsed(cluster, row, "a cluster number")?);
            lists.entry(partner.to_string()).or_default().insert(cells.text(candidate_id, row).to_string(), cells.parsed(rank, row, "a rank (1, 2, ...)")?);
        }
        Ok((lists, clusters))
    }

    /// Calls `visit(partner_id, rank, candidate_id)` for every row of the shortlist, in file
    /// order: what tonight's changes are measured against. Memory holds a slice of rows, not
    /// the table: a Parquet shortlist is read a million rows at a time, three columns only; a
    /// CSV one record by record.
    pub fn each_pair(&self, mut visit: impl FnMut(&str, u32, &str)) -> Result<(), RunDirError> {
        const COLUMNS: [&str; 3] = ["partner_id", "rank", "candidate_id"];
        let name = self.shortlist_file();
        if name == SHORTLIST_CSV {
            let path = self.verified(name)?;
            let shown = path.display().to_string();
            let unreadable = |e: std::io::Error| RunDirError::Table(TableError::Malformed { source_name: shown.clone(), format: "CSV", reason: e.to_string() });
            let mut records = std::io::BufReader::new(std::fs::File::open(&path).map_err(unreadable)?);
            let mut fields = Vec::new();
            next_record(&mut records, &mut fields).map_err(unreadable)?;
            let at = |column: &str| fields.iter().position(|f| f == column).ok_or_else(|| RunDirError::Column { path: shown.clone(), column: column.to_string() });
            let [partner_id, rank, candidate_id] = COLUMNS.map(at);
            let (partner_id, rank, candidate_id) = (partner_id?, rank?, candidate_id?);
            let mut row = 0;
            while next_record(&mut records, &mut fields).map_err(unreadable)? {
                row += 1;
                let cell = |column: usize| fields.get(column).map_or("", |f| spreadsheet_value(f));
                let parsed = cell(rank).parse().map_err(|_| RunDirError::Cell { path: shown.clone(), row, column: "rank".into(), value: cell(rank).to_string(), what: "a rank (1, 2, ...)" })?;
                visit(cell(partner_id), parsed, cell(candidate_id));
            }
            return Ok(());
        }
        self.each_slice(name, &COLUMNS, |frame, malformed| {
            let text = |c: &str| frame.column(c).and_then(|c| c.str().cloned()).map_err(malformed);
            let (partners, candidates) = (text("partner_id")?, text("candidate_id")?);
            let ranks = frame.column("rank").and_then(|c| c.cast(&DataType::UInt32)).map_err(malformed)?;
            let ranks = ranks.u32().map_err(malformed)?;
            for ((partner, rank), candidate) in partners.iter().zip(ranks.iter()).zip(candidates.iter()) {
                visit(partner.unwrap_or_default(), rank.unwrap_or_default(), candidate.unwrap_or_default());
            }
            Ok(())
        })
    }

    /// Hands `visit` the Parquet file `name` of the run (its sha256 checked first) a million
    /// rows at a time, the `columns` only, with the error for a column it cannot decode:
    /// memory holds a slice, not the table.
    pub fn each_slice(&self, name: &str, columns: &[&str], mut visit: impl FnMut(&DataFrame, &dyn Fn(PolarsError) -> RunDirError) -> Result<(), RunDirError>) -> Result<(), RunDirError> {
        const SLICE: usize = 1 << 20;
        let path = self.verified(name)?;
        let shown = path.display().to_string();
        let malformed = |e: PolarsError| RunDirError::Table(TableError::Malformed { source_name: shown.clone(), format: "Parquet", reason: e.to_string() });
        let open = || std::fs::File::open(&path).map(ParquetReader::new).map_err(|e| malformed(e.into()));
        let rows = open()?.num_rows().map_err(malformed)?;
        for start in (0..rows).step_by(SLICE) {
            let frame = open()?.with_columns(Some(columns.iter().map(|c| c.to_string()).collect())).with_slice(Some((start, SLICE))).finish().map_err(malformed)?;
            visit(&frame, &malformed)?;
        }
        Ok(())
    }

    /// Every partner's and candidate's name in the shortlist, by id.
    pub fn names(&self) -> Result<BTreeMap<String, String>, RunDirError> {
        let wanted = |c: &str| ["partner_id", "partner_name", "candidate_id", "candidate_name"].contains(&c);
        let table = self.table(self.shortlist_file(), &wanted)?;
        let cells = table.cells();
        let mut names = BTreeMap::new();
        for (id, name) in [("partner_id", "partner_name"), ("candidate_id", "candidate_name")] {
            let (id, name) = (cells.column(id)?, cells.column(name)?);
            for row in 0..table.table.height() {
                names.entry(cells.text(id, row).to_string()).or_insert_with(|| cells.text(name, row).to_string());
            }
        }
        Ok(names)
    }

    /// The shortlist, from its Parquet file when the run wrote one, else its CSV.
    pub fn shortlist(&self) -> Result<Shortlist, RunDirError> {
        // The columns a row holds; the long offer lists and the rest are not decoded.
        let unused = ["candidate_entity_kind", "candidate_city", "candidate_offers", "partner_offers", "distance_km", "cross_border", "candidate_cluster"];
        Ok(Shortlist(self.table(self.shortlist_file(), &|c| !unused.contains(&c))?))
    }

    /// The table of a run that wrote it in both formats, from Parquet when it can; `None`
    /// when the run wrote neither (an older run, or triads turned off).
    fn optional_table(&self, names: (&'static str, &'static str)) -> Result<Option<RunTable>, RunDirError> {
        self.written(names).map(|name| self.table(name, &all_columns)).transpose()
    }

    /// The file of a table the run wrote in both formats: Parquet when it wrote it, else CSV,
    /// else `None`.
    fn written(&self, (csv, parquet): (&'static str, &'static str)) -> Option<&'static str> {
        [parquet, csv].into_iter().find(|name| self.manifest.outputs.contains_key(*name))
    }

    /// The resource lists; `None` for a run that wrote none.
    pub fn resources(&self) -> Result<Option<Resources>, RunDirError> {
        Ok(self.optional_table((RESOURCES_CSV, RESOURCES_PARQUET))?.map(Resources))
    }

    /// The triads; `None` for a run that wrote none.
    pub fn triads(&self) -> Result<Option<Triads>, RunDirError> {
        Ok(self.optional_table((TRIADS_CSV, TRIADS_PARQUET))?.map(Triads))
    }

    /// The pairs (partner id, candidate id) that entered their list since the run's previous
    /// night, from its changes table; `None` for a run that had no previous night.
    pub fn entered(&self) -> Result<Option<HashSet<(String, String)>>, RunDirError> {
        let Some(name) = self.written((CHANGES_CSV, CHANGES_PARQUET)) else { return Ok(None) };
        self.verified(name)?;
        let table = self.table(name, &all_columns)?;
        let cells = table.cells();
        let (partner_id, candidate_id, change) = (cells.column("partner_id")?, cells.column("candidate_id")?, cells.column("change")?);
        let rows = 0..table.table.height();
        Ok(Some(rows.filter(|&row| cells.text(change, row) == "entered").map(|row| (cells.text(partner_id, row).to_string(), cells.text(candidate_id, row).to_string())).collect()))
    }

    /// The cluster summary, as text cells by column name, in file order.
    pub fn clusters(&self) -> Result<StringTable, RunDirError> {
        Ok(self.table(CLUSTERS, &all_columns)?.table)
    }

    /// The centroids the run used and what they were fitted on (`None` when it had none: no
    /// valid profile).
    pub fn centroids(&self) -> Result<Option<(ClusterModel, FittedOn)>, RunDirError> {
        if !self.manifest.outputs.contains_key(CENTROIDS) {
            return Ok(None);
        }
        Ok(Some(StoredModel::load(&self.listed(CENTROIDS)?)?))
    }
}

impl Shortlist {
    /// The rows, in file order (by partner, then rank).
    pub fn rows(&self) -> Result<Vec<ShortlistRow<'_>>, RunDirError> {
        let cells = self.0.cells();
        let c = |name: &str| cells.column(name);
        let (run_id, partner_id, partner_name, partner_country, partner_actor_type) = (c("run_id")?, c("partner_id")?, c("partner_name")?, c("partner_country")?, c("partner_actor_type")?);
        let (rank, candidate_id, candidate_name, candidate_country, candidate_actor_type) = (c("rank")?, c("candidate_id")?, c("candidate_name")?, c("candidate_country")?, c("candidate_actor_type")?);
        let (score, direction, modality, provider_id, beneficiary_id) = (c("score")?, c("direction")?, c("modality")?, c("provider_id")?, c("beneficiary_id")?);
        let (partner_cluster, reason) = (c("partner_cluster")?, c("reason")?);
        let contacts = [c("candidate_contact_name")?, c("candidate_contact_email")?, c("partner_contact_name")?, c("partner_contact_email")?];
        let (partner_capacity, candidate_capacity) = (c("partner_capacity")?, c("candidate_capacity")?);
        let terms = Term::ALL.map(|t| c(&format!("term_{}", t.name())));
        let terms: Vec<usize> = terms.into_iter().collect::<Result<_, _>>()?;
        (0..self.0.table.height())
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
}

impl Resources {
    /// The rows, in file order (by partner in need, then rank).
    pub fn rows(&self) -> Result<Vec<ResourceRow<'_>>, RunDirError> {
        let cells = self.0.cells();
        let c = |name: &str| cells.column(name);
        let (partner_id, partner_name, partner_country, partner_actor_type) = (c("partner_id")?, c("partner_name")?, c("partner_country")?, c("partner_actor_type")?);
        let (partner_contact_name, partner_contact_email) = (c("partner_contact_name")?, c("partner_contact_email")?);
        let (rank, candidate_id, candidate_name, candidate_country) = (c("rank")?, c("candidate_id")?, c("candidate_name")?, c("candidate_country")?);
        let (candidate_actor_type, contact_name, contact_email) = (c("candidate_actor_type")?, c("candidate_contact_name")?, c("candidate_contact_email")?);
        let (score, role, modality, reason) = (c("score")?, c("role")?, c("modality")?, c("reason")?);
        let terms: Vec<usize> = SUPPORT_TERMS.iter().map(|t| c(&format!("term_{t}"))).collect::<Result<_, _>>()?;
        let rows = (0..self.0.table.height())
            .map(|row| {
                let mut term_values = [0.0; SUPPORT_TERMS.len()];
                for (value, &column) in term_values.iter_mut().zip(&terms) {
                    *value = cells.parsed(column, row, "a number")?;
                }
                Ok(ResourceRow {
                    partner_id: cells.text(partner_id, row),
                    partner_name: cells.text(partner_name, row),
                    partner_country: cells.text(partner_country, row),
                    partner_actor_type: cells.text(partner_actor_type, row),
                    partner_contact_name: cells.optional(partner_contact_name, row),
                    partner_contact_email: cells.optional(partner_contact_email, row),
                    rank: cells.parsed(rank, row, "a rank (1, 2, ...)")?,
                    candidate_id: cells.text(candidate_id, row),
                    candidate_name: cells.text(candidate_name, row),
                    candidate_country: cells.text(candidate_country, row),
                    candidate_actor_type: cells.text(candidate_actor_type, row),
                    candidate_contact_name: cells.optional(contact_name, row),
                    candidate_contact_email: cells.optional(contact_email, row),
                    score: cells.parsed(score, row, "a number")?,
                    role: cells.text(role, row),
                    terms: term_values,
                    modality: cells.text(modality, row),
                    reason: cells.text(reason, row),
                })
            })
            .collect::<Result<_, RunDirError>>()?;
        Ok(rows)
    }
}

impl Triads {
    /// The rows, in file order.
    pub fn rows(&self) -> Result<Vec<TriadRow<'_>>, RunDirError> {
        let cells = self.0.cells();
        let c = |name: &str| cells.column(name);
        let member = |role: &str| Ok::<_, RunDirError>([c(&format!("{role}_id"))?, c(&format!("{role}_name"))?, c(&format!("{role}_country"))?]);
        let (beneficiary, provider, third) = (member("beneficiary")?, member("provider")?, member("third")?);
        let (third_role, score, reason) = (c("third_role")?, c("triad_score")?, c("reason")?);
        let read = |[id, name, country]: [usize; 3], row: usize| Member { id: cells.text(id, row), name: cells.text(name, row), country: cells.text(country, row) };
        let rows = (0..self.0.table.height())
            .map(|row| {
                Ok(TriadRow {
                    beneficiary: read(beneficiary, row),
                    provider: read(provider, row),
                    third: read(third, row),
                    third_role: cells.text(third_role, row),
                    score: cells.parsed(score, row, "a number")?,
                    reason: cells.text(reason, row),
                })
            })
            .collect::<Result<_, RunDirError>>()?;
        Ok(rows)
    }
}

/// Reads the next CSV record of `reader` into `fields` (RFC 4180: a quoted field holds commas,
/// line breaks and doubled quotes); `false` at the end of the input.
fn next_record(reader: &mut impl std::io::BufRead, fields: &mut Vec<String>) -> std::io::Result<bool> {
    fields.clear();
    let (mut field, mut quoted, mut line) = (String::new(), false, String::new());
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            if !field.is_empty() || !fields.is_empty() {
                fields.push(field);
            }
            return Ok(!fields.is_empty());
        }
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            match (c, quoted) {
                ('"', true) if chars.peek() == Some(&'"') => field.push(chars.next().expect("peeked")),
                ('"', _) => quoted = !quoted,
                (',', false) => fields.push(std::mem::take(&mut field)),
                ('\r', false) if chars.peek() == Some(&'\n') => {}
                ('\n', false) => {
                    fields.push(field);
                    return Ok(true);
                }
                _ => field.push(c),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_records_hold_quoted_commas_quotes_and_line_breaks() {
        let text = "a,b,c\r\n\"x, y\",\"say \"\"hi\"\"\",'=1\n\"two\nlines\",,last\nno newline at the end";
        let mut reader = std::io::Cursor::new(text.as_bytes());
        let mut fields = Vec::new();
        let mut records = Vec::new();
        while next_record(&mut reader, &mut fields).unwrap() {
            records.push(fields.clone());
        }
        assert_eq!(
            records,
            [vec!["a", "b", "c"], vec!["x, y", "say \"hi\"", "'=1"], vec!["two\nlines", "", "last"], vec!["no newline at the end"]]
        );
    }
}
