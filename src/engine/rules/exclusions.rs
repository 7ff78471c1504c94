//! The exclusions rule: pairs that already partner, or were contacted recently, are not
//! proposed again (the shortlist must bring new partners).
//!
//! Input: a dated pair table ([`crate::io::pairs`]: `source_id`, `target_id`, optional
//! `date`), its window and as-of day, and tonight's id-sorted profiles. Output:
//! [`Exclusions`], a set of unordered partner pairs, and [`ExclusionStats`]. Ids that are not
//! in tonight's profiles are counted, not fatal (the partner may have left the registry).

use std::collections::HashSet;

use crate::engine::profile::{index_of, Profile};
use crate::io::pairs::{read_recent, PairTable, PairTableError, PairWindow};
use crate::PartnerIdx;

/// Counters of loading the exclusions, for the manifest.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
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

/// Unordered partner pairs that must not be proposed.
pub struct Exclusions {
    pairs: HashSet<(PartnerIdx, PartnerIdx)>,
}

fn key(a: PartnerIdx, b: PartnerIdx) -> (PartnerIdx, PartnerIdx) {
    (a.min(b), a.max(b))
}

impl Exclusions {
    /// Reads the table and resolves ids against the (id-sorted) profiles; also returns the
    /// table's sha256.
    pub fn load(window: &PairWindow, profiles: &[Profile]) -> Result<(Exclusions, ExclusionStats, String), PairTableError> {
        let recent = read_recent(window, PairTable::Exclusions)?;
        let index = |id: &str| index_of(profiles, id);
        let mut stats = ExclusionStats { rows: recent.rows, expired: recent.expired, ..ExclusionStats::default() };
        let mut pairs = HashSet::new();
        for (a, b) in &recent.pairs {
            match (index(a), index(b)) {
                (Some(a), Some(b)) => {
                    pairs.insert(key(a, b));
                }
                _ => stats.unknown_ids += 1,
            }
        }
        stats.pairs_excluded = pairs.len();
        Ok((Exclusions { pairs }, stats, recent.sha256))
    }

    /// Whether the pair is not excluded.
    pub fn admits(&self, partner: PartnerIdx, candidate: PartnerIdx) -> bool {
        !self.pairs.contains(&key(partner, candidate))
    }

    /// The partners of the pairs excluded by one of `self` and `other` only (ascending): the
    /// lists another as-of day can change.
    pub fn moved(&self, other: &Exclusions) -> Vec<PartnerIdx> {
        let mut partners: Vec<PartnerIdx> = self.pairs.symmetric_difference(&other.pairs).flat_map(|&(a, b)| [a, b]).collect();
        partners.sort_unstable();
        partners.dedup();
        partners
    }
}
