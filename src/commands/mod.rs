//! The commands: each a thin function over the engine and the run directory.
//!
//! Input: a command's checked configuration. Output: the files or report the command makes.

pub mod campaign;
pub mod diff;
pub mod evaluate;
pub mod explain;
pub mod generate;
pub mod groups;
pub mod merge;
pub mod report;
pub mod run;
