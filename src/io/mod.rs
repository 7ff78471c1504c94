//! Files in and out: tables, all-or-nothing publication, the run directory.
//!
//! Input: paths and frames. Output: tables read as text ([`table`]), files written atomically
//! under one writer's lock ([`atomic`]), pair tables ([`pairs`]), and the run directory:
//! its layout, publication and typed reading ([`run_dir`], [`manifest`]); a sharded night's
//! shard directories ([`shard`]); the state an incremental night reads ([`state`]); and a PostgreSQL
//! database as a profile source and a results sink ([`postgresql`]).

pub mod atomic;
pub mod manifest;
pub mod pairs;
pub mod postgresql;
pub mod run_dir;
pub mod shard;
pub mod state;
pub mod table;
