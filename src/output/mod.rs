//! Output: write it so a crash never leaves half a shortlist.
//!
//! Input: the run's shortlists, rejects, clusters, centroids and triads. Output, into the
//! run's [`Staging`] area (published as a whole by [`crate::io::run_dir::publish`], the
//! manifest last): `shortlist.csv` and `shortlist.parquet` ([`shortlist`]), `rejects.csv`,
//! `duplicates.csv`, `resources.csv` and `resources.parquet` ([`resources`]), `clusters.csv`,
//! `centroids.json`, when asked, `triads.csv` and `triads.parquet`, and when there is a
//! previous run, `changes.csv` and `changes.parquet` ([`changes`]). The four large tables are
//! written in the formats `--formats` names (CSV for people and spreadsheets, Parquet for
//! databases and dataframes); the small ones always as CSV. With `--sink`, the shortlist,
//! resources, triads, changes, rejects and clusters are also copied, batch by batch, into the
//! PostgreSQL sink's open transaction ([`Destinations`]).
//!
//! **Invariant:** the only module that writes a run's results; every file goes through the
//! staging area, every database row through the sink.
//!
//! # `rejects.csv`
//! `file, row, column, value, reason`: one line per problem; `row` is the 1-based data row.
//!
//! # `duplicates.csv`
//! `id_a, name_a, id_b, name_b, evidence, group`: one line per link between two records that
//! are likely one partner (never proposed to each other); `group` is the smallest id of the
//! records linked together, so a registry keeper can merge a group at once.
//!
//! # `clusters.csv`
//! `cluster, size, share, top_regions, top_actor_types, top_themes`: lists are
//! `name (count)` joined by `; `.

pub mod changes;
pub mod matrices;
pub mod resources;
pub mod sentence;
pub mod shortlist;

use std::io::Write;
use std::ops::Range;
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;

use polars::prelude::*;
use rayon::prelude::*;

use crate::engine::cluster::store::StoredModel;
use crate::engine::cluster::ClusterSummary;
use crate::engine::ingest::{DuplicateLink, Duplicates, Rejection};
use crate::engine::profile::Profile;
use crate::io::postgresql::sink::Sink;
use crate::io::postgresql::PgError;
use crate::io::run_dir::{CENTROIDS, CLUSTERS, DUPLICATES, REJECTS, TRIADS_CSV, TRIADS_PARQUET};
use crate::io::table::{spreadsheet_safe_frame, write_frame, TableError, TableFormat};

pub use crate::io::atomic::OutputIoError;
pub use crate::io::run_dir::publish::{PublishError, Staging};

/// Why outputs could not be written.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// A file system problem.
    #[error(transparent)]
    Io(#[from] OutputIoError),
    /// A table writer problem.
    #[error(transparent)]
    Table(#[from] TableError),
    /// The PostgreSQL sink refused a table.
    #[error(transparent)]
    Database(#[from] PgError),
    /// The manifest could not be serialised.
    #[error("cannot serialise the manifest: {0}")]
    Manifest(#[from] serde_json::Error),
}

/// Maps a polars error while writing `target` to an [`OutputError`].
pub fn write_error(target: &str) -> impl Fn(PolarsError) -> OutputError + '_ {
    move |e| {
        OutputError::Table(TableError::Write {
            target: target.to_string(),
            reason: e.to_string(),
        })
    }
}

/// Where a run's tables go: the staging directory, and the PostgreSQL sink (its transaction
/// begun) when the run has one.
pub struct Destinations {
    /// The files, published together.
    pub staging: Staging,
    /// The database, committed with the run.
    pub sink: Option<Sink>,
}

impl Destinations {
    /// Copies a small table whole into the sink's `table`, when there is a sink.
    fn load(&mut self, table: &str, frame: &DataFrame) -> Result<(), OutputError> {
        if let Some(sink) = &mut self.sink {
            sink.load(table, frame.schema(), [Arc::new(frame.clone())])?;
        }
        Ok(())
    }
}

/// Writes a frame as one file of the given format into the staging area.
pub fn write_table(staging: &mut Staging, name: &str, frame: &mut DataFrame, format: TableFormat) -> Result<(), OutputError> {
    let mut file = staging.create(name)?;
    write_frame(frame, format, &mut file, name)?;
    staging.finish(file)?;
    Ok(())
}

/// Partners per written batch of a large table: memory holds a batch's rows, not the table's.
pub const BATCH: usize = 4096;

/// Partners per piece of a batch built on one thread: its rows and its columns. (The columns
/// of a whole batch built on the writing thread took 0.8 s of the shortlist's 2.8 s at 100k,
/// with one core idle.)
const PIECE: usize = 256;

/// The frames of a table of `partners` partners' rows, a [`BATCH`] of partners at a time,
/// for [`write_batches`]: each batch is built on the pool in pieces (`piece` builds the rows
/// and the frame of a range of partners), each piece a task of its own (so that no thread
/// waits on another's run of pieces), and stacked into one frame for the encoders.
pub fn batch_frames<'a>(
    partners: usize,
    table: &'a str,
    piece: impl Fn(Range<usize>) -> Result<DataFrame, OutputError> + Sync + 'a,
) -> impl Iterator<Item = Result<DataFrame, OutputError>> + 'a {
    (0..partners).step_by(BATCH).map(move |start| {
        let end = (start + BATCH).min(partners);
        let starts: Vec<usize> = (start..end).step_by(PIECE).collect();
        let mut pieces = starts.into_par_iter().with_max_len(1).map(|s| piece(s..(s + PIECE).min(end))).collect::<Result<Vec<DataFrame>, OutputError>>()?.into_iter();
        let mut stacked = pieces.next().expect("a batch holds a partner");
        for piece in pieces {
            stacked.vstack_mut_owned(piece).map_err(write_error(table))?;
        }
        stacked.rechunk_mut_par();
        Ok(stacked)
    })
}

