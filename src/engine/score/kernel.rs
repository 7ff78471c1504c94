//! Kernel: one partner against a run of candidates at once, the hot loop of every scan.
//!
//! Input: a [`Kernel`] (the [`Scorer`], the [`RuleSet`] and the candidate [`Columns`]), one
//! partner's [`Query`], a run of up to [`TILE`] consecutive positions and the list floors
//! they must reach ([`Reach`]). Output, in a [`Tile`]: per position whether the rules admit
//! the pair (and how many pairs each rule removed), an upper bound of the score, and as bit
//! words the positions whose bound reaches the floors, with the raw value of every term but
//! geography at those; [`Kernel::exact`] finishes a position.
//!
//! Two stages for a list of its own ([`Reach::One`]). First, for every position, the terms
//! that decide most pairs: the rules, need coverage both ways (complementarity, mutual
//! benefit), sector and actor type, and a bound with context and values at their largest
//! (1) and geography at its largest over the columns (its bound at the point of the columns'
//! ball nearest to the partner: a leaf of blocked mode lies in one country), which marks the
//! same positions as the full bound and more (with the ball instead of geography at no
//! distance, the 1M blocked rank stage took 0.92× of its time). Measured on the 1M registry
//! in blocked mode with geography at no distance, about 7 % of the admitted positions reached
//! the floor; when at most a quarter of the run does, only those get the other three terms
//! and the full bound, one position at a time (the 1M blocked rank stage: 198 → 162 s, one
//! run each). Otherwise, and always for the pairwise scan's two lists, the other terms are
//! computed over the run.
//!
//! Why this shape: the first stage does a few arithmetic operations per pair, so it is written
//! as straight-line loops over columns that the compiler turns into SIMD (compiled per
//! instruction set, [`super::simd`]). One loop per term: fused into one loop over the run, or
//! over 16-lane chunks, the compiler stopped vectorising (2–3× slower, measured). On a
//! processor with AVX-512 and VPOPCNTDQ the first stage is instead fused by hand with
//! intrinsics ([`avx512`]): sixteen positions go through every rule and term in registers,
//! the same operations in the same order. Geography
//! (a square root, an arcsine and an exponential) is left to the positions whose full bound
//! can still enter a list; that bound comes from the chord `c = |u − v|` (the arc is longer)
//! as `exp(−x) ≤ 1 / (1 + x + x²/2 + x³/6)`, `x = R·c / scale`.
//!
//! **Invariant:** every raw term at a marked position equals [`Scorer::terms`] bit for bit
//! (the same IEEE operations in the same order; Rust never fuses a multiply and an add on its
//! own), so the lists do not depend on the kernel, the instruction set or the candidate order.

use std::ops::Range;

use super::columns::{Columns, TILE};
use super::query::Query;
use super::simd::{Simd, Work};
use crate::engine::features::{MAX_LANGUAGES, OTHER_LANGUAGES};
use crate::engine::profile::{IdSet, VALUE_COUNT};
use crate::engine::rules::RuleSet;
use crate::engine::features::EARTH_RADIUS_KM;
use crate::engine::score::bound::chord;
use crate::engine::score::{combine, context_from, value_agreement, ContextKey, GeographyKernel, MutualRule, Scorer, Term, TermValues, TERM_COUNT};
use crate::Score;

#[cfg(target_arch = "x86_64")]
mod avx512;

/// Everything a tile is scored against: the scorer, the rules and the candidate columns, and
/// the instruction set the kernel runs with.
pub struct Kernel<'a> {
    scorer: &'a Scorer<'a>,
    rules: &'a RuleSet,
    columns: &'a Columns,
    simd: Simd,
}

