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
//!
//! Support proposals are the same triads seen from the third's side, for the supporters
//! that take no other role (donors): each one's best `k` beneficiaries, one triad each,
//! under any definition (which only labels them triangular or South-South), with no limit
//! per third. They are written as the supporter's own shortlist
//! ([`crate::output::shortlist`]), so a donor reads "fund X to learn from Y", not a list
//! of look-alikes. Time O(proposers × the beneficiaries needing what each backs, pruned),
//! memory O(beneficiaries × beam + proposers × k).

use std::cmp::Ordering;

use polars::prelude::*;
use rayon::prelude::*;

use crate::engine::features::PartnerFeatures;
use crate::engine::modality::{south_south, Modality, TriangularDefinition};
use crate::engine::profile::{IdSet, Profile};
use crate::engine::rank::top_k::{Hit, TopK};
use crate::engine::rank::Shortlist;
use crate::engine::reference::Reference;
use crate::engine::rules::RuleSet;
use crate::engine::score::{need_coverage, Scorer};
use crate::engine::support::{Support, SupportRole, Supporters};
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

    /// What kind of cooperation the backed exchange is: triangular when the definition
    /// admits the third, else a South-South exchange with a backer the definition does not
    /// count (a southern fund, say).
    pub fn modality(&self, f: &PartnerFeatures, definition: TriangularDefinition) -> Modality {
        backed_modality(f, definition, self.third)
    }
}

