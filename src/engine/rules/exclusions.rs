//! The exclusions rule: pairs that already partner, or were contacted recently, are not
//! proposed again (the shortlist must bring new partners).
//!
//! Input: a CSV or Parquet table with `source_id`, `target_id` and optionally `date`
//! (`YYYY-MM-DD`, when the partnership or contact happened), a window in days and the
//! run's as-of date. Output: [`Exclusions`], a set of unordered pairs. A row without a date
//! always excludes; a dated row excludes while `as_of - date <= window` days. Ids that are
//! not in tonight's profiles are counted, not fatal (the partner may have left the registry).

use std::collections::HashSet;
use std::path::PathBuf;

use crate::engine::profile::Profile;
use crate::io::table::{StringTable, TableError, TableSource};
use crate::PartnerIdx;

/// Where the exclusions come from and how long they last.
#[derive(Clone, Debug, PartialEq)]
pub struct ExclusionSettings {
    /// The exclusions table.
    pub path: PathBuf,
    /// A dated exclusion lasts this many days.
    pub window_days: u32,
    /// The run's date, days since 1970-01-01.
    pub as_of_days: i64,
}

/// Counters of loading the exclusions, for the manifest.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct ExclusionStats {
    /// Rows read.
    pub rows: usize,
    /// Pairs in force.
    pub pairs_excluded: usize,
    /// Dated rows older than the window.
    pub expired: usize,
    /// Rows naming an id that is not among the valid profiles.
    pub unknown_ids: usize,
}

/// A problem with the exclusions file (a configuration error: the run stops, exit 2).
#[derive(Debug, thiserror::Error)]
pub enum ExclusionError {
    /// The table cannot be read.
    #[error(transparent)]
    Table(#[from] TableError),
    /// A required column is missing.
    #[error("{file}: the exclusions table needs columns source_id and target_id (date optional)")]
    Columns {
        /// The file.
        file: String,
    },
    /// A date does not parse.
    #[error("{file}: row {row}: date '{value}' is not YYYY-MM-DD")]
    Date {
        /// The file.
        file: String,
        /// 1-based data row.
        row: usize,
        /// The value.
        value: String,
    },
}

/// Unordered partner pairs that must not be proposed.
pub struct Exclusions {
    pairs: HashSet<(PartnerIdx, PartnerIdx)>,
}

/// Days since 1970-01-01 of a `YYYY-MM-DD` date.
pub fn parse_day(text: &str) -> Option<i64> {
    let time = humantime::parse_rfc3339(&format!("{text}T00:00:00Z")).ok()?;
    let seconds = time.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs();
    Some((seconds / 86_400) as i64)
}

fn key(a: PartnerIdx, b: PartnerIdx) -> (PartnerIdx, PartnerIdx) {
    (a.min(b), a.max(b))
}

impl Exclusions {
    /// Reads the table and resolves ids against the (id-sorted) profiles.
    pub fn load(
        settings: &ExclusionSettings,
        profiles: &[Profile],
    ) -> Result<(Exclusions, ExclusionStats), ExclusionError> {
        let table = StringTable::read(&TableSource::File(settings.path.clone()))?;
        let file = table.source_name().to_string();
        let (Some(source), Some(target)) = (table.position("source_id"), table.position("target_id")) else {
            return Err(ExclusionError::Columns { file });
        };
        let date = table.position("date");
        let index = |id: &str| {
            profiles
                .binary_search_by(|p| p.id.as_str().cmp(id))
                .ok()
                .map(|i| i as PartnerIdx)
        };
        let mut stats = ExclusionStats {
            rows: table.height(),
            ..ExclusionStats::default()
        };
        let mut pairs = HashSet::new();
        for row in 0..table.height() {
            if let Some(text) = date.and_then(|c| table.cell(c, row)) {
                let day = parse_day(text).ok_or_else(|| ExclusionError::Date {
                    file: file.clone(),
                    row: row + 1,
                    value: text.to_string(),
                })?;
                if settings.as_of_days - day > settings.window_days as i64 {
                    stats.expired += 1;
                    continue;
                }
            }
            let ids = (table.cell(source, row), table.cell(target, row));
            match (ids.0.and_then(index), ids.1.and_then(index)) {
                (Some(a), Some(b)) => {
                    pairs.insert(key(a, b));
                }
                _ => stats.unknown_ids += 1,
            }
        }
        stats.pairs_excluded = pairs.len();
        Ok((Exclusions { pairs }, stats))
    }
}

impl Exclusions {
    /// Whether the pair is not excluded.
    pub fn admits(&self, partner: PartnerIdx, candidate: PartnerIdx) -> bool {
        !self.pairs.contains(&key(partner, candidate))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_since_epoch() {
        assert_eq!(parse_day("1970-01-02"), Some(1));
        assert_eq!(parse_day("2026-11-23"), Some(20_780)); // checked with Python's datetime
        assert_eq!(parse_day("23/11/2026"), None);
    }
}
