//! Rules: is this pair allowed at all?
//!
//! Input: a (partner, candidate) pair of indices and the [`PartnerFeatures`], or a partner's
//! [`Query`] and a run of candidate [`Columns`]. Output: the first [`Rule`] that refuses the
//! pair, or none ([`Rule::admits`]); over a run, which positions pass and how many each rule
//! removed ([`RuleSet::screen`], the column form the kernel calls, beside the pair form it
//! must agree with). Rules are hard constraints checked before scoring and top-k; soft
//! preferences are score terms, never rules. Each rule has a stable name; the manifest counts
//! the pairs each one removed and `explain` reports each verdict.
//!
//! | rule | on | admits a pair when |
//! |---|---|---|
//! | `no_self_match` | always | the two are different partners |
//! | `candidate_active` | always | the candidate is active (inactive partners get no list either) |
//! | `not_duplicates` | when ingest found likely duplicates | the two are not records of one partner (same name and country, same name within 1 km, or same contact email: `duplicates.csv`) |
//! | `shared_theme` | default | they share a theme: an offer of one is a need of the other, or a theme both list |
//! | `demand_driven` | default | at least one of them declares a need (someone can be a beneficiary) |
//! | `modality` | with `--modality` | the pair is of one of the kept modalities (`south_south` keeps pairs where both are in developing countries, two different ones; `city_to_city` keeps pairs of local governments, their agencies and city networks of two countries) |
//! | `exclusions` | with `--exclusions` | the pair is not listed as an existing or recently contacted partnership |

pub mod exclusions;

use std::ops::Range;
use std::sync::Arc;

use crate::engine::features::{kind, PartnerFeatures};
use crate::engine::ingest::Duplicates;
use crate::engine::score::columns::Columns;
use crate::engine::score::query::Query;
use crate::engine::modality::{classify, south_south, Modality, TriangularDefinition};
use crate::PartnerIdx;

pub use exclusions::Exclusions;

/// A hard constraint on a pair. An enum rather than trait objects: the rules are checked for
/// every pair of the exhaustive scan, and a `match` inlines where a virtual call cannot.
#[derive(Clone)]
pub enum Rule {
    /// A partner is never its own candidate.
    NoSelfMatch,
    /// Inactive partners are nobody's candidate (and get no shortlist of their own).
    CandidateActive,
    /// Two records of one partner are not proposed to each other (their
    /// [`PartnerFeatures::duplicate_group`] differ).
    NotDuplicates,
    /// The pair shares at least one theme.
    SharedTheme,
    /// Someone in the pair declares a need.
    DemandDriven,
    /// Only pairs of the kept modalities.
    Modality(ModalityFilter),
    /// Not an existing or recently contacted pair.
    Exclusions(Arc<Exclusions>),
}

impl Rule {
    /// Stable name, used in flags, the manifest and explanations.
    pub fn name(&self) -> &'static str {
        match self {
            Rule::NoSelfMatch => "no_self_match",
            Rule::CandidateActive => "candidate_active",
            Rule::NotDuplicates => "not_duplicates",
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
            Rule::NotDuplicates => f.duplicate_group[a] != f.duplicate_group[b],
            Rule::SharedTheme => !f.offers[a].union(f.needs[a]).intersection(f.offers[b].union(f.needs[b])).is_empty(),
            Rule::DemandDriven => !(f.needs[a].is_empty() && f.needs[b].is_empty()),
            Rule::Modality(filter) => filter.admits(f, a, b),
            Rule::Exclusions(exclusions) => exclusions.admits(partner, candidate),
        }
    }

    /// [`Rule::admits`] over positions `run` of `columns` for `query`: clears the positions it
    /// refuses in `admitted` and returns how many it was first to refuse. The cheap rules read
    /// a column; the others ask `admits` pair by pair.
    #[inline(always)]
    fn screen(&self, f: &PartnerFeatures, columns: &Columns, query: &Query, run: Range<usize>, admitted: &mut [bool]) -> u64 {
        let candidates = &columns.partner[run.clone()];
        match self {
            Rule::NoSelfMatch => keep(admitted, candidates.iter().map(|&p| p != query.partner)),
            Rule::CandidateActive => keep(admitted, columns.active[run].iter().copied()),
            Rule::SharedTheme => keep(admitted, columns.topics[run].iter().map(|&t| t & query.topics != 0)),
            Rule::DemandDriven if query.needs_any => 0,
            Rule::DemandDriven => keep(admitted, columns.needs[run].iter().map(|&n| n != 0)),
            Rule::NotDuplicates => keep(admitted, columns.duplicate_group[run].iter().map(|&g| g != query.duplicate_group)),
            other => keep(admitted, candidates.iter().map(|&p| other.admits(f, query.partner, p))),
        }
    }
}