/// Scratch and results of one partner against one run of positions.
pub struct Tile {
    start: usize,
    len: usize,
    /// Whether the rules admit each position.
    admitted: [bool; TILE],
    /// Raw terms, term-major (context, geography and values at least at the marked positions;
    /// at every position when the run was computed whole), geography as its bound; the
    /// actor-type term is not copied here but read from its column ([`Tile::raw_terms`]).
    raw: [[f32; TILE]; TERM_COUNT],
    /// Upper bound of each admitted position's score (the full one at the positions the first
    /// bound marked); `-inf` where the rules refuse.
    bound: [f32; TILE],
    forward: [f32; TILE],
    backward: [f32; TILE],
    shared: [f32; TILE],
    /// Bit `o` of word `o / 64`: offset `o` reaches its [`Reach`].
    marks: [u64; TILE / 64],
    admitted_count: u64,
}

/// The list floors a tile's positions are marked against ([`Tile::marked`]): a position is
/// marked when the rules admit it and its bound reaches the floor.
#[derive(Clone, Copy, Debug)]
pub enum Reach<'a> {
    /// The partner's list alone: its floor.
    One(Score),
    /// Both lists of every pair: the partner's floor and, position by position in the run,
    /// the candidate's (the lower of the two counts).
    Both(Score, &'a [Score]),
}

impl Default for Tile {
    fn default() -> Self {
        Tile {
            start: 0,
            len: 0,
            admitted: [false; TILE],
            raw: [[0.0; TILE]; TERM_COUNT],
            bound: [0.0; TILE],
            forward: [0.0; TILE],
            backward: [0.0; TILE],
            shared: [0.0; TILE],
            marks: [0; TILE / 64],
            admitted_count: 0,
        }
    }
}

impl Tile {
    /// Whether the rules admit offset `o` and its bound reaches `floor`.
    #[inline]
    pub fn reaches(&self, o: usize, floor: Score) -> bool {
        self.admitted[o] && self.bound[o] >= floor
    }

    /// The offsets the kernel marked (see [`Reach`]), in order.
    pub fn marked(&self) -> impl Iterator<Item = usize> + '_ {
        self.marks.iter().enumerate().flat_map(|(w, &word)| IdSet(word).iter().map(move |bit| w * 64 + usize::from(bit)))
    }

    /// Number of positions the rules admitted.
    pub fn admitted_count(&self) -> u64 {
        self.admitted_count
    }

    /// The first position of the run scored last.
    pub fn start(&self) -> usize {
        self.start
    }

    /// Marks the offsets that reach `reach`, 64 to a word.
    #[inline(always)]
    fn mark(&mut self, reach: Reach) {
        for (w, word) in self.marks.iter_mut().enumerate() {
            let offsets = self.len.min(w * 64)..self.len.min(w * 64 + 64);
            let (bounds, admitted) = (&self.bound[offsets.clone()], &self.admitted[offsets.clone()]);
            *word = match reach {
                Reach::One(floor) => bits(bounds.iter().zip(admitted).map(|(&b, &a)| a & (b >= floor))),
                Reach::Both(floor, others) => {
                    let others = &others[offsets];
                    bits(bounds.iter().zip(admitted).zip(others).map(|((&b, &a), &other)| a & (b >= floor.min(other))))
                }
            };
        }
    }

    /// The raw terms at offset `o`, given its actor-type term.
    #[inline(always)]
    fn raw_terms(&self, o: usize, actor_term: f32) -> TermValues {
        let mut raw = Term::ALL.map(|t| self.raw[t as usize][o]);
        raw[Term::ActorType as usize] = actor_term;
        raw
    }
}

impl<'a> Kernel<'a> {
    /// The kernel over `columns`, with the best instruction set this processor runs.
    pub fn new(scorer: &'a Scorer<'a>, rules: &'a RuleSet, columns: &'a Columns) -> Self {
        Kernel { scorer, rules, columns, simd: Simd::best() }
    }

    /// The same kernel compiled for `simd`; panics when the processor lacks it (see
    /// [`Simd::is_supported`]). The results are the same for every instruction set.
    pub fn with_simd(self, simd: Simd) -> Self {
        assert!(simd.is_supported(), "{simd:?} is not supported by this processor");
        Kernel { simd, ..self }
    }

