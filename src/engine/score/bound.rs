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
//! needs each partner's bound with every leaf block: [`Scorer::bounds_with`] computes the same
//! terms from the leaves' summaries as columns ([`SummaryColumns`]), a pass per term that the
//! compiler vectorises, with geography's exponential bounded by a series (a call of `expf`
//! does not vectorise); a partner chooses the blocks of its best bounds, and skips a block
//! whose bound is below its list floor: no member can enter. [`Scorer::pair_bound`] is the
//! one-pair form, the tests' oracle. **Invariant:** never below the score of any pair (tested
//! on generated populations, for single partners and for groups on both sides).

use std::ops::Range;

use crate::engine::features::PartnerFeatures;
use crate::engine::profile::{IdSet, VALUE_COUNT};
use crate::engine::features::EARTH_RADIUS_KM;
use crate::engine::score::{combine, income_closeness, size_closeness, MutualRule, Scorer, Term, TERM_COUNT};
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

/// A bound with slack for rounding: its terms are computed, and summed, in other orders than
/// the score's.
#[inline(always)]
fn with_slack(bound: Score) -> Score {
    bound * (1.0 + 1e-5) + 1e-6
}

/// The best `closeness` of a rank (or class) in `mask_a` with one in `mask_b` (bit masks).
fn best_closeness(mask_a: u8, mask_b: u8, closeness: fn(u8, u8) -> f32) -> f32 {
    let mut best = f32::NEG_INFINITY;
    for x in IdSet(u64::from(mask_a)).iter() {
        for y in IdSet(u64::from(mask_b)).iter() {
            best = best.max(closeness(x, y));
        }
    }
    best
}

/// The best context term over the statuses, income ranks and city classes present on
/// each side.
fn context_bound(a: &GroupSummary, b: &GroupSummary, shared: f32) -> f32 {
    let best = best_closeness;
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
    /// The best actor-type term between a type of `a` and a type of `b` (bit masks of types;
    /// bit 63 stands for every type from 63 on).
    fn best_actor_term(&self, a: u64, b: u64) -> f32 {
        let types = |mask: u64| IdSet(mask).iter().flat_map(|x| x as usize..if x == 63 { self.actor_types } else { x as usize + 1 });
        let mut actor = 0.0f32;
        for x in types(a) {
            let row = &self.compatibility[x * self.actor_types..][..self.actor_types];
            for y in types(b) {
                actor = actor.max(row[y]);
            }
        }
        actor
    }

    /// An upper bound of `score(i, j)` over the members i of `a` and j of `b` (one pair of
    /// groups; [`Scorer::bounds_with`] for one group with many).
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
        let actor = self.best_actor_term(a.actor_types, b.actor_types);
        raw[Term::ActorType as usize] = actor;
        with_slack(combine(&self.settings.weights, &raw).0)
    }
}

/// Many groups' summaries column by column (blocked mode's leaves), so that one partner's
/// bound with every group is a few passes of straight loops the compiler vectorises
/// ([`Scorer::bounds_with`]).
pub struct SummaryColumns {
    len: usize,
    /// `need_share` theme-major: theme `t` of group `g` at `t * len + g`.
    need_share: Vec<f32>,
    offered: Vec<u64>,
    sectors: Vec<u64>,
    fewest_sectors: Vec<u32>,
    /// The group's actor type, or [`SEVERAL_TYPES`] (then `actor_types` has them).
    actor: Vec<u8>,
    actor_types: Vec<u64>,
    sub_regions: Vec<u64>,
    center: [Vec<f32>; 3],
    radius: Vec<f32>,
    values_min: [Vec<f32>; VALUE_COUNT],
    values_max: [Vec<f32>; VALUE_COUNT],
    values_unknown: Vec<u8>,
    developing: Vec<u8>,
    income: Vec<u8>,
    city_class: Vec<u8>,
    languages: Vec<u64>,
}

/// [`SummaryColumns`]' actor type of a group of several types (or of a type beyond 62): rare
/// (a leaf of blocked mode has one type), and bounded type by type.
const SEVERAL_TYPES: u8 = 63;

