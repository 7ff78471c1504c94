//! Rules: is this pair allowed at all?
//!
//! Input: a (partner, candidate) pair of indices and the [`PartnerFeatures`]. Output: the
//! first [`Rule`] that refuses it, or none. Rules are hard constraints checked before
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

use crate::engine::features::{kind, PartnerFeatures};
use crate::engine::modality::{classify, Modality, TriangularDefinition};
use crate::PartnerIdx;

pub use exclusions::{ExclusionSettings, Exclusions};

/// A hard constraint on a pair. An enum rather than trait objects: the rules are checked for
/// every pair of the exhaustive scan, and a `match` inlines where a virtual call cannot.
pub enum Rule {
    /// A partner is never its own candidate.
    NoSelfMatch,
    /// Inactive partners are nobody's candidate (and get no shortlist of their own).
    CandidateActive,
    /// The pair shares at least one theme.
    SharedTheme,
    /// Someone in the pair declares a need.
    DemandDriven,
    /// Only pairs of the kept modalities.
    Modality(ModalityFilter),
    /// Not an existing or recently contacted pair.
    Exclusions(Exclusions),
}

impl Rule {
    /// Stable name, used in flags, the manifest and explanations.
    pub fn name(&self) -> &'static str {
        match self {
            Rule::NoSelfMatch => "no_self_match",
            Rule::CandidateActive => "candidate_active",
            Rule::SharedTheme => "shared_theme",
            Rule::DemandDriven => "demand_driven",
            Rule::Modality(_) => "modality",
            Rule::Exclusions(_) => "exclusions",
        }
    }

    /// Whether the pair may be proposed.
    #[inline]
    pub fn admits(&self, f: &PartnerFeatures, partner: PartnerIdx, candidate: PartnerIdx) -> bool {
        let (a, b) = (partner as usize, candidate as usize);
        match self {
            Rule::NoSelfMatch => partner != candidate,
            Rule::CandidateActive => f.active[b],
            Rule::SharedTheme => !f.offers[a].union(f.needs[a]).intersection(f.offers[b].union(f.needs[b])).is_empty(),
            Rule::DemandDriven => !(f.needs[a].is_empty() && f.needs[b].is_empty()),
            Rule::Modality(filter) => filter.admits(f, a, b),
            Rule::Exclusions(exclusions) => exclusions.admits(partner, candidate),
        }
    }
}

/// Keeps pairs of the chosen modalities.
pub struct ModalityFilter {
    /// Modalities kept.
    pub keep: Vec<Modality>,
    /// Definition used to classify triangular pairs.
    pub triangular: TriangularDefinition,
}

impl ModalityFilter {
    fn admits(&self, f: &PartnerFeatures, a: usize, b: usize) -> bool {
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
    rules: Vec<Rule>,
}

impl RuleSet {
    /// The always-on rules, the optional ones not in `disabled`, then the modality filter and
    /// exclusions when given.
    pub fn new(
        disabled: &[String],
        modality: Option<ModalityFilter>,
        exclusions: Option<Exclusions>,
    ) -> Self {
        let mut rules = vec![Rule::NoSelfMatch, Rule::CandidateActive];
        rules.extend([Rule::SharedTheme, Rule::DemandDriven].into_iter().filter(|r| !disabled.iter().any(|d| d == r.name())));
        rules.extend(modality.map(Rule::Modality));
        rules.extend(exclusions.map(Rule::Exclusions));
        RuleSet { rules }
    }

    /// The rules, in checking order.
    pub fn iter(&self) -> impl Iterator<Item = &Rule> {
        self.rules.iter()
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

    /// Whether a supporting link (a triad's third partner with either member) passes: every
    /// rule but `shared_theme` and `demand_driven`, which concern an exchange of expertise,
    /// not support.
    pub fn admits_support(&self, features: &PartnerFeatures, a: PartnerIdx, b: PartnerIdx) -> bool {
        self.rules
            .iter()
            .filter(|rule| !matches!(rule, Rule::SharedTheme | Rule::DemandDriven))
            .all(|rule| rule.admits(features, a, b) && rule.admits(features, b, a))
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