    /// The candidate columns.
    pub fn columns(&self) -> &'a Columns {
        self.columns
    }

    /// The scorer.
    pub fn scorer(&self) -> &'a Scorer<'a> {
        self.scorer
    }

    /// The rules.
    pub fn rules(&self) -> &'a RuleSet {
        self.rules
    }

    /// Applies the rules to positions `run` (at most [`TILE`]) for `query` and fills `tile`
    /// with their raw terms and score bounds, marking those that `reach`; adds to `removed` the
    /// pairs each rule refused.
    pub fn score_tile(&self, query: &Query, run: Range<usize>, reach: Reach, tile: &mut Tile, removed: &mut [u64]) {
        self.simd.dispatch(TileWork { kernel: self, query, run, reach, tile, removed });
    }

    /// The exact score of `query`'s partner with the candidate at offset `o` of the last run,
    /// and its raw terms (equal to [`Scorer::terms`] bit for bit). `o` must be marked: only
    /// there are all the terms computed.
    pub fn exact(&self, tile: &Tile, query: &Query, o: usize) -> (Score, TermValues) {
        debug_assert!(tile.marks[o / 64] >> (o % 64) & 1 == 1, "offset {o} is not marked");
        let c = self.columns;
        let actor_term = c.actor_term[query.actor * c.len + tile.start + o];
        let mut raw = tile.raw_terms(o, actor_term);
        let candidate = c.partner[tile.start + o];
        raw[Term::Geography as usize] = self.scorer.geography_term(query.partner as usize, candidate as usize);
        (combine(self.scorer.weights(), &raw).0, raw)
    }

}

/// The first bound's marks go on alone while they are at most one in this many positions of
/// the run (100k, exact and blocked: 4, 8 and 16 within noise of each other).
const SPARSE_SHARE: usize = 4;

/// One call of [`Kernel::score_tile`], compiled per instruction set.
struct TileWork<'k, 'a> {
    kernel: &'k Kernel<'a>,
    query: &'k Query,
    run: Range<usize>,
    reach: Reach<'k>,
    tile: &'k mut Tile,
    removed: &'k mut [u64],
}

impl Work for TileWork<'_, '_> {
    type Output = ();

