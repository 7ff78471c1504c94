//! Pair tables: pairs of partners that already partner, were contacted recently, or are known
//! real partnerships.
//!
//! Input: a CSV or Parquet table with `source_id`, `target_id` and optionally `date`
//! (`YYYY-MM-DD`, when the partnership or contact happened) and `modality`; for dated use, a
//! window in days and an as-of [`Day`]. Output: [`PairRow`]s ([`read_pairs`]), or
//! [`RecentPairs`], the id pairs in force (a row without a date always counts; a dated row
//! while `as_of − date ≤ window` days) and how many rows expired ([`read_recent`]). The
//! `exclusions` rule of a run, `campaign --suppress` and the known partnerships of
//! `evaluate` and `tune` all read their tables here, so a date means the same thing to all
//! and a date that does not parse, or a row without an id, is an error naming its row,
//! never a silent "not recent".

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::io::table::{all_columns, StringTable, TableError, TableSource};

/// A calendar day, as days since 1970-01-01 (UTC); written `YYYY-MM-DD`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Day(pub i64);

impl Day {
    /// Today (UTC).
    pub fn today() -> Day {
        let seconds = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        Day((seconds / 86_400) as i64)
    }

    /// Parses `YYYY-MM-DD` (a real calendar date, nothing else).
    pub fn parse(text: &str) -> Option<Day> {
        let well_formed = text.len() == 10 && text.bytes().enumerate().all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() });
        if !well_formed {
            return None;
        }
        let time = humantime::parse_rfc3339(&format!("{text}T00:00:00Z")).ok()?;
        let seconds = time.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs();
        Some(Day((seconds / 86_400) as i64))
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(self.0.max(0) as u64 * 86_400);
        f.write_str(&humantime::format_rfc3339_seconds(time).to_string()[..10])
    }
}

impl Serialize for Day {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Day {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Day::parse(&text).ok_or_else(|| serde::de::Error::custom(format!("'{text}' is not a date YYYY-MM-DD")))
    }
}

/// Which pairs of a dated table are in force: the table, how long a dated row lasts, and
/// the day it is judged on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PairWindow {
    /// The table.
    pub path: PathBuf,
    /// A dated row counts for this many days.
    pub window_days: u32,
    /// The day the window ends.
    pub as_of: Day,
}

/// What a pair table is for: it names the table in messages and says which columns it may
/// have besides the two ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PairTable {
    /// `run --exclusions`: existing or recently contacted pairs.
    Exclusions,
    /// `campaign --suppress`: pairs contacted recently.
    Suppression,
    /// `evaluate`/`tune --known`: real partnerships.
    Known,
}

impl fmt::Display for PairTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PairTable::Exclusions => "exclusions table needs columns source_id and target_id (date optional, YYYY-MM-DD)",
            PairTable::Suppression => "suppression table needs columns source_id and target_id (date optional, YYYY-MM-DD)",
            PairTable::Known => "known-partnerships table needs columns source_id and target_id (modality optional)",
        })
    }
}

/// One row of a pair table.
#[derive(Clone, Debug, PartialEq)]
pub struct PairRow {
    /// 1-based data row.
    pub row: usize,
    /// `source_id`.
    pub source: String,
    /// `target_id`.
    pub target: String,
    /// `date`, when given.
    pub date: Option<Day>,
    /// `modality`, when given.
    pub modality: Option<String>,
}

/// The pairs of a table in force, by id, as written (one order per row).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RecentPairs {
    /// Pairs in force.
    pub pairs: Vec<(String, String)>,
    /// Rows read.
    pub rows: usize,
    /// Dated rows older than the window.
    pub expired: usize,
    /// sha256 of the table's bytes.
    pub sha256: String,
}

/// A pair table that cannot be used (the command stops, exit 2).
#[derive(Debug, thiserror::Error)]
pub enum PairTableError {
    /// The table cannot be read.
    #[error(transparent)]
    Table(#[from] TableError),
    /// A required column is missing.
    #[error("{file}: the {kind}; its header has: {found}")]
    Columns {
        /// The file.
        file: String,
        /// What the table is for.
        kind: PairTable,
        /// The columns it has.
        found: String,
    },
    /// A date does not parse.
    #[error("{file}: row {row}, column date: '{value}' is not a date YYYY-MM-DD; write dates as 2026-11-23")]
    Date {
        /// The file.
        file: String,
        /// 1-based data row.
        row: usize,
        /// The value.
        value: String,
    },
    /// A row without one of the two ids.
    #[error("{file}: row {row}, column {column}: the id is empty; every row names two partners")]
    MissingId {
        /// The file.
        file: String,
        /// 1-based data row.
        row: usize,
        /// `source_id` or `target_id`.
        column: &'static str,
    },
}

/// Reads every row of a pair table, checking its columns, ids and dates; also returns the
/// sha256 of its bytes.
pub fn read_pairs(source: &TableSource, kind: PairTable) -> Result<(Vec<PairRow>, String), PairTableError> {
    let (table, sha256) = StringTable::read_hashed(source, &all_columns)?;
    let file = table.source_name().to_string();
    let (Some(source), Some(target)) = (table.position("source_id"), table.position("target_id")) else {
        return Err(PairTableError::Columns { file, kind, found: table.column_names().join(", ") });
    };
    let (date, modality) = (table.position("date"), table.position("modality"));
    let rows: Vec<PairRow> = (0..table.height())
        .map(|row| {
            let line = table.source_row(row) + 1;
            let id = |column: usize, name: &'static str| table.cell(column, row).map(str::to_string).ok_or(PairTableError::MissingId { file: file.clone(), row: line, column: name });
            let date = match date.and_then(|c| table.cell(c, row)) {
                Some(text) => Some(Day::parse(text).ok_or_else(|| PairTableError::Date { file: file.clone(), row: line, value: text.to_string() })?),
                None => None,
            };
            Ok(PairRow {
                row: line,
                source: id(source, "source_id")?,
                target: id(target, "target_id")?,
                date,
                modality: modality.and_then(|c| table.cell(c, row)).map(str::to_string),
            })
        })
        .collect::<Result<_, PairTableError>>()?;
    Ok((rows, sha256))
}

/// Reads the pairs of `window.path` in force on `window.as_of`.
pub fn read_recent(window: &PairWindow, kind: PairTable) -> Result<RecentPairs, PairTableError> {
    let (rows, sha256) = read_pairs(&TableSource::File(window.path.clone()), kind)?;
    let mut recent = RecentPairs { rows: rows.len(), sha256, ..RecentPairs::default() };
    for row in rows {
        if row.date.is_some_and(|day| window.as_of.0 - day.0 > window.window_days as i64) {
            recent.expired += 1;
        } else {
            recent.pairs.push((row.source, row.target));
        }
    }
    Ok(recent)
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_since_epoch_round_trip() {
        assert_eq!(Day::parse("1970-01-02"), Some(Day(1)));
        assert_eq!(Day::parse("2026-11-23"), Some(Day(20_780))); // checked with Python's datetime
        assert_eq!(Day(20_780).to_string(), "2026-11-23");
        for wrong in ["23/11/2026", "2026-11-31", "2026-1-23", "20261123", "2026-11-23T00:00:00Z", ""] {
            assert_eq!(Day::parse(wrong), None, "{wrong}");
        }
    }
}