/// Clears the positions whose verdict is false; returns how many it cleared.
#[inline(always)]
fn keep(admitted: &mut [bool], verdicts: impl Iterator<Item = bool>) -> u64 {
    let mut cleared = 0;
    for (slot, ok) in admitted.iter_mut().zip(verdicts) {
        cleared += u64::from(*slot && !ok);
        *slot &= ok;
    }
    cleared
}

/// Keeps pairs of the chosen modalities.
#[derive(Clone)]
pub struct ModalityFilter {
    /// Modalities kept.
    pub keep: Vec<Modality>,
    /// Definition used to classify triangular pairs.
    pub triangular: TriangularDefinition,
}

impl ModalityFilter {
    fn admits(&self, f: &PartnerFeatures, a: usize, b: usize) -> bool {
        self.keep.iter().any(|m| match m {
            Modality::SouthSouth => south_south(f, a, b),
            Modality::CityToCity => f.kind[a] & f.kind[b] & kind::LOCAL_GOVERNMENT != 0 && f.country[a] != f.country[b],
            other => classify(f, a, b, self.triangular) == *other,
        })
    }
}

/// The rules a run can switch off (`--disable-rule`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[value(rename_all = "snake_case")]
pub enum OptionalRule {
    /// `shared_theme`.
    SharedTheme,
    /// `demand_driven`.
    DemandDriven,
}

impl OptionalRule {
    /// The rule it switches off.
    fn rule(self) -> Rule {
        match self {
            OptionalRule::SharedTheme => Rule::SharedTheme,
            OptionalRule::DemandDriven => Rule::DemandDriven,
        }
    }
}

/// Whether a rule applies to a supporting link (see [`RuleSet::support`]).
fn applies_to_support(rule: &Rule) -> bool {
    !matches!(rule, Rule::SharedTheme | Rule::DemandDriven | Rule::Modality(_))
}

/// The ordered rule list of a run.
#[derive(Clone)]
pub struct RuleSet {
    rules: Vec<Rule>,
}

impl RuleSet {
    /// The always-on rules (with `not_duplicates` when there are duplicates), the optional
    /// ones not in `disabled`, then the modality filter and exclusions when given.
    /// `not_duplicates` reads [`PartnerFeatures::duplicate_group`]: the features must be
    /// built from the same `duplicates`.
    pub fn new(
        duplicates: &Duplicates,
        disabled: &[OptionalRule],
        modality: Option<ModalityFilter>,
        exclusions: Option<Exclusions>,
    ) -> Self {
        let mut rules = vec![Rule::NoSelfMatch, Rule::CandidateActive];
        if !duplicates.links.is_empty() {
            rules.push(Rule::NotDuplicates);
        }
        rules.extend([OptionalRule::SharedTheme, OptionalRule::DemandDriven].into_iter().filter(|r| !disabled.contains(r)).map(OptionalRule::rule));
        rules.extend(modality.map(Rule::Modality));
        rules.extend(exclusions.map(|e| Rule::Exclusions(Arc::new(e))));
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

    /// Marks in `admitted` the positions `run` of `columns` that every rule admits for
    /// `query`, counting in `removed` (one slot per rule) the pairs each rule was first to
    /// refuse; returns how many were refused.
    #[inline(always)]
    pub fn screen(&self, f: &PartnerFeatures, columns: &Columns, query: &Query, run: Range<usize>, admitted: &mut [bool], removed: &mut [u64]) -> u64 {
        admitted.fill(true);
        let mut refused = 0;
        for (rule, slot) in self.rules.iter().zip(removed) {
            let cleared = rule.screen(f, columns, query, run.clone(), admitted);
            *slot += cleared;
            refused += cleared;
        }
        refused
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

    /// The rules a supporting link (a funder or facilitator with a partner it supports, a
    /// triad's third partner with either member) must pass: every rule but `shared_theme` and
    /// `demand_driven`, which concern an exchange of expertise, and `modality`, which concerns
    /// the kind of exchange (decided by the pair supported, not by its supporter).
    pub fn support(&self) -> RuleSet {
        RuleSet { rules: self.rules.iter().filter(|rule| applies_to_support(rule)).cloned().collect() }
    }

    /// Whether a supporting link passes [`RuleSet::support`] both ways.
    pub fn admits_support(&self, features: &PartnerFeatures, a: PartnerIdx, b: PartnerIdx) -> bool {
        self.rules.iter().filter(|rule| applies_to_support(rule)).all(|rule| rule.admits(features, a, b) && rule.admits(features, b, a))
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
