//! sstc-match: recommends partners for South-South and Triangular Cooperation.
//!
//! Input: one table of partner profiles (CSV or Parquet, the contract in `README.md`).
//! Output, per active partner: a ranked shortlist of candidates, every score split into named
//! terms with a plain reason sentence, plus the rejected rows, a cluster summary and a run
//! manifest.
//!
//! ```text
//!   profiles.csv ─ingest─▶ Profiles (+ rejects)
//!     ─features─▶ PartnerFeatures (structured blocks) + dense matrix [N×d]
//!     ─cluster─▶ ClusterModel (k-means centroids, saved under models/) + assignment
//!     ─rank─▶ Shortlist per partner  (rules filter, score::score_pair, top-k)
//!     ─output─▶ shortlist.csv/.parquet, rejects.csv, clusters.csv, manifest.json (last)
//! ```
//!
//! Start reading at [`pipeline::run`].
#![deny(missing_docs)]

pub mod campaign;
pub mod candidates;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod diff;
pub mod error;
pub mod eval;
pub mod explain;
pub mod fairness;
pub mod features;
pub mod generate;
pub mod groups;
pub mod ingest;
pub mod modality;
pub mod output;
pub mod pipeline;
pub mod profile;
pub mod rank;
pub mod reference;
pub mod report;
pub mod rules;
pub mod score;
pub mod table;
pub mod telemetry;
pub mod triads;

/// A match score or one of its terms. Every score is the sum of its weighted terms.
pub type Score = f32;

/// Index of a partner in the validated, id-sorted profile list. Because profiles are sorted by
/// id after ingest, ordering by `PartnerIdx` is ordering by partner id.
pub type PartnerIdx = u32;
