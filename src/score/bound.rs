//! Bound: how high can a partner's score go with any member of a group of candidates?
//!
//! Input: a [`Scorer`] and a group of candidates (a block of blocked mode), summarised once by
//! [`GroupSummary::of`]. Output: [`Scorer::group_bound`], a value no member's score with the
//! partner exceeds, from a bound per term (then combined by the one formula, which is
//! monotone in every term):
//!
//! | term | bound over the group's members j |
//! |---|---|
//! | complementarity, mutual_benefit | the two coverages at their group maxima: over i's offers, each theme's largest share of a member's need mass; over i's needs, those any member offers |
//! | context | the best of status, income and city size over the values present, and a shared language when one may be shared (languages hashed to 64 bits) |
//! | values | per value, the closest the group's range comes to i's value (0.5 where either side does not know it) |
//! | geography | the kernel at the chord from i to the group's bounding ball (the arc is longer); the region share when a member is in i's sub-region |
//! | sector | `\|S_i ∩ ∪ S_j\| / \|S_i\|` (a Jaccard index is at most the overlap over one side's size) |
//! | actor_type | the best compatibility of i's type with a type in the group |
//!
//! Blocked mode scans a partner's groups in descending bound and stops at a group whose bound
//! is below the partner's list floor: no member can enter. **Invariant:** never below the
//! score of any member (tested on every pair of generated populations).

use crate::features::{weighted_count, PartnerFeatures};
use crate::profile::{IdSet, VALUE_COUNT};
use crate::score::{combine, income_closeness, size_closeness, ContextKey, Scorer, Term, EARTH_RADIUS_KM, TERM_COUNT};
use crate::{PartnerIdx, Score};

/// What the bound needs to know of a group of candidates.
#[derive(Clone, Debug)]
pub struct GroupSummary {
    /// Per theme, the largest `weight / need mass` among members that need it and may benefit.
    need_share: [f32; 64],
    /// Themes offered by members that may provide.
    offered: u64,
    /// Sectors of any member.
    sectors: u64,
    /// Actor types present (bit per type index; types beyond 63 set bit 63).
    actor_types: u64,
    /// Sub-regions present (bit per index; indices beyond 63 set bit 63).
    sub_regions: u64,
    /// Mean of the members' unit vectors, and the largest distance of a member from it.
    center: [f32; 3],
    radius: f32,
    /// Per value, the smallest and largest known value (+inf, -inf when nobody knows it).
    values_min: [f32; VALUE_COUNT],
    values_max: [f32; VALUE_COUNT],
    /// Values some member does not know.
    values_unknown: u8,
    /// Development status present (bit 0 North, bit 1 South), income ranks and city
    /// classes present (bit per rank or class).
    developing: u8,
    income: u8,
    city_class: u8,
    /// Languages spoken, hashed to a bit each (index mod 64).
    languages: u64,
}

fn bit(index: usize) -> u64 {
    1 << index.min(63)
}

impl GroupSummary {
    /// Summarises `members` (not empty).
    pub fn of(f: &PartnerFeatures, members: &[PartnerIdx]) -> Self {
        let mut summary = GroupSummary {
            need_share: [0.0; 64],
            offered: 0,
            sectors: 0,
            actor_types: 0,
            sub_regions: 0,
            center: [0.0; 3],
            radius: 0.0,
            values_min: [f32::INFINITY; VALUE_COUNT],
            values_max: [f32::NEG_INFINITY; VALUE_COUNT],
            values_unknown: 0,
            developing: 0,
            income: 0,
            city_class: 0,
            languages: 0,
        };
        for &j in members {
            let j = j as usize;
            if f.can_benefit[j] {
                for t in f.needs[j].iter() {
                    let share = f.theme_weight[t as usize] / f.need_mass[j];
                    summary.need_share[t as usize] = summary.need_share[t as usize].max(share);
                }
            }
            if f.can_provide[j] {
                summary.offered |= f.offers[j].0;
            }
            summary.sectors |= f.sectors[j].0;
            summary.actor_types |= bit(f.actor[j] as usize);
            summary.sub_regions |= bit(f.sub_region[j] as usize);
            for c in 0..3 {
                summary.center[c] += f.unit[j][c] / members.len() as f32;
            }
            for v in 0..VALUE_COUNT {
                if f.values_known[j] & (1 << v) != 0 {
                    summary.values_min[v] = summary.values_min[v].min(f.values[j][v]);
                    summary.values_max[v] = summary.values_max[v].max(f.values[j][v]);
                } else {
                    summary.values_unknown |= 1 << v;
                }
            }
            summary.developing |= 1 << u8::from(f.developing[j]);
            summary.income |= 1 << f.income[j];
            summary.city_class |= 1 << f.city_class[j];
            summary.languages |= language_bits(&f.languages[j]);
        }
        summary.radius = members.iter().map(|&j| chord(&f.unit[j as usize], &summary.center)).fold(0.0, f32::max);
        summary
    }
}

