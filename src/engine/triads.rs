//! Triads: triangular partnerships of three, not pairs.
//!
//! Input: the [`Scorer`], the [`RuleSet`] (the provider–beneficiary pair must pass every
//! rule; the third partner's links pass every rule but `shared_theme` and `demand_driven`,
//! which concern an exchange of expertise, not support) and the triangular definition. Output: for each active partner with a declared need (a
//! beneficiary), up to `per_beneficiary` [`Triad`]s: a southern provider of the needed
//! expertise in another country than the beneficiary's (a South-South exchange), the beneficiary, and a third partner that the definition admits as supporter
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

use std::collections::HashMap;

use polars::prelude::*;
use rayon::prelude::*;

use crate::engine::features::{kind, PartnerFeatures};
use crate::engine::modality::{south_south, TriangularDefinition};
use crate::engine::profile::{IdSet, Profile};
use crate::engine::rank::collector::{AllTerms, Collector, QueryCollector};
use crate::engine::rank::top_k::{ranking_order, Hit, TopK};
use crate::engine::rank::{Candidates, Scan};
use crate::engine::reference::Reference;
use crate::engine::rules::RuleSet;
use crate::engine::score::columns::Columns;
use crate::engine::score::{combine, need_coverage, Scorer, TermValues};
use crate::{PartnerIdx, Score};

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

impl Triad {
    /// The beneficiary's needs the provider offers.
    pub fn needs_met(&self, f: &PartnerFeatures) -> IdSet {
        f.offers[self.provider as usize].intersection(f.needs[self.beneficiary as usize])
    }

    /// The third partner's role, from its role fit: funder, facilitator or supporter.
    pub fn third_role(&self) -> &'static str {
        match self.role_fit {
            x if x >= 1.0 => "funder",
            x if x > 0.0 => "facilitator",
            _ => "supporter",
        }
    }
}

/// The role fit of a third partner: 1 for a funder, ½ for a facilitator.
fn role_fit(f: &PartnerFeatures, third: usize) -> f32 {
    if f.kind[third] & kind::FUNDER != 0 {
        1.0
    } else if f.kind[third] & kind::FACILITATOR != 0 {
        0.5
    } else {
        0.0
    }
}

/// Searches triads for every beneficiary among `partners`.
pub struct TriadSearch<'a> {
    /// The scorer of pairs.
    pub scorer: Scorer<'a>,
    /// Rules the triad's pairs must pass.
    pub rules: &'a RuleSet,
    /// Which triangular definition.
    pub definition: TriangularDefinition,
    /// Providers kept per beneficiary.
    pub beam: usize,
    /// Triads kept per beneficiary.
    pub per_beneficiary: usize,
}

/// Beneficiaries ranked per chunk of the triad search: the scores of a chunk's beneficiaries
/// and their providers against every third partner are held at once.
const CHUNK: usize = 64;

