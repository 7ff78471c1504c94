//! Bound: how high can the score go between any member of one group of partners and any
//! member of another?
//!
//! Input: a [`Scorer`] and two groups (blocks of blocked mode, or one partner), each
//! summarised once by [`GroupSummary::of`]. Output: [`Scorer::pair_bound`], a value no
//! pair's score exceeds, from a bound per term (then combined by the one formula, which is
//! monotone in every term). With A and B the groups, i in A and j in B:
//!
//! | term | bound over the pairs |
//! |---|---|
//! | complementarity, mutual_benefit | each direction's coverage at its maximum: over the themes one group offers, the largest share each takes of a member's need mass in the other |
//! | context | the best of status, income and city size over the values present on each side, and a shared language when one may be shared (languages hashed to 64 bits) |
//! | values | per value, 1 − the gap between the two groups' ranges (0.5 where a side does not know it) |
//! | geography | the kernel at the chord between the groups' bounding balls (the arc is longer); the region share when the groups share a sub-region |
//! | sector | `\|∪S_i ∩ ∪S_j\| / max(min \|S_i\|, min \|S_j\|)` (a Jaccard index is at most the overlap over either side's size) |
//! | actor_type | the best compatibility between a type of each group |
//!
//! For a group of one partner every term but sector is that partner's own value. Blocked mode
//! opens blocks in descending bound and stops at a block whose bound is below the list floor:
//! no member can enter. **Invariant:** never below the score of any pair (tested on generated
//! populations, for single partners and for groups on both sides).

use crate::engine::features::PartnerFeatures;
use crate::engine::profile::{IdSet, VALUE_COUNT};
use crate::engine::features::EARTH_RADIUS_KM;
use crate::engine::score::{combine, income_closeness, size_closeness, Scorer, Term, TERM_COUNT};
use crate::{PartnerIdx, Score};

/// What the bound needs to know of a group of candidates.
#[derive(Clone, Debug)]
pub struct GroupSummary {
    /// Per theme, the largest `weight / need mass` among members that need it and may benefit.
    need_share: [f32; 64],
    /// Themes some member needs and may benefit: where `need_share` is not 0.
    needed: u64,
    /// Themes offered by members that may provide.
    offered: u64,
    /// Sectors of any member, and the fewest any member with sectors has.
    sectors: u64,
    fewest_sectors: u32,
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
            needed: 0,
            offered: 0,
            sectors: 0,
            fewest_sectors: u32::MAX,
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
                summary.needed |= f.needs[j].0;
                for t in f.needs[j].iter() {
                    let share = f.theme_weight[t as usize] / f.need_mass[j];
                    summary.need_share[t as usize] = summary.need_share[t as usize].max(share);
                }
            }
            if f.can_provide[j] {
                summary.offered |= f.offers[j].0;
            }
            summary.sectors |= f.sectors[j].0;
            if !f.sectors[j].is_empty() {
                summary.fewest_sectors = summary.fewest_sectors.min(f.sectors[j].0.count_ones());
            }
            summary.actor_types |= bit(f.actor[j] as usize);
            summary.sub_regions |= bit(f.sub_region[j] as usize);
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
        (summary.center, summary.radius) = ball(f, members);
        summary
    }
}

/// A ball holding the unit vectors of `members`: the mean of the vectors, and the largest
/// chord from it to a member (the origin and 0 for no members).
pub(crate) fn ball(f: &PartnerFeatures, members: &[PartnerIdx]) -> ([f32; 3], f32) {
    let mut center = [0.0; 3];
    for &j in members {
        for (sum, &x) in center.iter_mut().zip(&f.unit[j as usize]) {
            *sum += x / members.len() as f32;
        }
    }
    let radius = members.iter().map(|&j| chord(&f.unit[j as usize], &center)).fold(0.0, f32::max);
    (center, radius)
}

fn language_bits(languages: &[u16]) -> u64 {
    languages.iter().filter(|&&l| l != u16::MAX).fold(0, |bits, &l| bits | 1 << (l % 64))
}