impl SummaryColumns {
    /// The columns of `groups`, in their order.
    pub fn of(groups: &[GroupSummary]) -> Self {
        let len = groups.len();
        let column = |field: &dyn Fn(&GroupSummary) -> f32| groups.iter().map(field).collect::<Vec<f32>>();
        let mut need_share = vec![0.0; 64 * len];
        for (g, group) in groups.iter().enumerate() {
            for t in IdSet(group.needed).iter().map(usize::from) {
                need_share[t * len + g] = group.need_share[t];
            }
        }
        SummaryColumns {
            len,
            need_share,
            offered: groups.iter().map(|g| g.offered).collect(),
            sectors: groups.iter().map(|g| g.sectors).collect(),
            fewest_sectors: groups.iter().map(|g| g.fewest_sectors).collect(),
            actor: groups.iter().map(|g| if g.actor_types.is_power_of_two() && g.actor_types.trailing_zeros() < u32::from(SEVERAL_TYPES) { g.actor_types.trailing_zeros() as u8 } else { SEVERAL_TYPES }).collect(),
            actor_types: groups.iter().map(|g| g.actor_types).collect(),
            sub_regions: groups.iter().map(|g| g.sub_regions).collect(),
            center: [0, 1, 2].map(|x| column(&|g| g.center[x])),
            radius: column(&|g| g.radius),
            values_min: std::array::from_fn(|v| column(&|g| g.values_min[v])),
            values_max: std::array::from_fn(|v| column(&|g| g.values_max[v])),
            values_unknown: groups.iter().map(|g| g.values_unknown).collect(),
            developing: groups.iter().map(|g| g.developing).collect(),
            income: groups.iter().map(|g| g.income).collect(),
            city_class: groups.iter().map(|g| g.city_class).collect(),
            languages: groups.iter().map(|g| g.languages).collect(),
        }
    }
}

/// An upper bound of `exp(-x)` for `x ≥ 0`: the reciprocal of the first five terms of the
/// series of `exp(x)` (all positive, so their sum is at most `exp(x)`), in a form the
/// compiler vectorises (a call of `expf` is not).
#[inline(always)]
fn exp_neg_above(x: f32) -> f32 {
    1.0 / (1.0 + x * (1.0 + x * 0.5 * (1.0 + x * (1.0 / 3.0) * (1.0 + x * 0.25))))
}

impl Scorer<'_> {
    /// For each of `members` (groups themselves, or partners alone) and every group of
    /// `groups`, an upper bound of `score(i, j)` over the members i of the one and j of the
    /// other: [`Scorer::pair_bound`]'s terms, but geography's kernel bounded by
    /// [`exp_neg_above`] (never below it, and near it). The groups are read a chunk at a time
    /// for all of `members`, so each chunk comes from memory once.
    pub fn bounds_with(&self, members: &[GroupSummary], groups: &SummaryColumns) -> Vec<Vec<Score>> {
        let simd = super::simd::Simd::best();
        let sides: Vec<Side> = members.iter().map(|a| Side::of(self, a)).collect();
        let mut bounds = vec![vec![0.0; groups.len]; members.len()];
        for start in (0..groups.len).step_by(CHUNK) {
            let chunk = start..groups.len.min(start + CHUNK);
            for (side, out) in sides.iter().zip(&mut bounds) {
                simd.dispatch(BoundsWork { scorer: self, side, groups, chunk: chunk.clone(), out: &mut out[chunk.clone()] });
            }
        }
        bounds
    }
}

/// Groups [`Scorer::bounds_with`] reads at a time: their columns fit in the core's cache.
const CHUNK: usize = 512;

/// One side of [`Scorer::bounds_with`]: its summary, and its best income, city-size and
/// actor-type term with each set a group may hold, looked up by the set.
struct Side<'a> {
    a: &'a GroupSummary,
    income: [f32; 256],
    size: [f32; 256],
    actor: [f32; 64],
}

impl<'a> Side<'a> {
    fn of(scorer: &Scorer, a: &'a GroupSummary) -> Self {
        let best = best_closeness;
        let actor = std::array::from_fn(|y| if y < scorer.actor_types.min(usize::from(SEVERAL_TYPES)) { scorer.best_actor_term(a.actor_types, bit(y)) } else { 0.0 });
        Side {
            a,
            income: std::array::from_fn(|m| best(a.income, m as u8, income_closeness)),
            size: std::array::from_fn(|m| best(a.city_class & !1, m as u8 & !1, size_closeness)),
            actor,
        }
    }
}

/// One side against one chunk of groups in [`Scorer::bounds_with`], compiled per
/// instruction set.
struct BoundsWork<'s, 'a> {
    scorer: &'s Scorer<'a>,
    side: &'s Side<'s>,
    groups: &'s SummaryColumns,
    chunk: Range<usize>,
    out: &'s mut [f32],
}

impl super::simd::Work for BoundsWork<'_, '_> {
    type Output = ();

