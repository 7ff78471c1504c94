//! Rules: is this pair allowed at all?
//!
//! Input: a (partner, candidate) pair of indices and the [`PartnerFeatures`]. Output: the
//! first [`Constraint`] that refuses it, or none. Rules are hard constraints checked before
//! scoring and top-k; soft preferences are score terms, never rules. Each rule has a stable
//! name; the manifest counts the pairs each one removed.

use crate::features::PartnerFeatures;
use crate::PartnerIdx;

/// A hard constraint on a pair.
pub trait Constraint: Sync {
    /// Stable name, used in the manifest and in explanations.
    fn name(&self) -> &'static str;
    /// Whether the pair may be proposed.
    fn admits(&self, features: &PartnerFeatures, partner: PartnerIdx, candidate: PartnerIdx) -> bool;
}

/// A partner is never its own candidate.
pub struct NoSelfMatch;

impl Constraint for NoSelfMatch {
    fn name(&self) -> &'static str {
        "no_self_match"
    }
    fn admits(&self, _: &PartnerFeatures, partner: PartnerIdx, candidate: PartnerIdx) -> bool {
        partner != candidate
    }
}

/// Inactive partners are nobody's candidate (and get no shortlist of their own).
pub struct CandidateActive;

impl Constraint for CandidateActive {
    fn name(&self) -> &'static str {
        "candidate_active"
    }
    fn admits(&self, features: &PartnerFeatures, _: PartnerIdx, candidate: PartnerIdx) -> bool {
        features.active[candidate as usize]
    }
}

/// The ordered rule list of a run.
pub struct RuleSet {
    rules: Vec<Box<dyn Constraint>>,
}

impl RuleSet {
    /// The rules every run applies.
    pub fn default_rules() -> Self {
        RuleSet {
            rules: vec![Box::new(NoSelfMatch), Box::new(CandidateActive)],
        }
    }

    /// Rule names, in checking order.
    pub fn names(&self) -> Vec<&'static str> {
        self.rules.iter().map(|r| r.name()).collect()
    }

    /// Number of rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// True when there are no rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Index of the first rule refusing the pair, or `None` when all admit it.
    #[inline]
    pub fn first_refusal(
        &self,
        features: &PartnerFeatures,
        partner: PartnerIdx,
        candidate: PartnerIdx,
    ) -> Option<usize> {
        self.rules
            .iter()
            .position(|rule| !rule.admits(features, partner, candidate))
    }
}