    #[inline(always)]
    fn run(self) {
        let TileWork { kernel, query: q, run, reach, tile, removed } = self;
        let len = run.len();
        let c = kernel.columns;
        assert!(len <= TILE && run.end <= c.len);
        tile.start = run.start;
        tile.len = len;
        let weights = &kernel.scorer.settings.weights;
        let actor_term = &c.actor_term[q.actor * c.len..][run.clone()];
        let geo = kernel.scorer.settings.geography;
        // For one list: a first bound with context, values and geography at their largest;
        // when it marks few positions, only those get the other terms and the full bound.
        // (The pairwise scan marks against the lower floor of two lists, and most of its
        // tiles would go on to the whole run: it goes there at once.)
        let first = match reach {
            Reach::One(floor) => Some(FirstBound { floor, geography_max: geography_max(geo, q, c) }),
            Reach::Both(..) => None,
        };
        match kernel.simd {
            #[cfg(target_arch = "x86_64")]
            // The kernel holds `Avx512Popcnt` only when `Simd::best` or `Kernel::with_simd` found it.
            // SAFETY: this processor has AVX-512 F, BW, VL, DQ, VPOPCNTDQ, POPCNT and BMI1.
            Simd::Avx512Popcnt => unsafe { avx512::first_stage(kernel, q, run.clone(), first, tile, removed) },
            _ => first_stage(kernel, q, run.clone(), first, tile, removed),
        }
        if let Some(FirstBound { floor, .. }) = first {
            let marked: u32 = tile.marks.iter().map(|w| w.count_ones()).sum();
            if marked as usize * SPARSE_SHARE <= len {
                for w in 0..tile.marks.len() {
                    for bit in IdSet(tile.marks[w]).iter() {
                        let o = w * 64 + usize::from(bit);
                        let p = run.start + o;
                        tile.raw[Term::Context as usize][o] = context(q, c, p);
                        tile.raw[Term::Values as usize][o] = values(q, c, p);
                        tile.raw[Term::Geography as usize][o] = geography_bound(geo, q, c.unit.each_ref().map(|axis| axis[p]), c.sub_region[p]);
                        let bound = combine(weights, &tile.raw_terms(o, actor_term[o])).0;
                        tile.bound[o] = bound;
                        // As `mark`: a position is kept when its bound reaches the floor (so a
                        // NaN bound is dropped here too).
                        let reaches = bound >= floor;
                        if !reaches {
                            tile.marks[w] &= !(1 << bit);
                        }
                    }
                }
                return;
            }
        }

        // The other terms over the whole run, then the full bound. A shared language, into
        // scratch: one bit test when the query speaks only languages with bits of their own,
        // else its few languages against every slot.
        let shared = &mut tile.shared[..len];
        if q.language_bits & OTHER_LANGUAGES == 0 {
            let bits = &c.language_bits[run.clone()];
            shared.iter_mut().zip(bits).for_each(|(s, &b)| *s = if b & q.language_bits != 0 { 1.0 } else { 0.0 });
        } else {
            shared.fill(0.0);
            for &l in &q.languages {
                for slot in 0..MAX_LANGUAGES {
                    let column = &c.languages[slot * c.len..][run.clone()];
                    shared.iter_mut().zip(column).for_each(|(s, &x)| *s = s.max(if x == l { 1.0 } else { 0.0 }));
                }
            }
        }
        let [_, _, context, geography, values, _, _] = &mut tile.raw;
        let shared = &tile.shared[..len];
        // Context: development status, income group, a shared language, city size class.
        let zipped = context[..len]
            .iter_mut()
            .zip(shared)
            .zip(&c.developing[run.clone()])
            .zip(&c.income[run.clone()])
            .zip(&c.city_class[run.clone()]);
        let mine = ContextKey { developing: q.developing, income: q.income, city_class: q.city_class };
        for ((((out, &shared), &developing), &income), &city_class) in zipped {
            *out = context_from(mine, ContextKey { developing, income, city_class }, shared);
        }

        // Values: 1 − |a − b| where both know the value, else 0.5; summed in value order.
        let values = &mut values[..len];
        values.fill(0.0);
        let known = &c.values_known[run.clone()];
        for v in 0..VALUE_COUNT {
            let column = &c.values[v * c.len..][run.clone()];
            let mine = q.values[v];
            if q.values_known & (1 << v) == 0 {
                values.iter_mut().for_each(|sum| *sum += 0.5);
            } else {
                for ((sum, &theirs), &known) in values.iter_mut().zip(column).zip(known) {
                    *sum += value_agreement(known & (1 << v) != 0, mine, theirs);
                }
            }
        }
        values.iter_mut().for_each(|sum| *sum /= VALUE_COUNT as f32);

        // Geography: its bound from the chord, plus the same-sub-region share.
        let [x, y, z] = &c.unit;
        let zipped = geography[..len]
            .iter_mut()
            .zip(&x[run.clone()])
            .zip(&y[run.clone()])
            .zip(&z[run.clone()])
            .zip(&c.sub_region[run.clone()]);
        for ((((out, &x), &y), &z), &region) in zipped {
            *out = geography_bound(geo, q, [x, y, z], region);
        }
        for (o, &actor) in actor_term.iter().enumerate() {
            let bound = combine(weights, &tile.raw_terms(o, actor)).0;
            tile.bound[o] = if tile.admitted[o] { bound } else { f32::NEG_INFINITY };
        }
        tile.mark(reach);
    }
}

/// The first bound of a list's tile: its floor, and geography's largest bound for the query
/// over the columns ([`geography_max`]).
#[derive(Clone, Copy)]
struct FirstBound {
    floor: Score,
    geography_max: f32,
}

