//! Rules: is this pair allowed at all?
//!
//! Input: a (partner, candidate) pair of indices and the [`PartnerFeatures`]. Output: the
//! first [`Constraint`] that refuses it, or none. Rules are hard constraints checked before
//! scoring and top-k; soft preferences are score terms, never rules. Each rule has a stable
//! name; the manifest counts the pairs each one removed and `explain` reports each verdict.
//!
//! | rule | on | admits a pair when |
//! |---|---|---|
//! | `no_self_match` | always | the two are different partners |
//! | `candidate_active` | always | the candidate is active (inactive partners get no list either) |
//! | `shared_theme` | default | they share a theme: an offer of one is a need of the other, or a theme both list |
//! | `demand_driven` | default | at least one of them declares a need (someone can be a beneficiary) |
//! | `modality` | with `--modality` | the pair is of one of the kept modalities (`south_south` keeps pairs where both are in developing countries; `city_to_city` keeps pairs of local governments, their agencies and city networks) |
//! | `exclusions` | with `--exclusions` | the pair is not listed as an existing or recently contacted partnership |

pub mod exclusions;

use crate::features::{kind, PartnerFeatures};
use crate::modality::{classify, Modality, TriangularDefinition};
use crate::PartnerIdx;

pub use exclusions::{ExclusionSettings, Exclusions};

/// A hard constraint on a pair.
pub trait Constraint: Sync {
    /// Stable name, used in flags, the manifest and explanations.
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

/// The pair shares at least one theme.
pub struct SharedTheme;

impl Constraint for SharedTheme {
    fn name(&self) -> &'static str {
        "shared_theme"
    }
    fn admits(&self, f: &PartnerFeatures, partner: PartnerIdx, candidate: PartnerIdx) -> bool {
        let (a, b) = (partner as usize, candidate as usize);
        !f.offers[a].union(f.needs[a]).intersection(f.offers[b].union(f.needs[b])).is_empty()
    }
}

/// Someone in the pair declares a need.
pub struct DemandDriven;

impl Constraint for DemandDriven {
    fn name(&self) -> &'static str {
        "demand_driven"
    }
    fn admits(&self, f: &PartnerFeatures, partner: PartnerIdx, candidate: PartnerIdx) -> bool {
        !(f.needs[partner as usize].is_empty() && f.needs[candidate as usize].is_empty())
    }
}

/// Keeps pairs of the chosen modalities.
pub struct ModalityFilter {
    /// Modalities kept.
    pub keep: Vec<Modality>,
    /// Definition used to classify triangular pairs.
    pub triangular: TriangularDefinition,
}

impl Constraint for ModalityFilter {
    fn name(&self) -> &'static str {
        "modality"
    }
    fn admits(&self, f: &PartnerFeatures, partner: PartnerIdx, candidate: PartnerIdx) -> bool {
        let (a, b) = (partner as usize, candidate as usize);
        self.keep.iter().any(|m| match m {
            Modality::SouthSouth => f.developing[a] && f.developing[b],
            Modality::CityToCity => f.kind[a] & f.kind[b] & kind::LOCAL_GOVERNMENT != 0,
            other => classify(f, a, b, self.triangular) == *other,
        })
    }
}

/// The rules a run can switch off.
pub const OPTIONAL_RULES: [&str; 2] = ["shared_theme", "demand_driven"];

/// The ordered rule list of a run.
pub struct RuleSet {
    rules: Vec<Box<dyn Constraint>>,
}

impl RuleSet {
    /// The always-on rules, the optional ones not in `disabled`, then the modality filter and
    /// exclusions when given.
    pub fn new(
        disabled: &[String],
        modality: Option<ModalityFilter>,
        exclusions: Option<Exclusions>,
    ) -> Self {
        let mut rules: Vec<Box<dyn Constraint>> = vec![Box::new(NoSelfMatch), Box::new(CandidateActive)];
        let optional: [Box<dyn Constraint>; 2] = [Box::new(SharedTheme), Box::new(DemandDriven)];
        rules.extend(optional.into_iter().filter(|r| !disabled.iter().any(|d| d == r.name())));
        if let Some(filter) = modality {
            rules.push(Box::new(filter));
        }
        if let Some(exclusions) = exclusions {
            rules.push(Box::new(exclusions));
        }
        RuleSet { rules }
    }

    /// Only the two always-on rules (tests and benchmarks of the bare ranking).
    pub fn minimal() -> Self {
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

    /// Every rule's verdict on the pair, in checking order.
    pub fn verdicts(
        &self,
        features: &PartnerFeatures,
        partner: PartnerIdx,
        candidate: PartnerIdx,
    ) -> Vec<(&'static str, bool)> {
        self.rules
            .iter()
            .map(|rule| (rule.name(), rule.admits(features, partner, candidate)))
            .collect()
    }
}
