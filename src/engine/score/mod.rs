//! Score: here is a pair of partners, give me a score and its named terms.
//!
//! Input: [`PartnerFeatures`], the actor-type compatibility table and [`ScoreSettings`]
//! (weights, geography kernel, mutual-benefit rule). Output: for a pair (i, j), the raw value
//! of every [`Term`] in [0, 1] ([`Scorer::terms`]) and the score, `Σ weight × raw`
//! ([`Scorer::score`]). The shortlist's terms and its score come from this one formula
//! ([`combine`]); the scan computes the same terms for many candidates at once in [`kernel`]
//! over [`columns`], bit for bit (tested); explanations, and the tests' oracle, read them
//! pair by pair here.
//!
//! **Invariant:** pure, no IO; every term is symmetric in (i, j), so `score(i, j) ==
//! score(j, i)` bit for bit; `score == Σ contributions`. Direction (who provides) is not in
//! the score: it is reported beside it ([`Direction`]).
//!
//! ```text
//!   complementarity ── the better of the two directions of rarity-weighted need coverage
//!                      (A's offers over B's needs, B's offers over A's needs; a direction
//!                      counts only if A may provide and B may benefit by their roles)
//!   mutual_benefit  ── the two directions fused by a rule (harmonic mean by default), so a
//!                      two-way match outranks a one-way match of equal strength
//!   context         ── same development status, income group closeness, a shared language,
//!                      and for two cities their size class (intermediary cities are peers)
//!   geography       ── exp(-great-circle km / scale) blended with same UN sub-region
//!   values          ── 1 - |a - b| per principle where both are known; unknown counts 0.5
//!   sector          ── Jaccard overlap of sector sets
//!   actor_type      ── compatibility table (data/mappings/actor_compatibility.csv)
//! ```

pub mod bound;
pub mod columns;
mod explain;
pub mod kernel;
pub mod linear;
pub mod query;
pub mod simd;

pub use explain::{Direction, PairExplanation};

use crate::engine::features::{distance_km, PartnerFeatures, MAX_LANGUAGES};
use crate::engine::modality::TriangularDefinition;
use crate::engine::profile::{IdSet, VALUE_COUNT};
use crate::{PartnerIdx, Score};


/// The named terms of a score, in output column order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Term {
    /// How well one side's offers meet the other's needs (the better direction).
    Complementarity,
    /// Whether both directions are met (the two fused by the mutual-benefit rule).
    MutualBenefit,
    /// Similar context: development status, income group, language, city size.
    Context,
    /// Distance kernel plus same sub-region.
    Geography,
    /// Alignment over the eight principles.
    Values,
    /// Shared economic sectors.
    Sector,
    /// Whether the two kinds of partner work together.
    ActorType,
}

/// Number of terms.
pub const TERM_COUNT: usize = 7;

impl Term {
    /// Every term, in column order.
    pub const ALL: [Term; TERM_COUNT] = [
        Term::Complementarity,
        Term::MutualBenefit,
        Term::Context,
        Term::Geography,
        Term::Values,
        Term::Sector,
        Term::ActorType,
    ];

    /// The term's name in flags, weight files and the `term_<name>` columns.
    pub fn name(self) -> &'static str {
        match self {
            Term::Complementarity => "complementarity",
            Term::MutualBenefit => "mutual_benefit",
            Term::Context => "context",
            Term::Geography => "geography",
            Term::Values => "values",
            Term::Sector => "sector",
            Term::ActorType => "actor_type",
        }
    }

    /// The term named `name`, if any.
    pub fn from_name(name: &str) -> Option<Term> {
        Term::ALL.into_iter().find(|t| t.name() == name)
    }

    /// All term names, for error messages.
    pub fn names() -> Vec<&'static str> {
        Term::ALL.iter().map(|t| t.name()).collect()
    }
}

/// Raw term values in [0, 1], indexed like [`Term::ALL`].
pub type TermValues = [f32; TERM_COUNT];

/// Checked, non-negative term weights with a positive sum (see `config::weights`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Weights(pub [f32; TERM_COUNT]);

/// How the two directions of need coverage are fused into `mutual_benefit`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MutualRule {
    /// 2ab / (a + b): zero unless both directions are met; rewards balance.
    Harmonic,
    /// The weaker direction.
    Min,
    /// The mean of the two.
    Mean,
    /// The stronger direction (one-way matches count fully).
    Max,
}

impl MutualRule {
    /// Every rule.
    pub const ALL: [MutualRule; 4] = [MutualRule::Harmonic, MutualRule::Min, MutualRule::Mean, MutualRule::Max];

    /// The flag spelling.
    pub fn name(self) -> &'static str {
        match self {
            MutualRule::Harmonic => "harmonic",
            MutualRule::Min => "min",
            MutualRule::Mean => "mean",
            MutualRule::Max => "max",
        }
    }

    /// Fuses two coverages in [0, 1]; symmetric in (a, b) bit for bit.
    #[inline]
    pub fn fuse(self, a: f32, b: f32) -> f32 {
        match self {
            MutualRule::Harmonic if a + b > 0.0 => 2.0 * a * b / (a + b),
            MutualRule::Harmonic => 0.0,
            MutualRule::Min => a.min(b),
            MutualRule::Mean => 0.5 * (a + b),
            MutualRule::Max => a.max(b),
        }
    }
}

