//! Triads: triangular partnerships of three, built from the run's own lists.
//!
//! Input: each partner's final shortlist (where its providers come from), the [`Supporters`]
//! (its third partners), the [`RuleSet`] and the triangular definition. Output: for each
//! beneficiary (active, in the South, taking the beneficiary role, with a declared need) up to
//! `per_beneficiary` [`Triad`]s, best first.
//!
//! A triad (beneficiary B, provider P, third T):
//! - P is one of the first `beam` candidates on B's shortlist that provide a need of B and
//!   are in another southern country (a South-South exchange B's own list proposes);
//! - T is one of B's best `thirds` supporters ([`Supporters`], by support score) that the
//!   definition admits (A: a northern funder; B: a northern funder or an international
//!   organisation; C: a multilateral institution), whose supporting links to B and to P pass
//!   the rules, and which backs a need P would meet.
//!
//! Triad score = ½·score(P, B) + ½·support(T, B): the exchange and its backing.
//!
//! One funder cannot back every exchange: T is proposed in at most its declared capacity of
//! triads, or `max_per_third` without one. The triads are granted best first across all
//! beneficiaries (ties by beneficiary, provider, third index), each beneficiary keeping
//! `per_beneficiary` and each third its limit; a beneficiary whose best third is taken gets
//! its next. Time O(beneficiaries × (needs' backers + beam × thirds)), memory
//! O(beneficiaries × triads offered): never N².

use std::cmp::Ordering;

use polars::prelude::*;
use rayon::prelude::*;

use crate::engine::features::PartnerFeatures;
use crate::engine::modality::{south_south, TriangularDefinition};
use crate::engine::profile::{IdSet, Profile};
use crate::engine::rank::Shortlist;
use crate::engine::reference::Reference;
use crate::engine::rules::RuleSet;
use crate::engine::score::{need_coverage, Scorer};
use crate::engine::support::{SupportRole, Supporters};
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
    /// The triad score: ½·`pair_score` + ½·`support_score`.
    pub score: f32,
    /// score(provider, beneficiary).
    pub pair_score: f32,
    /// support(third, beneficiary).
    pub support_score: f32,
    /// How the third partner supports.
    pub role: SupportRole,
    /// The needs the provider meets that the third backs.
    pub backed: IdSet,
}

impl Triad {
    /// The beneficiary's needs the provider offers.
    pub fn needs_met(&self, f: &PartnerFeatures) -> IdSet {
        f.offers[self.provider as usize].intersection(f.needs[self.beneficiary as usize])
    }
}

/// Searches triads for every beneficiary of a run.
pub struct TriadSearch<'a> {
    /// The scorer of pairs.
    pub scorer: Scorer<'a>,
    /// The funders and facilitators.
    pub supporters: &'a Supporters<'a>,
    /// Rules the third partner's links must pass.
    pub rules: &'a RuleSet,
    /// Which triangular definition.
    pub definition: TriangularDefinition,
    /// Providers taken from each beneficiary's shortlist.
    pub beam: usize,
    /// Supporters tried per beneficiary.
    pub thirds: usize,
    /// Triads kept per beneficiary.
    pub per_beneficiary: usize,
    /// Triads a third without a declared capacity is proposed in, at most.
    pub max_per_third: usize,
}

/// Triads offered per beneficiary to the granting, as a multiple of those it keeps: room
/// for the next best when a third reaches its limit.
const OFFERED_PER_KEPT: usize = 4;