/// The best context term over the statuses, income ranks and city classes present on
/// each side.
fn context_bound(a: &GroupSummary, b: &GroupSummary, shared: f32) -> f32 {
    let best = |mask_a: u8, mask_b: u8, closeness: fn(u8, u8) -> f32| {
        let mut best = f32::NEG_INFINITY;
        for x in IdSet(u64::from(mask_a)).iter() {
            for y in IdSet(u64::from(mask_b)).iter() {
                best = best.max(closeness(x, y));
            }
        }
        best
    };
    let status = if a.developing & b.developing != 0 { 1.0 } else { 0.0 };
    let income = best(a.income, b.income, income_closeness);
    let mut bound = f32::NEG_INFINITY;
    if (a.city_class | b.city_class) & 1 != 0 {
        bound = bound.max((status + income + shared) / 3.0);
    }
    let (a_cities, b_cities) = (a.city_class & !1, b.city_class & !1);
    if a_cities != 0 && b_cities != 0 {
        let size = best(a_cities, b_cities, size_closeness);
        bound = bound.max((status + income + shared + size) / 4.0);
    }
    bound
}

/// The chord between two unit vectors.
pub(crate) fn chord(u: &[f32; 3], v: &[f32; 3]) -> f32 {
    ((u[0] - v[0]).powi(2) + (u[1] - v[1]).powi(2) + (u[2] - v[2]).powi(2)).sqrt()
}

/// The larger share of need mass the themes one side offers cover of a member of the other
/// side, capped at 1: the sum of the other side's `need_share` over the themes offered that
/// it needs (the others add 0: a partner's bound with a group reads its few needs, not the
/// group's many offers).
fn coverage(offered: u64, needs: &GroupSummary) -> f32 {
    IdSet(offered & needs.needed).iter().map(|t| needs.need_share[t as usize]).sum::<f32>().min(1.0)
}

impl Scorer<'_> {
    /// An upper bound of `score(i, j)` over the members i of `a` and j of `b`.
    pub fn pair_bound(&self, a: &GroupSummary, b: &GroupSummary) -> Score {
        let forward = coverage(a.offered, b);
        let backward = coverage(b.offered, a);
        let mut raw = [1.0; TERM_COUNT];
        raw[Term::Complementarity as usize] = forward.max(backward);
        raw[Term::MutualBenefit as usize] = self.settings.mutual.fuse(forward, backward);

        let kernel = self.settings.geography;
        let nearest = (chord(&a.center, &b.center) - (a.radius + b.radius)).max(0.0);
        let distance = (-(nearest * EARTH_RADIUS_KM) / kernel.scale_km).exp();
        let same_region = if a.sub_regions & b.sub_regions != 0 { 1.0 } else { 0.0 };
        raw[Term::Geography as usize] = (1.0 - kernel.region_share) * distance + kernel.region_share * same_region;

        let shared = if a.languages & b.languages != 0 { 1.0 } else { 0.0 };
        raw[Term::Context as usize] = context_bound(a, b, shared);
        let mut values = 0.0;
        for v in 0..VALUE_COUNT {
            let known = |g: &GroupSummary| g.values_min[v] <= g.values_max[v];
            values += if !known(a) || !known(b) {
                0.5
            } else {
                let gap = (a.values_min[v] - b.values_max[v]).max(b.values_min[v] - a.values_max[v]).max(0.0);
                let unknown = (a.values_unknown | b.values_unknown) & (1 << v) != 0;
                if unknown { (1.0 - gap).max(0.5) } else { 1.0 - gap }
            };
        }
        raw[Term::Values as usize] = values / VALUE_COUNT as f32;

        let overlap = (a.sectors & b.sectors).count_ones();
        raw[Term::Sector as usize] = if overlap == 0 {
            0.0
        } else {
            (overlap as f32 / a.fewest_sectors.max(b.fewest_sectors) as f32).min(1.0)
        };
        // Bit 63 stands for every type from 63 on.
        let types = |mask: u64| IdSet(mask).iter().flat_map(|x| x as usize..if x == 63 { self.actor_types } else { x as usize + 1 });
        let mut actor = 0.0f32;
        for x in types(a.actor_types) {
            let row = &self.compatibility[x * self.actor_types..][..self.actor_types];
            for y in types(b.actor_types) {
                actor = actor.max(row[y]);
            }
        }
        raw[Term::ActorType as usize] = actor;
        // Slack for rounding: the terms above are computed in other orders than the score.
        combine(&self.settings.weights, &raw).0 * (1.0 + 1e-5) + 1e-6
    }
}