/// Everything the scorer needs besides the features.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScoreSettings {
    /// Term weights.
    pub weights: Weights,
    /// Geography term settings.
    pub geography: GeographyKernel,
    /// How the two directions are fused.
    pub mutual: MutualRule,
    /// Which triangular definition classifies pairs (explanations only).
    pub triangular: TriangularDefinition,
}

/// Settings of the geography term.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GeographyKernel {
    /// Distance at which the kernel falls to 1/e, km.
    pub scale_km: f32,
    /// Share of the term given to "same UN sub-region" (the rest is the distance kernel).
    pub region_share: f32,
}

/// The weighted sum of raw term values: the one formula behind scores and explanations.
/// Contributions are `weight × raw`; the score adds them in term order.
#[inline(always)]
pub fn combine(weights: &Weights, raw: &TermValues) -> (Score, TermValues) {
    let mut contributions = [0.0; TERM_COUNT];
    let mut total = 0.0;
    for t in 0..TERM_COUNT {
        contributions[t] = weights.0[t] * raw[t];
        total += contributions[t];
    }
    (total, contributions)
}

/// Scores pairs of partners.
#[derive(Clone, Copy)]
pub struct Scorer<'a> {
    features: &'a PartnerFeatures,
    compatibility: &'a [f32],
    actor_types: usize,
    settings: ScoreSettings,
}

impl<'a> Scorer<'a> {
    /// A scorer over these features. `compatibility` is the row-major actor-type table.
    pub fn new(features: &'a PartnerFeatures, compatibility: &'a [f32], settings: ScoreSettings) -> Self {
        let actor_types = (compatibility.len() as f64).sqrt() as usize;
        Scorer {
            features,
            compatibility,
            actor_types,
            settings,
        }
    }

    /// The features being scored.
    pub fn features(&self) -> &PartnerFeatures {
        self.features
    }

    /// The weights in use.
    pub fn weights(&self) -> &Weights {
        &self.settings.weights
    }

    /// The score of a pair.
    #[inline]
    pub fn score(&self, i: PartnerIdx, j: PartnerIdx) -> Score {
        combine(&self.settings.weights, &self.terms(i, j)).0
    }

    /// Raw value of every term for a pair, each in [0, 1].
    #[inline]
    pub fn terms(&self, i: PartnerIdx, j: PartnerIdx) -> TermValues {
        let f = self.features;
        let (i, j) = (i as usize, j as usize);
        let (forward, backward) = (need_coverage(f, i, j), need_coverage(f, j, i));
        [
            forward.max(backward),
            self.settings.mutual.fuse(forward, backward),
            context(f, i, j),
            self.geography_term(i, j),
            values(f, i, j),
            jaccard(f.sectors[i], f.sectors[j]),
            self.compatibility[f.actor[i] as usize * self.actor_types + f.actor[j] as usize],
        ]
    }

    #[inline]
    fn geography_term(&self, i: usize, j: usize) -> f32 {
        let f = self.features;
        let kernel = (-distance_km(&f.unit[i], &f.unit[j]) / self.settings.geography.scale_km).exp();
        let same_region = if f.sub_region[i] == f.sub_region[j] { 1.0 } else { 0.0 };
        let share = self.settings.geography.region_share;
        (1.0 - share) * kernel + share * same_region
    }
}

/// The themes `provider` offers that `needy` needs, when `provider` takes the provider role
/// and `needy` the beneficiary role (else none): what [`need_coverage`] counts, and what an
/// explanation names.
#[inline]
pub fn offers_met(f: &PartnerFeatures, provider: usize, needy: usize) -> IdSet {
    if f.can_provide[provider] && f.can_benefit[needy] {
        f.offers[provider].intersection(f.needs[needy])
    } else {
        IdSet::default()
    }
}

/// Rarity-weighted share of `needy`'s needs that `provider` offers; 0 when it needs nothing,
/// or when `provider` does not take the provider role or `needy` the beneficiary role.
#[inline]
pub fn need_coverage(f: &PartnerFeatures, provider: usize, needy: usize) -> f32 {
    let matched = offers_met(f, provider, needy);
    if matched.is_empty() {
        return 0.0;
    }
    let covered: f32 = matched.iter().map(|t| f.theme_weight[t as usize]).sum();
    covered / f.need_mass[needy]
}

/// What the context term knows of a partner.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContextKey {
    /// In the Global South.
    pub developing: bool,
    /// Income rank, 0 unknown.
    pub income: u8,
    /// City size class, 0 when not a city with a population.
    pub city_class: u8,
}

impl ContextKey {
    /// Partner `i`'s key.
    #[inline]
    pub fn of(f: &PartnerFeatures, i: usize) -> Self {
        ContextKey {
            developing: f.developing[i],
            income: f.income[i],
            city_class: f.city_class[i],
        }
    }
}