impl TriadSearch<'_> {
    /// Whether `b` is a beneficiary a triad can be built around: active, in the South,
    /// taking the beneficiary role, with a declared need.
    fn is_beneficiary(&self, b: usize) -> bool {
        let f = self.scorer.features();
        f.active[b] && f.developing[b] && f.can_benefit[b] && !f.needs[b].is_empty()
    }

    /// Whether `provider` can be a triad's provider for `beneficiary`: a South-South
    /// exchange of a needed theme.
    fn provides(&self, provider: PartnerIdx, beneficiary: PartnerIdx) -> bool {
        let f = self.scorer.features();
        let (p, b) = (provider as usize, beneficiary as usize);
        south_south(f, p, b) && need_coverage(f, p, b) > 0.0
    }

    /// Whether `third` may support a triad of `beneficiary` and `provider` under the
    /// definition and the rules (without its support score).
    fn may_support(&self, third: PartnerIdx, beneficiary: PartnerIdx, provider: PartnerIdx) -> bool {
        let f = self.scorer.features();
        third != beneficiary
            && third != provider
            && self.definition.supports(f, third as usize)
            && self.rules.admits_support(f, third, beneficiary)
            && self.rules.admits_support(f, third, provider)
    }

    /// The triad of three partners, when they form one: the provider provides, the third may
    /// support and backs a need the provider meets. The scalar check and score a found triad
    /// is tested against.
    pub fn triad(&self, beneficiary: PartnerIdx, provider: PartnerIdx, third: PartnerIdx) -> Option<Triad> {
        if !self.is_beneficiary(beneficiary as usize) || !self.provides(provider, beneficiary) || !self.may_support(third, beneficiary, provider) {
            return None;
        }
        let support = self.supporters.support(third, beneficiary)?;
        let met = self.scorer.features().offers[provider as usize].intersection(self.scorer.features().needs[beneficiary as usize]);
        let backed = support.backed_needs.intersection(met);
        if backed.is_empty() {
            return None;
        }
        let pair_score = self.scorer.score(provider, beneficiary);
        Some(Triad {
            beneficiary,
            provider,
            third,
            score: 0.5 * pair_score + 0.5 * support.score,
            pair_score,
            support_score: support.score,
            role: support.role,
            backed,
        })
    }

    /// Triads of every beneficiary with a list among `lists`, in beneficiary order, each
    /// beneficiary's best first.
    pub fn all(&self, lists: &[Shortlist]) -> Vec<Triad> {
        let f = self.scorer.features();
        let lists: Vec<&Shortlist> = lists.iter().filter(|l| self.is_beneficiary(l.partner as usize)).collect();
        let beneficiaries: Vec<PartnerIdx> = lists.iter().map(|l| l.partner).collect();
        let admits = |t: PartnerIdx, b: PartnerIdx| self.definition.supports(f, t as usize) && self.rules.admits_support(f, t, b);
        let thirds = self.supporters.resource_lists(&beneficiaries, self.thirds, &admits);
        let offered: Vec<Triad> = lists
            .par_iter()
            .zip(thirds)
            .flat_map_iter(|(list, thirds)| {
                let b = list.partner;
                let providers = list.hits.iter().filter(|h| self.provides(h.candidate, b)).take(self.beam);
                let mut found: Vec<Triad> = providers.flat_map(|p| thirds.iter().filter_map(move |t| self.triad(b, p.candidate, t.candidate))).collect();
                found.sort_by(best_first);
                found.truncate(self.per_beneficiary.saturating_mul(OFFERED_PER_KEPT));
                found
            })
            .collect();
        self.grant(offered)
    }

    /// The triads granted, best first across beneficiaries, within each beneficiary's
    /// `per_beneficiary` and each third's limit; returned in beneficiary order.
    fn grant(&self, mut offered: Vec<Triad>) -> Vec<Triad> {
        offered.par_sort_by(best_first);
        let n = self.scorer.features().len();
        let (mut kept, mut backing) = (vec![0usize; n], vec![0usize; n]);
        let limit = |t: PartnerIdx| self.supporters.capacity(t).map_or(self.max_per_third, |c| c as usize);
        let mut granted: Vec<Triad> = offered
            .into_iter()
            .filter(|t| {
                let (b, third) = (t.beneficiary as usize, t.third as usize);
                let grant = kept[b] < self.per_beneficiary && backing[third] < limit(t.third);
                if grant {
                    kept[b] += 1;
                    backing[third] += 1;
                }
                grant
            })
            .collect();
        granted.sort_by(|x, y| x.beneficiary.cmp(&y.beneficiary).then_with(|| best_first(x, y)));
        granted
    }
}

/// Best first: score descending, then beneficiary, provider and third index.
fn best_first(x: &Triad, y: &Triad) -> Ordering {
    y.score.total_cmp(&x.score).then_with(|| (x.beneficiary, x.provider, x.third).cmp(&(y.beneficiary, y.provider, y.third)))
}

/// The triads as a table for `triads.csv` / `triads.parquet`.
///
/// Columns: `run_id`, `beneficiary_id`, `beneficiary_name`, `beneficiary_country`,
/// `provider_id`, `provider_name`, `provider_country`, `third_id`, `third_name`,
/// `third_country`, `third_role` (funder or facilitator), `definition`, `triad_score`,
/// `provider_beneficiary_score`, `support_score` (the triad score is half of each),
/// `needs_met` (theme ids the provider meets), `needs_backed` (those the third backs), `reason`.
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
            Column::new("third_role".into(), text(&|t| t.role.as_str().to_string())),
            Column::new("definition".into(), text(&|_| definition.clone())),
            Column::new("triad_score".into(), number(&|t| t.score)),
            Column::new("provider_beneficiary_score".into(), number(&|t| t.pair_score)),
            Column::new("support_score".into(), number(&|t| t.support_score)),
            Column::new("needs_met".into(), text(&|t| reference.themes.ids_of(t.needs_met(f)))),
            Column::new("needs_backed".into(), text(&|t| reference.themes.ids_of(t.backed))),
            Column::new("reason".into(), text(reason)),
        ],
    )
}