impl TriadSearch<'_> {
    /// Whether `b` is a beneficiary a triad can be built around: active, in the South,
    /// taking the beneficiary role, with a declared need.
    fn is_beneficiary(&self, b: usize) -> bool {
        let f = self.scorer.features();
        f.active[b] && f.developing[b] && f.can_benefit[b] && !f.needs[b].is_empty()
    }

    /// The triad of three given partners (the score of its definition, no checks).
    pub fn triad(&self, beneficiary: PartnerIdx, provider: PartnerIdx, third: PartnerIdx) -> Triad {
        let s = |a, b| self.scorer.score(a, b);
        self.combine(beneficiary, provider, third, [s(provider, beneficiary), s(third, beneficiary), s(third, provider)])
    }

    /// The triad of three partners from its three pair scores: provider–beneficiary,
    /// third–beneficiary, third–provider.
    fn combine(&self, beneficiary: PartnerIdx, provider: PartnerIdx, third: PartnerIdx, [pb, tb, tp]: [f32; 3]) -> Triad {
        let fit = role_fit(self.scorer.features(), third as usize);
        Triad {
            beneficiary,
            provider,
            third,
            score: 0.5 * pb + 0.25 * tb + 0.25 * tp + 0.1 * fit,
            role_fit: fit,
        }
    }

    /// Whether three partners form a triad under the definition (roles, South, rules): the
    /// scalar check a found triad is tested against.
    pub fn valid(&self, beneficiary: PartnerIdx, provider: PartnerIdx, third: PartnerIdx) -> bool {
        let f = self.scorer.features();
        let (b, p, t) = (beneficiary as usize, provider as usize, third as usize);
        let admitted = |a, b| self.rules.first_refusal(f, a, b).is_none() && self.rules.first_refusal(f, b, a).is_none();
        b != p
            && b != t
            && p != t
            && south_south(f, b, p)
            && need_coverage(f, p, b) > 0.0
            && self.definition.supports(f, t)
            && admitted(provider, beneficiary)
            && self.rules.admits_support(f, third, beneficiary)
            && self.rules.admits_support(f, third, provider)
    }

    /// The best triads of one beneficiary, best first (ties by provider, then third index).
    pub fn for_beneficiary(&self, beneficiary: PartnerIdx) -> Vec<Triad> {
        self.all(&[beneficiary])
    }

    /// Triads of every beneficiary among `partners`, in partner order. Two scans per chunk of
    /// beneficiaries: each beneficiary against every partner for its `beam` best southern
    /// providers of a needed theme, then the beneficiaries and those providers against every
    /// admissible third partner (under every rule but the two about an exchange of
    /// expertise); the triads are combined from those pair scores.
    pub fn all(&self, partners: &[PartnerIdx]) -> Vec<Triad> {
        let f = self.scorer.features();
        let beneficiaries: Vec<PartnerIdx> = partners.iter().copied().filter(|&b| self.is_beneficiary(b as usize)).collect();
        let thirds: Vec<PartnerIdx> = (0..f.len() as PartnerIdx).filter(|&t| f.active[t as usize] && self.definition.supports(f, t as usize)).collect();
        let support = self.rules.support();
        let providers = Scan::new(self.scorer, self.rules, Candidates::Owned(Box::new(Columns::in_index_order(&self.scorer))));
        let supporters = Scan::new(self.scorer, &support, Candidates::Owned(Box::new(Columns::build(&self.scorer, thirds))));
        let weights = *self.scorer.weights();
        let mut triads = Vec::new();
        for chunk in beneficiaries.chunks(CHUNK) {
            let (beams, _) = providers.run(chunk, &ProviderBeam { beam: self.beam, features: f }, &|_| {});
            let mut queries: Vec<PartnerIdx> = chunk.iter().copied().chain(beams.iter().flat_map(|(_, beam)| beam.iter().map(|h| h.candidate))).collect();
            queries.sort_unstable();
            queries.dedup();
            let (rows, _) = supporters.run(&queries, &AllTerms, &|_| {});
            // Each query's admitted third partners and its score with each, by third.
            let scores: HashMap<PartnerIdx, Vec<(PartnerIdx, f32)>> = rows
                .into_par_iter()
                .map(|(q, rows)| {
                    let mut scored: Vec<(PartnerIdx, f32)> = rows.iter().map(|(t, terms)| (*t, combine(&weights, terms).0)).collect();
                    scored.sort_unstable_by_key(|&(t, _)| t);
                    (q, scored)
                })
                .collect();
            let found: Vec<Vec<Triad>> = beams
                .par_iter()
                .map(|(b, beam)| {
                    let with_b = &scores[b];
                    let mut found: Vec<Triad> = Vec::new();
                    for provider in beam {
                        let p = provider.candidate;
                        let mut with_p = scores[&p].iter().peekable();
                        for &(t, tb) in with_b {
                            while with_p.next_if(|&&(u, _)| u < t).is_some() {}
                            if let Some(&&(_, tp)) = with_p.peek().filter(|&&&(u, _)| u == t && t != p) {
                                found.push(self.combine(*b, p, t, [provider.score, tb, tp]));
                            }
                        }
                    }
                    sort(&mut found);
                    found.truncate(self.per_beneficiary);
                    found
                })
                .collect();
            triads.extend(found.into_iter().flatten());
        }
        triads
    }
}

/// A beneficiary's best southern providers of a theme it needs.
struct ProviderBeam<'a> {
    beam: usize,
    features: &'a PartnerFeatures,
}

/// One beneficiary's providers so far.
struct Providers<'a> {
    beneficiary: usize,
    features: &'a PartnerFeatures,
    top: TopK,
}

impl<'a> Collector for ProviderBeam<'a> {
    type Child = Providers<'a>;

    fn for_query(&self, query: PartnerIdx) -> Providers<'a> {
        Providers { beneficiary: query as usize, features: self.features, top: TopK::new(self.beam) }
    }
}

impl QueryCollector for Providers<'_> {
    type Fruit = Vec<Hit>;

    fn floor(&self) -> Score {
        QueryCollector::floor(&self.top)
    }

    fn collect(&mut self, candidate: PartnerIdx, score: Score, terms: &TermValues) {
        let f = self.features;
        let p = candidate as usize;
        if south_south(f, p, self.beneficiary) && need_coverage(f, p, self.beneficiary) > 0.0 {
            self.top.collect(candidate, score, terms);
        }
    }

    fn merge(&mut self, other: Self) {
        self.top.merge(other.top);
    }

    fn harvest(self) -> Vec<Hit> {
        self.top.into_sorted()
    }
}

/// Best first: score descending, then provider index, then third index.
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
    reason: &dyn Fn(&Triad) -> String,
) -> PolarsResult<DataFrame> {
    let f = search.scorer.features();
    let text = |g: &dyn Fn(&Triad) -> String| triads.iter().map(g).collect::<Vec<String>>();
    let number = |g: &dyn Fn(&Triad) -> f32| triads.iter().map(g).collect::<Vec<f32>>();
    let id = |i: PartnerIdx| profiles[i as usize].id.clone();
    let name = |i: PartnerIdx| profiles[i as usize].name.clone();
    let country = |i: PartnerIdx| reference.countries[profiles[i as usize].country as usize].iso3.clone();
    let definition = format!("{:?}", search.definition);
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
            Column::new("third_role".into(), text(&|t| t.third_role().to_string())),
            Column::new("definition".into(), text(&|_| definition.clone())),
            Column::new("triad_score".into(), number(&|t| t.score)),
            Column::new("provider_beneficiary_score".into(), number(&|t| s(t.provider, t.beneficiary))),
            Column::new("third_beneficiary_score".into(), number(&|t| s(t.third, t.beneficiary))),
            Column::new("third_provider_score".into(), number(&|t| s(t.third, t.provider))),
            Column::new(
                "needs_met".into(),
                text(&|t| reference.themes.ids_of(t.needs_met(f))),
            ),
            Column::new("reason".into(), text(reason)),
        ],
    )
}
