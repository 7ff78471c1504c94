//! The engine: profiles in, ranked and explained pairs out, with no file of its own to write.
//!
//! Input: a checked [`crate::config::MatchConfig`]. Output: an [`Engine`], prepared once
//! (ingest → features → rules), whose scan ranks any set of partners against any set of
//! candidates into a collector.
//!
//! ```text
//!   ingest ─▶ features ─▶ cluster ─▶ candidates ─▶ score (tile kernel) ─▶ rules ─▶ rank
//! ```

pub mod candidates;
pub mod cluster;
pub mod fairness;
pub mod features;
pub mod ingest;
pub mod modality;
pub mod profile;
pub mod rank;
pub mod reference;
pub mod rules;
pub mod score;
pub mod triads;