#[inline]
fn context(f: &PartnerFeatures, i: usize, j: usize) -> f32 {
    context_from(ContextKey::of(f, i), ContextKey::of(f, j), language(&f.languages[i], &f.languages[j]))
}

/// Context similarity: the mean of same development status, income-group closeness, a
/// shared language (`shared`, 0 or 1), and, when both are cities with a population, their
/// size closeness.
#[inline(always)]
pub fn context_from(a: ContextKey, b: ContextKey, shared: f32) -> f32 {
    let status = if a.developing == b.developing { 1.0 } else { 0.0 };
    let base = status + income_closeness(a.income, b.income) + shared;
    if a.city_class == 0 || b.city_class == 0 {
        base / 3.0
    } else {
        (base + size_closeness(a.city_class, b.city_class)) / 4.0
    }
}

/// Closeness of two income ranks: 1 − steps / 3, or 0.5 when either is unknown (0).
#[inline(always)]
pub fn income_closeness(a: u8, b: u8) -> f32 {
    if a == 0 || b == 0 {
        0.5
    } else {
        1.0 - a.abs_diff(b) as f32 / 3.0
    }
}

/// Closeness of two city size classes: same 1, adjacent 0.5, else 0.
#[inline(always)]
pub fn size_closeness(a: u8, b: u8) -> f32 {
    match a.abs_diff(b) {
        0 => 1.0,
        1 => 0.5,
        _ => 0.0,
    }
}

#[inline]
fn values(f: &PartnerFeatures, i: usize, j: usize) -> f32 {
    let both = f.values_known[i] & f.values_known[j];
    let mut sum = 0.0;
    for v in 0..VALUE_COUNT {
        sum += value_agreement(both & (1 << v) != 0, f.values[i][v], f.values[j][v]);
    }
    sum / VALUE_COUNT as f32
}

/// Agreement on one principle: `1 − |a − b|` when both sides know it, else 0.5.
#[inline(always)]
pub fn value_agreement(both_known: bool, a: f32, b: f32) -> f32 {
    if both_known {
        1.0 - (a - b).abs()
    } else {
        0.5
    }
}

#[inline]
fn jaccard(a: IdSet, b: IdSet) -> f32 {
    let union = a.union(b).len();
    if union == 0 {
        0.0
    } else {
        a.intersection(b).len() as f32 / union as f32
    }
}

#[inline]
fn language(a: &[u16; MAX_LANGUAGES], b: &[u16; MAX_LANGUAGES]) -> f32 {
    let shared = a
        .iter()
        .filter(|&&l| l != u16::MAX)
        .any(|l| b.contains(l));
    if shared {
        1.0
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::features::unit_vector;

    #[test]
    fn chord_distance_matches_haversine() {
        // Nairobi to Dakar: 6,227 km by haversine in f64 (checked with Python).
        let (a, b): ((f64, f64), (f64, f64)) = ((-1.28333, 36.81667), (14.6937, -17.44406));
        let haversine = {
            let (p1, p2) = (a.0.to_radians(), b.0.to_radians());
            let dp = p2 - p1;
            let dl = (b.1 - a.1).to_radians();
            let h = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
            2.0 * 6371.0088 * h.sqrt().asin()
        };
        let chord = distance_km(&unit_vector(a.0, a.1), &unit_vector(b.0, b.1)) as f64;
        assert!((chord - haversine).abs() < 0.5, "{chord} vs {haversine}");
        assert!((haversine - 6227.1).abs() < 0.1);
    }

    #[test]
    fn combine_adds_contributions_in_order() {
        let weights = Weights([0.5, 0.25, 0.0, 1.0, 0.1, 0.2, 1.0]);
        let raw = [1.0, 0.5, 1.0, 0.25, 0.0, 1.0, 0.5];
        let (total, parts) = combine(&weights, &raw);
        assert_eq!(parts, [0.5, 0.125, 0.0, 0.25, 0.0, 0.2, 0.5]);
        assert!((total - 1.575).abs() < 1e-6);
    }

    #[test]
    fn mutual_rules_fuse_as_documented() {
        assert_eq!(MutualRule::Harmonic.fuse(0.5, 0.5), 0.5);
        assert_eq!(MutualRule::Harmonic.fuse(1.0, 0.0), 0.0, "one-way gets no mutual benefit");
        assert!((MutualRule::Harmonic.fuse(1.0, 0.5) - 2.0 / 3.0).abs() < 1e-6);
        assert_eq!(MutualRule::Min.fuse(0.2, 0.8), 0.2);
        assert_eq!(MutualRule::Mean.fuse(0.2, 0.8), 0.5);
        assert_eq!(MutualRule::Max.fuse(0.2, 0.8), 0.8);
        for rule in MutualRule::ALL {
            assert_eq!(rule.fuse(0.3, 0.7), rule.fuse(0.7, 0.3));
        }
    }

    #[test]
    fn term_names_round_trip() {
        for t in Term::ALL {
            assert_eq!(Term::from_name(t.name()), Some(t));
        }
        assert_eq!(Term::from_name("nonsense"), None);
    }
}