/// The modality of a South-South exchange backed by `third`: triangular when the definition
/// admits it, else South-South.
pub fn backed_modality(f: &PartnerFeatures, definition: TriangularDefinition, third: PartnerIdx) -> Modality {
    if definition.supports(f, third as usize) {
        Modality::Triangular
    } else {
        Modality::SouthSouth
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

/// A South-South exchange a beneficiary's list proposes: the provider, score(provider,
/// beneficiary) and the beneficiary's needs it meets.
struct Exchange {
    provider: PartnerIdx,
    pair_score: f32,
    met: IdSet,
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

    /// The South-South exchanges `list` proposes to its partner: its first `beam`
    /// candidates that provide a need of it.
    fn exchanges(&self, list: &Shortlist) -> Vec<Exchange> {
        let b = list.partner;
        list.hits.iter().filter(|h| self.provides(h.candidate, b)).take(self.beam).map(|h| self.exchange(h.candidate, b)).collect()
    }

    fn exchange(&self, provider: PartnerIdx, beneficiary: PartnerIdx) -> Exchange {
        let f = self.scorer.features();
        let met = f.offers[provider as usize].intersection(f.needs[beneficiary as usize]);
        Exchange { provider, pair_score: self.scorer.score(provider, beneficiary), met }
    }

    /// The triad of `beneficiary`'s `exchange` backed by `third`, whose support for the
    /// beneficiary is `support`: when the third's links to both pass the rules and it backs a
    /// need the provider meets. The triangular definition is not asked here: it decides
    /// which triads `all` proposes and how a support proposal is labelled.
    fn backing(&self, beneficiary: PartnerIdx, exchange: &Exchange, third: PartnerIdx, support: &Support) -> Option<Triad> {
        let f = self.scorer.features();
        let provider = exchange.provider;
        let backed = support.backed_needs.intersection(exchange.met);
        let admitted = third != beneficiary && third != provider && self.rules.admits_support(f, third, beneficiary) && self.rules.admits_support(f, third, provider);
        (admitted && !backed.is_empty()).then_some(Triad {
            beneficiary,
            provider,
            third,
            score: 0.5 * exchange.pair_score + 0.5 * support.score,
            pair_score: exchange.pair_score,
            support_score: support.score,
            role: support.role,
            backed,
        })
    }

    /// The triad of three partners under any definition, when they form one: the provider
    /// provides, the third may support and backs a need the provider meets. What a support
    /// proposal is; the scalar check and score a found proposal is tested against.
    pub fn proposal(&self, beneficiary: PartnerIdx, provider: PartnerIdx, third: PartnerIdx) -> Option<Triad> {
        if !self.is_beneficiary(beneficiary as usize) || !self.provides(provider, beneficiary) {
            return None;
        }
        let support = self.supporters.support(third, beneficiary)?;
        self.backing(beneficiary, &self.exchange(provider, beneficiary), third, &support)
    }

    /// The triad of three partners, when they form one: a [`proposal`](Self::proposal)
    /// whose third the definition admits. The scalar check a found triad is tested against.
    pub fn triad(&self, beneficiary: PartnerIdx, provider: PartnerIdx, third: PartnerIdx) -> Option<Triad> {
        let admitted = self.definition.supports(self.scorer.features(), third as usize);
        admitted.then(|| self.proposal(beneficiary, provider, third)).flatten()
    }

    /// Triads of every beneficiary with a list among `lists`, in beneficiary order, each
    /// beneficiary's best first.
    pub fn all(&self, lists: &[Shortlist]) -> Vec<Triad> {
        let f = self.scorer.features();
        let lists: Vec<&Shortlist> = lists.iter().filter(|l| self.is_beneficiary(l.partner as usize)).collect();
        let beneficiaries: Vec<PartnerIdx> = lists.iter().map(|l| l.partner).collect();
        let admitted = self.supporters.only(|t| self.definition.supports(f, t as usize));
        let admits = |t: PartnerIdx, b: PartnerIdx| self.rules.admits_support(f, t, b);
        let thirds = admitted.resource_lists(&beneficiaries, self.thirds, &admits);
        let offered: Vec<Triad> = lists
            .par_iter()
            .zip(thirds)
            .flat_map_iter(|(list, thirds)| {
                let b = list.partner;
                let exchanges = self.exchanges(list);
                let supports = thirds.iter().filter_map(|t| Some((t.candidate, self.supporters.support(t.candidate, b)?)));
                let mut found: Vec<Triad> = supports.flat_map(|(t, support)| exchanges.iter().filter_map(|x| self.backing(b, x, t, &support)).collect::<Vec<_>>()).collect();
                found.sort_by(best_first);
                found.truncate(self.per_beneficiary.saturating_mul(OFFERED_PER_KEPT));
                found
            })
            .collect();
        self.grant(offered)
    }

    /// The support proposals of each of `proposers` (supporters): the `k` beneficiaries it
    /// could best support, each with its best exchange (a triad with it as the third), best
    /// first. Every supporter is asked, whatever the definition; no limit per third applies
    /// (these are what it could choose from, not an allocation).
    ///
    /// Exact and pruned: a proposer visits only the beneficiaries needing a theme it backs
    /// (an index by theme, each theme's beneficiaries by their best exchange's pair score,
    /// best first), and leaves a theme once the `k`-th proposal beats what the rest could
    /// reach (half their best pair score plus half the most the proposer's support can be).
    pub fn proposals(&self, lists: &[Shortlist], proposers: &[PartnerIdx], k: usize) -> Vec<Vec<Triad>> {
        let f = self.scorer.features();
        let beneficiaries: Vec<(PartnerIdx, Vec<Exchange>)> = lists
            .par_iter()
            .filter(|l| self.is_beneficiary(l.partner as usize))
            .map(|l| (l.partner, self.exchanges(l)))
            .filter(|(_, exchanges)| !exchanges.is_empty())
            .collect();
        let best_pair: Vec<f32> = beneficiaries.iter().map(|(_, x)| x.iter().map(|x| x.pair_score).fold(f32::MIN, f32::max)).collect();
        let mut needing: Vec<Vec<u32>> = vec![Vec::new(); 64];
        for (at, (b, _)) in beneficiaries.iter().enumerate() {
            for theme in f.needs[*b as usize].iter() {
                needing[theme as usize].push(at as u32);
            }
        }
        for list in &mut needing {
            list.sort_by(|&x, &y| best_pair[y as usize].total_cmp(&best_pair[x as usize]).then(x.cmp(&y)));
        }
        let best_triad = |third: PartnerIdx, at: usize| {
            let (b, exchanges) = &beneficiaries[at];
            let support = self.supporters.support(third, *b)?;
            exchanges.iter().filter_map(|x| self.backing(*b, x, third, &support)).min_by(best_first)
        };
        proposers
            .par_iter()
            .map_init(
                || vec![PartnerIdx::MAX; beneficiaries.len()],
                |visited_for, &third| {
                    // One triad per beneficiary: ranked by score, ties by beneficiary, as `best_first`.
                    let mut top = TopK::new(k);
                    let most_support = self.supporters.most_support(third);
                    for theme in self.supporters.backs(third).iter() {
                        for &at in &needing[theme as usize] {
                            let at = at as usize;
                            // The margin covers float rounding: a score and its bound are summed differently.
                            if top.kth().is_some_and(|kth| kth > 0.5 * best_pair[at] + 0.5 * most_support + 1e-4) {
                                break;
                            }
                            if std::mem::replace(&mut visited_for[at], third) != third {
                                if let Some(triad) = best_triad(third, at) {
                                    top.push(Hit { candidate: at as PartnerIdx, score: triad.score });
                                }
                            }
                        }
                    }
                    top.into_sorted().iter().filter_map(|hit| best_triad(third, hit.candidate as usize)).collect()
                },
            )
            .collect()
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