fn language_bits(languages: &[u16]) -> u64 {
    languages.iter().filter(|&&l| l != u16::MAX).fold(0, |bits, &l| bits | 1 << (l % 64))
}

/// The best context term over the statuses, income ranks and city classes present.
fn context_bound(mine: ContextKey, group: &GroupSummary, shared: f32) -> f32 {
    let present = |mask: u8, value: u8| mask & (1 << value) != 0;
    let best = |values: std::ops::Range<u8>, mask: u8, closeness: fn(u8, u8) -> f32, own: u8| {
        values.filter(|&v| present(mask, v)).map(|v| closeness(own, v)).fold(f32::NEG_INFINITY, f32::max)
    };
    let status = if present(group.developing, u8::from(mine.developing)) { 1.0 } else { 0.0 };
    let income = best(0..5, group.income, income_closeness, mine.income);
    let mut bound = f32::NEG_INFINITY;
    if mine.city_class == 0 || present(group.city_class, 0) {
        bound = bound.max((status + income + shared) / 3.0);
    }
    if mine.city_class != 0 {
        let size = best(1..5, group.city_class, size_closeness, mine.city_class);
        bound = bound.max((status + income + shared + size) / 4.0);
    }
    bound
}

fn chord(u: &[f32; 3], v: &[f32; 3]) -> f32 {
    ((u[0] - v[0]).powi(2) + (u[1] - v[1]).powi(2) + (u[2] - v[2]).powi(2)).sqrt()
}

impl Scorer<'_> {
    /// An upper bound of `score(i, j)` over the members j of the group.
    pub fn group_bound(&self, i: PartnerIdx, group: &GroupSummary) -> Score {
        let f = self.features;
        let i = i as usize;
        let forward = if f.can_provide[i] {
            f.offers[i].iter().map(|t| group.need_share[t as usize]).sum::<f32>().min(1.0)
        } else {
            0.0
        };
        let backward = if f.can_benefit[i] && f.need_mass[i] > 0.0 {
            let met = f.needs[i].0 & group.offered;
            (weighted_count(IdSet(met), &f.theme_weight) / f.need_mass[i]).min(1.0)
        } else {
            0.0
        };
        let mut raw = [1.0; TERM_COUNT];
        raw[Term::Complementarity as usize] = forward.max(backward);
        raw[Term::MutualBenefit as usize] = self.settings.mutual.fuse(forward, backward);

        let kernel = self.settings.geography;
        let nearest = (chord(&f.unit[i], &group.center) - group.radius).max(0.0);
        let distance = (-(nearest * EARTH_RADIUS_KM) / kernel.scale_km).exp();
        let same_region = if group.sub_regions & bit(f.sub_region[i] as usize) != 0 { 1.0 } else { 0.0 };
        raw[Term::Geography as usize] = (1.0 - kernel.region_share) * distance + kernel.region_share * same_region;

        let shared = if language_bits(&f.languages[i]) & group.languages != 0 { 1.0 } else { 0.0 };
        raw[Term::Context as usize] = context_bound(ContextKey::of(f, i), group, shared);
        let mut values = 0.0;
        for v in 0..VALUE_COUNT {
            let (low, high) = (group.values_min[v], group.values_max[v]);
            values += if f.values_known[i] & (1 << v) == 0 || low > high {
                0.5
            } else {
                let mine = f.values[i][v];
                let closest = 1.0 - (low - mine).max(mine - high).max(0.0);
                if group.values_unknown & (1 << v) != 0 { closest.max(0.5) } else { closest }
            };
        }
        raw[Term::Values as usize] = values / VALUE_COUNT as f32;

        let sectors = f.sectors[i].0;
        raw[Term::Sector as usize] = if sectors == 0 {
            0.0
        } else {
            (sectors & group.sectors).count_ones() as f32 / sectors.count_ones() as f32
        };
        let row = &self.compatibility[f.actor[i] as usize * self.actor_types..][..self.actor_types];
        raw[Term::ActorType as usize] = row
            .iter()
            .enumerate()
            .filter(|&(a, _)| group.actor_types & bit(a) != 0)
            .map(|(_, &c)| c)
            .fold(0.0, f32::max);
        // Slack for rounding: the terms above are computed in other orders than the score.
        combine(&self.settings.weights, &raw).0 * (1.0 + 1e-5) + 1e-6
    }
}
