//! Linear: the part of the score that is an inner product, for `run --export-matrices`.
//!
//! Input: a [`Scorer`]. Output: for every partner a query row and a candidate row of width
//! [`Linear::width`] such that `query(i) · candidate(j)` is the inner-product part of
//! `score(i, j)`: the sum over terms of the term's weight times its linear part. The rest of
//! the score is what no inner product of per-partner vectors can carry; the pair kernel
//! ([`super::tile`]) computes it per pair. With `fwd`, `bwd` the two need coverages:
//!
//! | term | linear part (in the rows) | the rest (per pair) |
//! |---|---|---|
//! | complementarity | `(fwd + bwd) / 2` | `\|fwd − bwd\| / 2` (the max is the mean plus half the gap) |
//! | mutual_benefit | mean, min, max: `(fwd + bwd) / 2`; harmonic: none | `∓\|fwd − bwd\| / 2`; harmonic: all |
//! | context | status, income, city size: a table over the 50 joint classes | the shared language |
//! | geography | the same-sub-region share | the distance kernel |
//! | values | 0.5 per value, plus 0.5 per value both know | `−\|a − b\|` per value both know |
//! | sector | none | Jaccard |
//! | actor_type | all: the table row of one side times the other's one-hot | none |
//!
//! Row layout: `[offers or needs (themes) | needs or offers (themes) | actor type | sub-region |
//! context class | values (1 + 8)]`; the query side carries the weights and tables.

use crate::engine::features::PartnerFeatures;
use crate::engine::profile::VALUE_COUNT;
use crate::engine::score::{context_from, ContextKey, MutualRule, Scorer, Term};
use crate::PartnerIdx;

/// Development status × income rank × city class.
const CONTEXT_CLASSES: usize = 2 * 5 * 5;

/// The linear part of a scorer's score, as rows.
pub struct Linear<'a> {
    scorer: &'a Scorer<'a>,
    themes: usize,
    regions: usize,
}

fn class_of(key: ContextKey) -> usize {
    (usize::from(key.developing) * 5 + key.income as usize) * 5 + key.city_class as usize
}

fn key_of_class(class: usize) -> ContextKey {
    ContextKey {
        developing: class / 25 == 1,
        income: (class / 5 % 5) as u8,
        city_class: (class % 5) as u8,
    }
}

impl<'a> Linear<'a> {
    /// The rows of `scorer`'s score.
    pub fn new(scorer: &'a Scorer<'a>) -> Self {
        let f = scorer.features();
        Linear {
            scorer,
            themes: f.theme_count(),
            regions: f.sub_region.iter().map(|&r| r as usize + 1).max().unwrap_or(0),
        }
    }

    /// Row width.
    pub fn width(&self) -> usize {
        2 * self.themes + self.scorer.actor_types + self.regions + CONTEXT_CLASSES + 1 + VALUE_COUNT
    }

    fn weight(&self, term: Term) -> f32 {
        self.scorer.weights().0[term as usize]
    }

    /// Coefficient of `fwd + bwd` in the score.
    fn coverage_coefficient(&self) -> f32 {
        let mutual = match self.scorer.settings.mutual {
            MutualRule::Harmonic => 0.0,
            MutualRule::Min | MutualRule::Mean | MutualRule::Max => 0.5,
        };
        0.5 * self.weight(Term::Complementarity) + mutual * self.weight(Term::MutualBenefit)
    }

    /// Partner `i` as a query, into `out` (of [`Linear::width`]).
    pub fn query_row(&self, i: PartnerIdx, out: &mut [f32]) {
        let (f, i) = (self.scorer.features(), i as usize);
        out.fill(0.0);
        let alpha = self.coverage_coefficient();
        let [offers, needs, actor, region, context, values] = self.blocks(out);
        coverage_rows(f, i, offers, needs);
        offers.iter_mut().chain(needs.iter_mut()).for_each(|x| *x *= alpha);
        let types = self.scorer.actor_types;
        let row = &self.scorer.compatibility[f.actor[i] as usize * types..][..types];
        let w = self.weight(Term::ActorType);
        actor.iter_mut().zip(row).for_each(|(x, &c)| *x = w * c);
        let share = self.scorer.settings.geography.region_share;
        region[f.sub_region[i] as usize] = self.weight(Term::Geography) * share;
        let mine = ContextKey::of(f, i);
        let w = self.weight(Term::Context);
        for (class, x) in context.iter_mut().enumerate() {
            *x = w * context_from(mine, key_of_class(class), 0.0);
        }
        let w = self.weight(Term::Values) / VALUE_COUNT as f32;
        values[0] = w * 0.5 * VALUE_COUNT as f32;
        for v in 0..VALUE_COUNT {
            if f.values_known[i] & (1 << v) != 0 {
                values[1 + v] = w * 0.5;
            }
        }
    }

    /// Partner `j` as a candidate, into `out` (of [`Linear::width`]).
    pub fn candidate_row(&self, j: PartnerIdx, out: &mut [f32]) {
        let (f, j) = (self.scorer.features(), j as usize);
        out.fill(0.0);
        let [offers, needs, actor, region, context, values] = self.blocks(out);
        // The candidate's needs meet the query's offers, and the other way round.
        coverage_rows(f, j, needs, offers);
        actor[f.actor[j] as usize] = 1.0;
        region[f.sub_region[j] as usize] = 1.0;
        context[class_of(ContextKey::of(f, j))] = 1.0;
        values[0] = 1.0;
        for v in 0..VALUE_COUNT {
            if f.values_known[j] & (1 << v) != 0 {
                values[1 + v] = 1.0;
            }
        }
    }

    fn blocks<'o>(&self, out: &'o mut [f32]) -> [&'o mut [f32]; 6] {
        let (offers, rest) = out.split_at_mut(self.themes);
        let (needs, rest) = rest.split_at_mut(self.themes);
        let (actor, rest) = rest.split_at_mut(self.scorer.actor_types);
        let (region, rest) = rest.split_at_mut(self.regions);
        let (context, values) = rest.split_at_mut(CONTEXT_CLASSES);
        [offers, needs, actor, region, context, values]
    }
}

/// A partner's offers (1 where it may provide) and needs (weight over need mass, where it may
/// benefit): `offers_i · needs_j` is the coverage of j's needs by i.
fn coverage_rows(f: &PartnerFeatures, i: usize, offers: &mut [f32], needs: &mut [f32]) {
    if f.can_provide[i] {
        f.offers[i].iter().for_each(|t| offers[t as usize] = 1.0);
    }
    if f.can_benefit[i] {
        f.needs[i].iter().for_each(|t| needs[t as usize] = f.theme_weight[t as usize] / f.need_mass[i]);
    }
}
