//! Triads: triangular partnerships of three, not pairs.
//!
//! Input: the [`Scorer`], the [`RuleSet`] (the provider–beneficiary pair must pass every
//! rule; the third partner's links pass every rule but `shared_theme` and `demand_driven`,
//! which concern an exchange of expertise, not support) and the triangular definition. Output: for each active partner with a declared need (a
//! beneficiary), up to `per_beneficiary` [`Triad`]s: a southern provider of the needed
//! expertise, the beneficiary, and a third partner that the definition admits as supporter
//! (A: a northern funder; B: a northern funder or an international organisation; C: a
//! multilateral institution).
//!
//! Search: a bounded beam. The `beam` best providers by pair score (those covering some of
//! the beneficiary's needs) are kept; for each, every admissible third partner is tried and
//! the best triads kept. Time O(N·(N + beam·N)) like the pair job, memory O(beam + results)
//! per beneficiary: never N³.
//!
//! Triad score = ½·score(provider, beneficiary) + ¼·score(third, beneficiary) +
//! ¼·score(third, provider) + 0.1·role fit (1 when the third takes the `funder` role, ½ for
//! `facilitator`).

use polars::prelude::*;
use rayon::prelude::*;

use crate::engine::features::{kind, PartnerFeatures};
use crate::engine::profile::Profile;
use crate::engine::reference::Reference;
use crate::engine::modality::TriangularDefinition;
use crate::engine::rank::top_k::{ranking_order, Hit, TopK};
use crate::engine::rules::RuleSet;
use crate::engine::score::{need_coverage, Scorer};
use crate::PartnerIdx;

/// One proposed triangle.
#[derive(Clone, Debug, PartialEq)]
pub struct Triad {
    /// The partner with the need.
    pub beneficiary: PartnerIdx,
    /// The southern provider of the needed expertise.
    pub provider: PartnerIdx,
    /// The funder or facilitator.
    pub third: PartnerIdx,
    /// The triad score.
    pub score: f32,
    /// Role fit of the third partner (1 funder, ½ facilitator, 0 otherwise).
    pub role_fit: f32,
}

/// Whether `third` may support a South-South pair under `definition`.
pub fn supports(f: &PartnerFeatures, third: usize, definition: TriangularDefinition) -> bool {
    let flags = f.kind[third];
    match definition {
        TriangularDefinition::A => !f.developing[third] && flags & kind::FUNDER != 0,
        TriangularDefinition::B => (!f.developing[third] && flags & kind::FUNDER != 0) || flags & kind::INTERNATIONAL != 0,
        TriangularDefinition::C => flags & kind::MULTILATERAL != 0,
    }
}

/// The role fit of a third partner: 1 for a funder, ½ for a facilitator.
fn role_fit(f: &PartnerFeatures, third: usize, facilitator: &[bool]) -> f32 {
    if f.kind[third] & kind::FUNDER != 0 {
        1.0
    } else if facilitator[third] {
        0.5
    } else {
        0.0
    }
}

/// Searches triads for every beneficiary among `partners`.
pub struct TriadSearch<'a> {
    /// The scorer of pairs.
    pub scorer: &'a Scorer<'a>,
    /// Rules the triad's pairs must pass.
    pub rules: &'a RuleSet,
    /// Which triangular definition.
    pub definition: TriangularDefinition,
    /// Providers kept per beneficiary.
    pub beam: usize,
    /// Triads kept per beneficiary.
    pub per_beneficiary: usize,
    /// Whether each partner takes the `facilitator` role.
    pub facilitator: &'a [bool],
}

impl TriadSearch<'_> {
    fn admitted(&self, a: PartnerIdx, b: PartnerIdx) -> bool {
        let f = self.scorer.features();
        self.rules.first_refusal(f, a, b).is_none() && self.rules.first_refusal(f, b, a).is_none()
    }

    /// The triad of three given partners (the score of its definition, no checks).
    pub fn triad(&self, beneficiary: PartnerIdx, provider: PartnerIdx, third: PartnerIdx) -> Triad {
        let s = |a, b| self.scorer.score(a, b);
        let fit = role_fit(self.scorer.features(), third as usize, self.facilitator);
        Triad {
            beneficiary,
            provider,
            third,
            score: 0.5 * s(provider, beneficiary) + 0.25 * s(third, beneficiary) + 0.25 * s(third, provider) + 0.1 * fit,
            role_fit: fit,
        }
    }

    /// Whether three partners form a triad under the definition (roles, South, rules).
    pub fn valid(&self, beneficiary: PartnerIdx, provider: PartnerIdx, third: PartnerIdx) -> bool {
        let f = self.scorer.features();
        let (b, p, t) = (beneficiary as usize, provider as usize, third as usize);
        b != p
            && b != t
            && p != t
            && f.developing[b]
            && f.developing[p]
            && need_coverage(f, p, b) > 0.0
            && supports(f, t, self.definition)
            && self.admitted(provider, beneficiary)
            && self.rules.admits_support(f, third, beneficiary)
            && self.rules.admits_support(f, third, provider)
    }

    /// The best triads of one beneficiary, best first (ties by provider, then third index).
    pub fn for_beneficiary(&self, beneficiary: PartnerIdx) -> Vec<Triad> {
        let f = self.scorer.features();
        let b = beneficiary as usize;
        if !(f.active[b] && f.developing[b] && f.can_benefit[b] && !f.needs[b].is_empty()) {
            return Vec::new();
        }
        let n = f.len() as PartnerIdx;
        let mut providers = TopK::new(self.beam);
        for p in 0..n {
            let pu = p as usize;
            if p != beneficiary && f.active[pu] && f.developing[pu] && need_coverage(f, pu, b) > 0.0 && self.admitted(p, beneficiary) {
                providers.push(Hit { candidate: p, score: self.scorer.score(p, beneficiary) });
            }
        }
        let thirds: Vec<PartnerIdx> = (0..n).filter(|&t| f.active[t as usize] && supports(f, t as usize, self.definition)).collect();
        let mut triads: Vec<Triad> = Vec::new();
        for provider in providers.into_sorted() {
            for &third in &thirds {
                if self.valid(beneficiary, provider.candidate, third) {
                    triads.push(self.triad(beneficiary, provider.candidate, third));
                }
            }
            // Keep memory bounded by the output: trim to the best as we go.
            if triads.len() > 4 * self.per_beneficiary.max(1) {
                sort(&mut triads);
                triads.truncate(self.per_beneficiary);
            }
        }
        sort(&mut triads);
        triads.truncate(self.per_beneficiary);
        triads
    }

    /// Triads of every beneficiary among `partners`, in partner order.
    pub fn all(&self, partners: &[PartnerIdx]) -> Vec<Triad> {
        partners.par_iter().flat_map_iter(|&b| self.for_beneficiary(b)).collect()
    }
}