/// Writes one table in each of `formats` (CSV spreadsheet-safe), named `(csv, parquet)`, and
/// into the sink's `table` when there is a sink, batch by batch, so that memory holds a
/// batch, not the table: `frames` builds each batch (on the caller's pool) while one thread
/// per destination encodes the previous one. Polars encodes on a pool of its own; a worker
/// of ours waiting for it would leave a core idle (measured at 100k: 75 % of two cores busy
/// when the encoders ran on our pool). Returns the rows written.
pub fn write_batches(
    out: &mut Destinations,
    (names, table): ((&str, &str), &str),
    formats: &[TableFormat],
    schema: &Schema,
    frames: impl Iterator<Item = Result<DataFrame, OutputError>>,
) -> Result<usize, OutputError> {
    let mut files = formats.iter().map(|&format| Ok((format, out.staging.create(file_name(names, format))?))).collect::<Result<Vec<_>, OutputError>>()?;
    let rows_written = std::thread::scope(|scope| -> Result<usize, OutputError> {
        let (mut senders, mut encoders) = (Vec::new(), Vec::new());
        for (format, file) in &mut files {
            let (to_encoder, batches) = sync_channel::<Arc<DataFrame>>(1);
            senders.push(to_encoder);
            let name = file_name(names, *format);
            encoders.push(scope.spawn(move || encode_batches(*format, file, name, schema, batches)));
        }
        if let Some(sink) = &mut out.sink {
            let (to_sink, batches) = sync_channel::<Arc<DataFrame>>(1);
            senders.push(to_sink);
            encoders.push(scope.spawn(move || sink.load(table, schema, batches).map(|_| ()).map_err(OutputError::from)));
        }
        let mut rows_written = 0;
        for frame in frames {
            let frame = Arc::new(frame?);
            rows_written += frame.height();
            // An encoder that stopped holds its error, reported below.
            if senders.iter().any(|to_encoder| to_encoder.send(frame.clone()).is_err()) {
                break;
            }
        }
        drop(senders);
        for encoder in encoders {
            encoder.join().expect("an encoder does not panic")?;
        }
        Ok(rows_written)
    })?;
    for (_, file) in files {
        out.staging.finish(file)?;
    }
    Ok(rows_written)
}

/// The file name of a table written in `format`, from its `(csv, parquet)` names.
fn file_name<'n>((csv, parquet): (&'n str, &'n str), format: TableFormat) -> &'n str {
    match format {
        TableFormat::Csv => csv,
        TableFormat::Parquet => parquet,
    }
}

/// Encodes the batches received into `file` as one table in `format`.
fn encode_batches(format: TableFormat, file: impl Write, name: &str, schema: &Schema, batches: Receiver<Arc<DataFrame>>) -> Result<(), OutputError> {
    match format {
        TableFormat::Csv => {
            let mut csv = CsvWriter::new(file).include_header(true).batched(schema).map_err(write_error(name))?;
            for frame in batches {
                csv.write_batch(&spreadsheet_safe_frame(&frame)).map_err(write_error(name))?;
            }
            csv.finish().map_err(write_error(name))
        }
        TableFormat::Parquet => {
            let mut parquet = ParquetWriter::new(file).batched(schema).map_err(write_error(name))?;
            for frame in batches {
                parquet.write_batch(&frame).map_err(write_error(name))?;
            }
            parquet.finish().map_err(write_error(name)).map(|_| ())
        }
    }
}

