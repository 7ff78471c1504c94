//! Files in and out: tables, all-or-nothing publication, the run directory.
//!
//! Input: paths and frames. Output: tables read as text ([`table`]), files written atomically
//! under one writer's lock ([`atomic`]), and the layout of a run directory ([`manifest`]).

pub mod atomic;
pub mod manifest;
pub mod pairs;
pub mod table;