    #[inline(always)]
    fn run(self) {
        let BoundsWork { scorer, side, groups: g, chunk, out } = self;
        let a = side.a;
        let (n, len) = (g.len, chunk.len());
        let settings = &scorer.settings;
        let w = |t: Term| settings.weights.0[t as usize];
        // Every loop below is straight over the chunk's columns, branches written as
        // selects, so that the compiler turns each into SIMD.
        let mut forward = [0.0f32; CHUNK];
        for t in IdSet(a.offered).iter().map(usize::from) {
            for (sum, &share) in forward.iter_mut().zip(&g.need_share[t * n..][chunk.clone()]) {
                *sum += share;
            }
        }
        let mut backward = [0.0f32; CHUNK];
        for t in IdSet(a.needed).iter() {
            let share = a.need_share[t as usize];
            for (sum, &offered) in backward.iter_mut().zip(&g.offered[chunk.clone()]) {
                *sum += if offered >> t & 1 == 1 { share } else { 0.0 };
            }
        }
        let (wc, wm) = (w(Term::Complementarity), w(Term::MutualBenefit));
        let coverage = |out: &mut [f32], rule: MutualRule| {
            for ((o, &f), &b) in out.iter_mut().zip(&forward[..len]).zip(&backward[..len]) {
                let (f, b) = (f.min(1.0), b.min(1.0));
                *o = wc * f.max(b) + wm * rule.fuse(f, b);
            }
        };
        // One loop per rule, each with its rule folded in.
        match settings.mutual {
            MutualRule::Harmonic => coverage(out, MutualRule::Harmonic),
            MutualRule::Min => coverage(out, MutualRule::Min),
            MutualRule::Mean => coverage(out, MutualRule::Mean),
            MutualRule::Max => coverage(out, MutualRule::Max),
        }

        let kernel = settings.geography;
        let scale = EARTH_RADIUS_KM / kernel.scale_km;
        let (wg, share) = (w(Term::Geography), kernel.region_share);
        let [x, y, z] = &g.center;
        for ((((o, &x), &y), &z), (&radius, &regions)) in out.iter_mut().zip(&x[chunk.clone()]).zip(&y[chunk.clone()]).zip(&z[chunk.clone()]).zip(g.radius[chunk.clone()].iter().zip(&g.sub_regions[chunk.clone()])) {
            let d = [a.center[0] - x, a.center[1] - y, a.center[2] - z];
            let nearest = ((d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt() - (a.radius + radius)).max(0.0);
            let same_region = if a.sub_regions & regions != 0 { 1.0 } else { 0.0 };
            *o += wg * ((1.0 - share) * exp_neg_above(nearest * scale) + share * same_region);
        }

        // The tables' lookups in loops of their own: a loop with them is not vectorised.
        let mut income = [0.0f32; CHUNK];
        let mut size = [0.0f32; CHUNK];
        for ((income, size), (&ranks, &classes)) in income.iter_mut().zip(&mut size).zip(g.income[chunk.clone()].iter().zip(&g.city_class[chunk.clone()])) {
            (*income, *size) = (side.income[usize::from(ranks)], side.size[usize::from(classes)]);
        }
        let wx = w(Term::Context);
        let a_cities = a.city_class & !1 != 0;
        for (((o, &developing), &languages), ((&classes, &income), &size)) in out.iter_mut().zip(&g.developing[chunk.clone()]).zip(&g.languages[chunk.clone()]).zip(g.city_class[chunk.clone()].iter().zip(&income).zip(&size)) {
            let status = if a.developing & developing != 0 { 1.0 } else { 0.0 };
            let shared = if a.languages & languages != 0 { 1.0 } else { 0.0 };
            let base = status + income + shared;
            let towns = if (a.city_class | classes) & 1 != 0 { base / 3.0 } else { f32::NEG_INFINITY };
            let cities = if a_cities & (classes & !1 != 0) { (base + size) / 4.0 } else { f32::NEG_INFINITY };
            *o += wx * towns.max(cities);
        }

        let mut values = [0.0f32; CHUNK];
        for v in 0..VALUE_COUNT {
            let (a_low, a_high) = (a.values_min[v], a.values_max[v]);
            let a_known = a_low <= a_high;
            let a_unknown = a.values_unknown & 1 << v != 0;
            for ((sum, &low), (&high, &unknown)) in values.iter_mut().zip(&g.values_min[v][chunk.clone()]).zip(g.values_max[v][chunk.clone()].iter().zip(&g.values_unknown[chunk.clone()])) {
                let gap: f32 = (a_low - high).max(low - a_high).max(0.0);
                let agreement = if a_unknown || unknown & 1 << v != 0 { (1.0 - gap).max(0.5) } else { 1.0 - gap };
                *sum += if !a_known || low > high { 0.5 } else { agreement };
            }
        }
        let wv = w(Term::Values);
        for (o, v) in out.iter_mut().zip(&values[..len]) {
            *o += wv * (v / VALUE_COUNT as f32);
        }

        let ws = w(Term::Sector);
        for ((o, &sectors), &fewest) in out.iter_mut().zip(&g.sectors[chunk.clone()]).zip(&g.fewest_sectors[chunk.clone()]) {
            let overlap = (a.sectors & sectors).count_ones();
            let sector = (overlap as f32 / a.fewest_sectors.max(fewest) as f32).min(1.0);
            *o += ws * if overlap == 0 { 0.0 } else { sector };
        }

        let wa = w(Term::ActorType);
        for ((o, &actor), &types) in out.iter_mut().zip(&g.actor[chunk.clone()]).zip(&g.actor_types[chunk.clone()]) {
            *o += wa * if actor == SEVERAL_TYPES { scorer.best_actor_term(a.actor_types, types) } else { side.actor[usize::from(actor)] };
        }
        for o in out.iter_mut() {
            *o = with_slack(*o);
        }
    }
}