fn write_csv(staging: &mut Staging, name: &str, mut frame: DataFrame) -> Result<(), OutputError> {
    write_table(staging, name, &mut frame, TableFormat::Csv)
}

/// Writes `rejects.csv` (header only when nothing was rejected).
pub fn write_rejects(out: &mut Destinations, rejects: &[Rejection]) -> Result<(), OutputError> {
    let column = |name: &str, f: &dyn Fn(&Rejection) -> String| {
        Column::new(name.into(), rejects.iter().map(f).collect::<Vec<String>>())
    };
    let frame = DataFrame::new(
        rejects.len(),
        vec![
            column("file", &|r| r.file.clone()),
            Column::new("row".into(), rejects.iter().map(|r| r.row as u64).collect::<Vec<u64>>()),
            column("column", &|r| r.column.clone()),
            column("value", &|r| r.value.clone()),
            column("reason", &|r| r.reason.clone()),
        ],
    )
    .map_err(write_error(REJECTS))?;
    out.load("rejects", &frame)?;
    write_csv(&mut out.staging, REJECTS, frame)
}

/// Writes `duplicates.csv` (header only when there are none).
pub fn write_duplicates(staging: &mut Staging, duplicates: &Duplicates, profiles: &[Profile]) -> Result<(), OutputError> {
    let links = &duplicates.links;
    let column = |name: &str, f: &dyn Fn(&DuplicateLink) -> String| {
        Column::new(name.into(), links.iter().map(f).collect::<Vec<String>>())
    };
    let frame = DataFrame::new(
        links.len(),
        vec![
            column("id_a", &|l| profiles[l.a as usize].id.clone()),
            column("name_a", &|l| profiles[l.a as usize].name.clone()),
            column("id_b", &|l| profiles[l.b as usize].id.clone()),
            column("name_b", &|l| profiles[l.b as usize].name.clone()),
            column("evidence", &|l| l.evidence.to_string()),
            column("group", &|l| profiles[duplicates.group_of(l.a) as usize].id.clone()),
        ],
    )
    .map_err(write_error(DUPLICATES))?;
    write_csv(staging, DUPLICATES, frame)
}

/// Writes `clusters.csv`.
pub fn write_clusters(out: &mut Destinations, clusters: &[ClusterSummary]) -> Result<(), OutputError> {
    let total: usize = clusters.iter().map(|c| c.size).sum::<usize>().max(1);
    let list = |items: &[(String, usize)]| {
        items
            .iter()
            .map(|(name, count)| format!("{name} ({count})"))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let text = |name: &str, f: &dyn Fn(&ClusterSummary) -> String| {
        Column::new(name.into(), clusters.iter().map(f).collect::<Vec<String>>())
    };
    let frame = DataFrame::new(
        clusters.len(),
        vec![
            Column::new("cluster".into(), clusters.iter().map(|c| c.cluster).collect::<Vec<u32>>()),
            Column::new("size".into(), clusters.iter().map(|c| c.size as u64).collect::<Vec<u64>>()),
            Column::new(
                "share".into(),
                clusters
                    .iter()
                    .map(|c| (c.size as f64 / total as f64 * 1e4).round() / 1e4)
                    .collect::<Vec<f64>>(),
            ),
            text("top_regions", &|c| list(&c.top_regions)),
            text("top_actor_types", &|c| list(&c.top_actor_types)),
            text("top_themes", &|c| list(&c.top_themes)),
        ],
    )
    .map_err(write_error(CLUSTERS))?;
    out.load("clusters", &frame)?;
    write_csv(&mut out.staging, CLUSTERS, frame)
}

/// Writes `centroids.json`: the model the run used, so that `diff` can align clusters
/// between runs and a later run can reuse it.
pub fn write_centroids(staging: &mut Staging, model: &StoredModel) -> Result<(), OutputError> {
    let mut file = staging.create(CENTROIDS)?;
    serde_json::to_writer_pretty(&mut file, model)?;
    staging.finish(file)?;
    Ok(())
}

/// Writes `triads.csv` and `triads.parquet` from their frame, those of `formats` (and the
/// sink's `triads`).
pub fn write_triads(out: &mut Destinations, frame: &mut DataFrame, formats: &[TableFormat]) -> Result<(), OutputError> {
    for &format in formats {
        write_table(&mut out.staging, file_name((TRIADS_CSV, TRIADS_PARQUET), format), frame, format)?;
    }
    out.load("triads", frame)
}
