//! sstc-match: recommends partners for South-South and Triangular Cooperation.
//!
//! Input: one table of partner profiles (CSV or Parquet, the contract in `README.md`).
//! Output, per active partner: a ranked shortlist of candidates, every score split into named
//! terms with a plain reason sentence, plus the rejected rows, a cluster summary and a run
//! manifest.
//!
//! ```text
//!   cli ─▶ config (checked) ─▶ commands ─▶ engine (prepared once, one scan) ─▶ output ─▶ io
//! ```
//!
//! Start reading at [`commands::run`].
#![deny(missing_docs)]

pub mod cli;
pub mod commands;
pub mod config;
pub mod engine;
pub mod error;
pub mod io;
pub mod output;
pub mod telemetry;

/// A match score or one of its terms. Every score is the sum of its weighted terms.
pub type Score = f32;

/// Index of a partner in the validated, id-sorted profile list. Because profiles are sorted by
/// id after ingest, ordering by `PartnerIdx` is ordering by partner id.
pub type PartnerIdx = u32;