/// The kernel's first stage over positions `run`, as straight loops the compiler vectorises:
/// the rules (`tile.admitted`, its count, `removed`), need coverage both ways
/// (complementarity, mutual benefit) and sector into `tile.raw`; with a [`FirstBound`], the
/// first bound (context and values at 1, geography at its largest) into `tile.bound` and the
/// positions reaching the floor into `tile.marks`. [`avx512::first_stage`] does the same.
#[inline(always)]
fn first_stage(kernel: &Kernel, q: &Query, run: Range<usize>, first: Option<FirstBound>, tile: &mut Tile, removed: &mut [u64]) {
    let len = run.len();
    let c = kernel.columns;
    let refused = kernel.rules.screen(kernel.scorer.features, c, q, run.clone(), &mut tile.admitted[..len], removed);
    tile.admitted_count = len as u64 - refused;

    // Need coverage, both directions: the weights of the themes matched, in the query's
    // order, then divided by the needy side's mass (only where something matched: weights
    // are positive).
    let forward = &mut tile.forward[..len];
    forward.fill(0.0);
    let needed = &c.needed[run.clone()];
    for &(t, w) in &q.offers {
        forward.iter_mut().zip(needed).for_each(|(acc, &n)| *acc += if n >> t & 1 != 0 { w } else { 0.0 });
    }
    let mass = &c.need_mass[run.clone()];
    forward.iter_mut().zip(mass).for_each(|(acc, &m)| *acc = if *acc > 0.0 { *acc / m } else { 0.0 });
    let backward = &mut tile.backward[..len];
    backward.fill(0.0);
    let offered = &c.offered[run.clone()];
    for &(t, w) in &q.needs {
        backward.iter_mut().zip(offered).for_each(|(acc, &o)| *acc += if o >> t & 1 != 0 { w } else { 0.0 });
    }
    let own_mass = q.need_mass;
    backward.iter_mut().for_each(|acc| *acc = if *acc > 0.0 { *acc / own_mass } else { 0.0 });

    let [complementarity, mutual, _, _, _, sector, _] = &mut tile.raw;
    let (forward, backward) = (&tile.forward[..len], &tile.backward[..len]);
    for ((out, &a), &b) in complementarity[..len].iter_mut().zip(forward).zip(backward) {
        *out = a.max(b);
    }
    let mutual = &mut mutual[..len];
    match kernel.scorer.settings.mutual {
        MutualRule::Harmonic => fuse_run(mutual, forward, backward, |a, b| MutualRule::Harmonic.fuse(a, b)),
        MutualRule::Min => fuse_run(mutual, forward, backward, |a, b| MutualRule::Min.fuse(a, b)),
        MutualRule::Mean => fuse_run(mutual, forward, backward, |a, b| MutualRule::Mean.fuse(a, b)),
        MutualRule::Max => fuse_run(mutual, forward, backward, |a, b| MutualRule::Max.fuse(a, b)),
    }
    for (out, &s) in sector[..len].iter_mut().zip(&c.sectors[run.clone()]) {
        let union = (q.sectors | s).count_ones();
        *out = if union == 0 { 0.0 } else { (q.sectors & s).count_ones() as f32 / union as f32 };
    }

    let Some(FirstBound { floor, geography_max }) = first else { return };
    let weights = &kernel.scorer.settings.weights;
    let actor_term = &c.actor_term[q.actor * c.len..][run];
    let [complementarity, mutual, _, _, _, sector, _] = &tile.raw;
    for (o, &actor) in actor_term.iter().enumerate() {
        let mut raw = [1.0; TERM_COUNT];
        raw[Term::Geography as usize] = geography_max;
        raw[Term::Complementarity as usize] = complementarity[o];
        raw[Term::MutualBenefit as usize] = mutual[o];
        raw[Term::Sector as usize] = sector[o];
        raw[Term::ActorType as usize] = actor;
        let bound = combine(weights, &raw).0;
        tile.bound[o] = if tile.admitted[o] { bound } else { f32::NEG_INFINITY };
    }
    tile.mark(Reach::One(floor));
}

