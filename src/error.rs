//! The crate's error: one variant per stage, and whether the user can fix it.
//!
//! Input: stage errors (`#[from]`). Output: [`Error`], whose message names the file, flag or
//! directory at fault and what to do. `main` prints it and exits with code 2.

use crate::engine::cluster::store::StoreError;
use crate::engine::cluster::ClusterError;
use crate::config::ConfigError;
use crate::engine::ingest::IngestError;
use crate::output::{OutputError, OutputIoError};
use crate::io::table::TableError;

/// Any failure of a command.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad flags or configuration files.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The input table cannot be used.
    #[error(transparent)]
    Ingest(#[from] IngestError),
    /// A table could not be read or written.
    #[error(transparent)]
    Table(#[from] TableError),
    /// The PostgreSQL sink cannot be opened or committed.
    #[error(transparent)]
    Database(#[from] crate::io::postgresql::PgError),
    /// k-means failed.
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    /// A stored model cannot be reused.
    #[error(transparent)]
    Model(#[from] StoreError),
    /// Outputs could not be written.
    #[error(transparent)]
    Output(#[from] OutputError),
    /// A pair table (exclusions, suppression, known partnerships) cannot be used.
    #[error(transparent)]
    PairTable(#[from] crate::io::pairs::PairTableError),
    /// `explain` was given an id that is not among the valid profiles.
    #[error("no valid profile has id '{id}'; check the id, or rejects of the input")]
    UnknownPartner {
        /// The id given.
        id: String,
    },
    /// A finished run cannot be read.
    #[error(transparent)]
    RunDir(#[from] crate::io::run_dir::RunDirError),
    /// Shard directories cannot be merged.
    #[error(transparent)]
    Merge(Box<crate::commands::merge::MergeError>),
    /// A shard directory cannot be read.
    #[error(transparent)]
    Shard(#[from] crate::io::shard::ShardError),
    /// `tune` has no known partnership to tune on.
    #[error("{file}: no known partnership names two partners among the profiles, so there is nothing to tune on; check the ids against the profiles (no weights file was written)")]
    NothingToTune {
        /// The known-partnerships file.
        file: String,
    },
    /// The output directory cannot be taken (busy, foreign, full).
    #[error(transparent)]
    Publish(#[from] crate::io::run_dir::publish::PublishError),
    /// The input holds no profile row: nothing is published over the last run.
    #[error("{table}: no profile rows to match (only a header?); nothing was published, the last run stays. Check the export")]
    NoProfiles {
        /// The profile table.
        table: String,
    },
    /// Too many input rows were rejected: nothing is published over the last run.
    #[error("{table}: {rejected} of {read} rows rejected, more than --max-reject-share {max_share} allows; nothing was published, the last run stays. Most common: {common}. Fix the export, or pass --max-reject-share 1 to publish anyway")]
    TooManyRejected {
        /// The profile table.
        table: String,
        /// Rows rejected.
        rejected: usize,
        /// Rows read.
        read: usize,
        /// The limit.
        max_share: f32,
        /// The most common problems.
        common: String,
    },
    /// `campaign --triads` on a run without triads.
    #[error("{}: the run wrote no triads (it was made with --no-triads, or before triads existed); run campaign without --triads, or run the night again with triads", run.display())]
    NoTriads {
        /// The run directory.
        run: std::path::PathBuf,
    },
    /// `campaign --new-only` on a run without changes.
    #[error("{}: the run wrote no changes.csv (it had no previous run to compare with, or could not read it: its log says why); run campaign without --new-only, or compare the night with a previous run (run --previous DIR)", run.display())]
    NoChanges {
        /// The run directory.
        run: std::path::PathBuf,
    },
    /// `run --shard` aimed at a published run's directory.
    #[error("{out} holds a published run; a shard writes a directory of its own (e.g. {out}.shards/I): give another --out (the run is left as it is)")]
    ShardOverRun {
        /// The output directory.
        out: String,
    },
    /// `run` or `merge` aimed at a shard's directory.
    #[error("{out} holds a shard of a sharded night; give another --out for the run (the shard is left as it is), or merge the shards with `sstc-match merge`")]
    RunOverShard {
        /// The output directory.
        out: String,
    },
    /// The worker thread pool could not start.
    #[error("cannot start {threads} worker threads: {reason}")]
    Threads {
        /// Threads asked for.
        threads: usize,
        /// Why.
        reason: String,
    },
}

impl From<OutputIoError> for Error {
    fn from(e: OutputIoError) -> Self {
        Error::Output(OutputError::Io(e))
    }
}

impl From<crate::commands::merge::MergeError> for Error {
    fn from(error: crate::commands::merge::MergeError) -> Self {
        Error::Merge(Box::new(error))
    }
}
