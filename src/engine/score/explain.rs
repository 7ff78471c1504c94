//! Explanations for shortlisted pairs only (never in the hot loop).
//!
//! Input: a [`Scorer`] and a pair. Output: [`PairExplanation`]: raw values, contributions and
//! the score from [`combine`] (the same formula the ranking used), plus the facts a reason
//! sentence names: matched offers and needs in each direction, the proposed roles, the
//! modality, distance, shared sectors.

use super::{combine, offers_met, Scorer, TermValues};
use crate::engine::features::distance_km;
use crate::engine::modality::{classify, Modality};
use crate::engine::profile::IdSet;
use crate::{PartnerIdx, Score};

/// Who would provide and who would benefit, from the two directions of need coverage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// The partner offers what the candidate needs, not the other way round.
    PartnerProvides,
    /// The candidate offers what the partner needs, not the other way round.
    CandidateProvides,
    /// Each offers something the other needs.
    Mutual,
    /// No offer meets a need either way: a match on context (peers).
    Peers,
}

impl Direction {
    /// The output spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::PartnerProvides => "partner_provides",
            Direction::CandidateProvides => "candidate_provides",
            Direction::Mutual => "mutual",
            Direction::Peers => "peers",
        }
    }
}

/// Everything known about why a pair scored what it did.
#[derive(Clone, Debug)]
pub struct PairExplanation {
    /// The score, equal to the sum of `contributions`.
    pub score: Score,
    /// Raw term values in [0, 1].
    pub raw: TermValues,
    /// Weighted contributions (`weight × raw`).
    pub contributions: TermValues,
    /// Themes the partner offers that the candidate needs.
    pub partner_offers: IdSet,
    /// Themes the candidate offers that the partner needs.
    pub candidate_offers: IdSet,
    /// Proposed roles.
    pub direction: Direction,
    /// The kind of cooperation the pair would be.
    pub modality: Modality,
    /// Great-circle distance, km.
    pub distance_km: f32,
    /// The two are in different countries.
    pub cross_border: bool,
    /// The two are in the same UN sub-region.
    pub same_region: bool,
    /// Sectors both work in.
    pub shared_sectors: IdSet,
}

impl Scorer<'_> {
    /// Explains the score of partner `i` for candidate `j`.
    pub fn explain(&self, i: PartnerIdx, j: PartnerIdx) -> PairExplanation {
        let raw = self.terms(i, j);
        let (score, contributions) = combine(self.weights(), &raw);
        let f = self.features();
        let (a, b) = (i as usize, j as usize);
        // Direction, the offer columns and the sentence all come from these two sets.
        let partner_offers = offers_met(f, a, b);
        let candidate_offers = offers_met(f, b, a);
        let direction = match (!partner_offers.is_empty(), !candidate_offers.is_empty()) {
            (true, true) => Direction::Mutual,
            (true, false) => Direction::PartnerProvides,
            (false, true) => Direction::CandidateProvides,
            (false, false) => Direction::Peers,
        };
        PairExplanation {
            score,
            raw,
            contributions,
            partner_offers,
            candidate_offers,
            direction,
            modality: classify(f, a, b, self.settings.triangular),
            distance_km: distance_km(&f.unit[a], &f.unit[b]),
            cross_border: f.country[a] != f.country[b],
            same_region: f.sub_region[a] == f.sub_region[b],
            shared_sectors: f.sectors[a].intersection(f.sectors[b]),
        }
    }
}