/// The context term of `q` with position `p`: development status, income group, a shared
/// language (one bit test when the query speaks only languages with bits of their own, else
/// its few languages against every slot), city size class.
#[inline(always)]
fn context(q: &Query, c: &Columns, p: usize) -> f32 {
    let shared = if q.language_bits & OTHER_LANGUAGES == 0 {
        if c.language_bits[p] & q.language_bits != 0 { 1.0 } else { 0.0 }
    } else {
        let mut shared: f32 = 0.0;
        for &l in &q.languages {
            for slot in 0..MAX_LANGUAGES {
                shared = shared.max(if c.languages[slot * c.len + p] == l { 1.0 } else { 0.0 });
            }
        }
        shared
    };
    let mine = ContextKey { developing: q.developing, income: q.income, city_class: q.city_class };
    context_from(mine, ContextKey { developing: c.developing[p], income: c.income[p], city_class: c.city_class[p] }, shared)
}

/// The values term of `q` with position `p`: 1 − |a − b| where both know the value, else
/// 0.5; summed in value order.
#[inline(always)]
fn values(q: &Query, c: &Columns, p: usize) -> f32 {
    let mut sum = 0.0;
    for v in 0..VALUE_COUNT {
        sum += if q.values_known & (1 << v) == 0 { 0.5 } else { value_agreement(c.values_known[p] & (1 << v) != 0, q.values[v], c.values[v * c.len + p]) };
    }
    sum / VALUE_COUNT as f32
}

/// The geography term's bound for `q` with a candidate at `unit` in sub-region `region`:
/// from the chord, plus the same-sub-region share.
#[inline(always)]
fn geography_bound(geo: GeographyKernel, q: &Query, [x, y, z]: [f32; 3], region: u16) -> f32 {
    let (dx, dy, dz) = (q.unit[0] - x, q.unit[1] - y, q.unit[2] - z);
    geography_at((dx * dx + dy * dy + dz * dz).sqrt(), geo, if region == q.sub_region { 1.0 } else { 0.0 })
}

/// The geography term's bound at chord `chord`, with `same_region` 1 in one sub-region.
/// Every operation rounds monotonically, so a shorter chord never gives a smaller bound.
#[inline(always)]
fn geography_at(chord: f32, geo: GeographyKernel, same_region: f32) -> f32 {
    let scales = chord * (EARTH_RADIUS_KM / geo.scale_km);
    let taylor = 1.0 + scales * (1.0 + scales * (0.5 + scales * (1.0 / 6.0)));
    let bound = (1.0 / taylor) * (1.0 + 1e-4) + 1e-6;
    (1.0 - geo.region_share) * bound + geo.region_share * same_region
}

/// Chord the rounding of [`geography_max`]'s distances may take off (about 60 m on the
/// ground, far more than a few units in the last place of chords up to 2).
const CHORD_SLACK: f32 = 1e-5;

/// The largest geography bound `q` has with any position of `c`: at the point of the
/// columns' ball nearest to `q`, in `q`'s sub-region unless every position is elsewhere.
/// Every position is in the ball, so its chord is no shorter (triangle inequality) than
/// the distance to the center less the radius (and [`CHORD_SLACK`]). A leaf of blocked
/// mode lies in one country: far from `q`, this is far below the bound at no distance.
#[inline(always)]
fn geography_max(geo: GeographyKernel, q: &Query, c: &Columns) -> f32 {
    let (center, radius) = c.ball;
    let nearest = (chord(&q.unit, &center) - radius - CHORD_SLACK).max(0.0);
    let same_region = if c.only_region.is_some_and(|region| region != q.sub_region) { 0.0 } else { 1.0 };
    geography_at(nearest, geo, same_region)
}

/// Up to 64 flags as the bits of a word, the first flag lowest.
#[inline(always)]
fn bits(flags: impl Iterator<Item = bool>) -> u64 {
    flags.enumerate().fold(0, |word, (b, flag)| word | (u64::from(flag) << b))
}

#[inline(always)]
fn fuse_run(out: &mut [f32], a: &[f32], b: &[f32], fuse: impl Fn(f32, f32) -> f32) {
    for ((out, &a), &b) in out.iter_mut().zip(a).zip(b) {
        *out = fuse(a, b);
    }
}