fn sort(triads: &mut [Triad]) {
    triads.sort_by(|x, y| {
        ranking_order(&Hit { candidate: x.provider, score: x.score }, &Hit { candidate: y.provider, score: y.score })
            .then(x.third.cmp(&y.third))
    });
}

/// The triads as a table for `triads.csv` / `triads.parquet`.
///
/// Columns: `run_id`, `beneficiary_id`, `beneficiary_name`, `beneficiary_country`,
/// `provider_id`, `provider_name`, `provider_country`, `third_id`, `third_name`,
/// `third_country`, `third_role` (funder, facilitator or supporter), `definition`,
/// `triad_score`, `provider_beneficiary_score`, `third_beneficiary_score`,
/// `third_provider_score`, `needs_met` (theme ids), `reason`.
pub fn frame(
    triads: &[Triad],
    search: &TriadSearch,
    profiles: &[Profile],
    reference: &Reference,
    run_id: &str,
) -> PolarsResult<DataFrame> {
    let f = search.scorer.features();
    let text = |g: &dyn Fn(&Triad) -> String| triads.iter().map(g).collect::<Vec<String>>();
    let number = |g: &dyn Fn(&Triad) -> f32| triads.iter().map(g).collect::<Vec<f32>>();
    let id = |i: PartnerIdx| profiles[i as usize].id.clone();
    let name = |i: PartnerIdx| profiles[i as usize].name.clone();
    let country = |i: PartnerIdx| reference.countries[profiles[i as usize].country as usize].iso3.clone();
    let role = |t: &Triad| match t.role_fit {
        x if x >= 1.0 => "funder",
        x if x > 0.0 => "facilitator",
        _ => "supporter",
    };
    let needs_met = |t: &Triad| f.offers[t.provider as usize].intersection(f.needs[t.beneficiary as usize]);
    let definition = format!("{:?}", search.definition);
    let reason = |t: &Triad| {
        let themes: Vec<String> = needs_met(t)
            .iter()
            .map(|i| reference.themes.label(i as usize).to_lowercase())
            .collect();
        format!(
            "Triangular ({definition}): {} ({}) offers {}, which {} ({}) needs, with {} ({}) as {}.",
            name(t.provider),
            country(t.provider),
            themes.join("; "),
            name(t.beneficiary),
            country(t.beneficiary),
            name(t.third),
            country(t.third),
            role(t)
        )
    };
    let s = |a: PartnerIdx, b: PartnerIdx| search.scorer.score(a, b);
    DataFrame::new(
        triads.len(),
        vec![
            Column::new("run_id".into(), vec![run_id; triads.len()]),
            Column::new("beneficiary_id".into(), text(&|t| id(t.beneficiary))),
            Column::new("beneficiary_name".into(), text(&|t| name(t.beneficiary))),
            Column::new("beneficiary_country".into(), text(&|t| country(t.beneficiary))),
            Column::new("provider_id".into(), text(&|t| id(t.provider))),
            Column::new("provider_name".into(), text(&|t| name(t.provider))),
            Column::new("provider_country".into(), text(&|t| country(t.provider))),
            Column::new("third_id".into(), text(&|t| id(t.third))),
            Column::new("third_name".into(), text(&|t| name(t.third))),
            Column::new("third_country".into(), text(&|t| country(t.third))),
            Column::new("third_role".into(), text(&|t| role(t).to_string())),
            Column::new("definition".into(), text(&|_| definition.clone())),
            Column::new("triad_score".into(), number(&|t| t.score)),
            Column::new("provider_beneficiary_score".into(), number(&|t| s(t.provider, t.beneficiary))),
            Column::new("third_beneficiary_score".into(), number(&|t| s(t.third, t.beneficiary))),
            Column::new("third_provider_score".into(), number(&|t| s(t.third, t.provider))),
            Column::new(
                "needs_met".into(),
                text(&|t| needs_met(t).iter().map(|i| reference.themes.id(i as usize)).collect::<Vec<_>>().join(";")),
            ),
            Column::new("reason".into(), text(&reason)),
        ],
    )
}
