//! Tile: one partner against a run of candidates at once, the hot loop of every ranking pass.
//!
//! Input: a [`Scorer`], the [`Columns`] (the candidate side of the features, column by column,
//! in a chosen candidate order), the [`RuleSet`], one partner, a run of up to [`TILE`]
//! consecutive positions of that order and the list floors they must reach ([`Reach`]).
//! Output, in a [`Tile`]: per position whether the rules admit the pair (and how many pairs
//! each rule removed), the raw value of every term but geography, an upper bound of the
//! score, and as bit words the positions whose bound reaches the floors;
//! [`Tile::exact_score`] finishes a position.
//!
//! Why this shape: the exhaustive scan does a few arithmetic operations per pair, so they are
//! written as straight-line loops over columns that the compiler turns into SIMD (compiled
//! for AVX-512, AVX2 and the baseline, picked at run time; AVX-512 takes a third off the
//! AVX2 time on this project's machines). One loop per term: fused into one loop over the
//! run, or over 16-lane chunks, the compiler stopped vectorising (2–3× slower, measured).
//! Expertise is theme-major: a partner's need coverage of a run is the sum of the rows (bytes)
//! of the themes it offers, not a bitset walk per pair. Whatever depends on the partner only
//! through a small key is a column per key value (the actor-type term) or a bit test (the
//! languages), not a gather per lane. Geography (a square root, an arcsine and an exponential) is left to
//! the positions whose bound can still enter the list; its bound comes from the chord
//! `c = |u − v|` (the arc is longer) as `exp(−x) ≤ 1 / (1 + x + x²/2 + x³/6)`, `x = R·c / scale`.
//!
//! **Invariant:** every raw term equals [`Scorer::terms`] bit for bit (the same IEEE
//! operations in the same order; Rust never fuses a multiply and an add on its own), so the
//! lists do not depend on the kernel, the instruction set or the candidate order.

use std::ops::Range;

use crate::engine::features::{PartnerFeatures, MAX_LANGUAGES, OTHER_LANGUAGES};
use crate::engine::profile::{IdSet, VALUE_COUNT};
use crate::engine::rules::{Rule, RuleSet};
use crate::engine::score::{combine, context_from, value_agreement, ContextKey, MutualRule, Scorer, Term, TermValues, EARTH_RADIUS_KM, TERM_COUNT};
use crate::{PartnerIdx, Score};

/// Positions scored together: the tile's columns stay in the first-level caches.
pub const TILE: usize = 256;

/// The candidate side of the features in a chosen order, one column per attribute and, for
/// expertise, one row per theme.
pub struct Columns {
    len: usize,
    /// The partner at each position.
    pub partner: Vec<PartnerIdx>,
    /// `[theme × len]`: 1 where the partner needs the theme and may benefit (bytes, not
    /// `f32`: a quarter of the cache for the rows a tile reads).
    needed: Vec<u8>,
    /// `[theme × len]`: 1 where the partner offers the theme and may provide.
    offered: Vec<u8>,
    need_mass: Vec<f32>,
    /// `[value × len]`.
    values: Vec<f32>,
    values_known: Vec<u8>,
    /// `[slot × len]`.
    languages: Vec<u16>,
    language_bits: Vec<u64>,
    topics: Vec<u64>,
    needs: Vec<u64>,
    sectors: Vec<u64>,
    developing: Vec<bool>,
    income: Vec<u8>,
    city_class: Vec<u8>,
    /// `[actor type × len]`: the actor-type term of a partner of that type with each position.
    actor_term: Vec<f32>,
    sub_region: Vec<u16>,
    active: Vec<bool>,
    /// Unit-vector coordinates x, y, z.
    unit: [Vec<f32>; 3],
}

impl Columns {
    /// The columns of `order` (every position one partner, any order) for `scorer`.
    pub fn build(scorer: &Scorer, order: Vec<PartnerIdx>) -> Self {
        let f = scorer.features;
        let themes = f.theme_count();
        let len = order.len();
        let mut needed = vec![0; themes * len];
        let mut offered = vec![0; themes * len];
        let mut values = vec![0.0; VALUE_COUNT * len];
        let mut languages = vec![0; MAX_LANGUAGES * len];
        let mut actor_term = vec![0.0; scorer.actor_types * len];
        for (pos, &i) in order.iter().enumerate() {
            let i = i as usize;
            if f.can_benefit[i] {
                for t in f.needs[i].iter() {
                    needed[t as usize * len + pos] = 1;
                }
            }
            if f.can_provide[i] {
                for t in f.offers[i].iter() {
                    offered[t as usize * len + pos] = 1;
                }
            }
            for v in 0..VALUE_COUNT {
                values[v * len + pos] = f.values[i][v];
            }
            for s in 0..MAX_LANGUAGES {
                languages[s * len + pos] = f.languages[i][s];
            }
            for a in 0..scorer.actor_types {
                actor_term[a * len + pos] = scorer.compatibility[a * scorer.actor_types + f.actor[i] as usize];
            }
        }
        let column = |get: &dyn Fn(usize) -> f32| order.iter().map(|&i| get(i as usize)).collect::<Vec<f32>>();
        Columns {
            len,
            needed,
            offered,
            need_mass: column(&|i| f.need_mass[i]),
            values,
            values_known: order.iter().map(|&i| f.values_known[i as usize]).collect(),
            languages,
            language_bits: order.iter().map(|&i| f.language_bits[i as usize]).collect(),
            topics: order.iter().map(|&i| f.offers[i as usize].0 | f.needs[i as usize].0).collect(),
            needs: order.iter().map(|&i| f.needs[i as usize].0).collect(),
            sectors: order.iter().map(|&i| f.sectors[i as usize].0).collect(),
            developing: order.iter().map(|&i| f.developing[i as usize]).collect(),
            income: order.iter().map(|&i| f.income[i as usize]).collect(),
            city_class: order.iter().map(|&i| f.city_class[i as usize]).collect(),
            actor_term,
            sub_region: order.iter().map(|&i| f.sub_region[i as usize]).collect(),
            active: order.iter().map(|&i| f.active[i as usize]).collect(),
            unit: [0, 1, 2].map(|c| column(&|i| f.unit[i][c])),
            partner: order,
        }
    }

    /// Every partner, in index order.
    pub fn in_index_order(scorer: &Scorer) -> Self {
        Columns::build(scorer, (0..scorer.features.len() as PartnerIdx).collect())
    }

    /// Runs of at most [`TILE`] consecutive positions covering `positions`.
    pub fn runs(positions: Range<usize>) -> impl Iterator<Item = Range<usize>> {
        let end = positions.end;
        positions.step_by(TILE).map(move |start| start..end.min(start + TILE))
    }

    /// Number of positions.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when there are no positions.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// Scratch and results of one partner against one run of positions.
pub struct Tile {
    start: usize,
    len: usize,
    /// Whether the rules admit each position.
    admitted: [bool; TILE],
    /// Raw terms, term-major: geography holds its bound, and the actor-type term is not
    /// copied here but read from its column ([`Tile::raw_terms`]).
    raw: [[f32; TILE]; TERM_COUNT],
    /// Upper bound of each admitted position's score; `-inf` where the rules refuse.
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

    /// The exact score of `partner` with the candidate at offset `o` (equal to
    /// [`Scorer::score`] bit for bit).
    pub fn exact_score(&self, scorer: &Scorer, columns: &Columns, partner: PartnerIdx, o: usize) -> Score {
        let actor_term = &columns.actor_term[scorer.features.actor[partner as usize] as usize * columns.len..];
        let mut raw = self.raw_terms(o, actor_term[self.start + o]);
        let candidate = columns.partner[self.start + o];
        raw[Term::Geography as usize] = scorer.geography_term(partner as usize, candidate as usize);
        combine(scorer.weights(), &raw).0
    }

    /// The raw terms at offset `o`, given its actor-type term.
    #[inline(always)]
    fn raw_terms(&self, o: usize, actor_term: f32) -> TermValues {
        let mut raw = Term::ALL.map(|t| self.raw[t as usize][o]);
        raw[Term::ActorType as usize] = actor_term;
        raw
    }
}

/// The instruction sets the kernel is compiled for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Simd {
    /// AVX-512 (F, BW, VL, DQ) with VPOPCNTDQ (the sector term's popcounts in one
    /// instruction; Ice Lake, Zen 4 and later): 16 lanes.
    #[cfg(target_arch = "x86_64")]
    Avx512Popcnt,
    /// AVX-512 (F, BW, VL, DQ), as on Skylake-X and Cascade Lake: 16 lanes.
    #[cfg(target_arch = "x86_64")]
    Avx512,
    /// AVX2: 8 lanes.
    #[cfg(target_arch = "x86_64")]
    Avx2,
    /// The target's baseline.
    Portable,
}

impl Simd {
    /// Every instruction set the kernel is compiled for, best first.
    pub const ALL: &[Simd] = &[
        #[cfg(target_arch = "x86_64")]
        Simd::Avx512Popcnt,
        #[cfg(target_arch = "x86_64")]
        Simd::Avx512,
        #[cfg(target_arch = "x86_64")]
        Simd::Avx2,
        Simd::Portable,
    ];

    /// Whether this processor runs it.
    pub fn is_supported(self) -> bool {
        match self {
            #[cfg(target_arch = "x86_64")]
            Simd::Avx512Popcnt => Simd::Avx512.is_supported() && std::arch::is_x86_feature_detected!("avx512vpopcntdq"),
            #[cfg(target_arch = "x86_64")]
            Simd::Avx512 => {
                std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx512bw")
                    && std::arch::is_x86_feature_detected!("avx512vl")
                    && std::arch::is_x86_feature_detected!("avx512dq")
            }
            #[cfg(target_arch = "x86_64")]
            Simd::Avx2 => std::arch::is_x86_feature_detected!("avx2"),
            Simd::Portable => true,
        }
    }

    /// The best one this processor runs.
    pub fn best() -> Simd {
        *Simd::ALL.iter().find(|s| s.is_supported()).expect("the baseline is always supported")
    }
}

/// What the kernel needs of the partner on the query side, gathered once per partner.
pub struct Query {
    partner: PartnerIdx,
    /// Themes it offers, when it may provide, and their weights.
    offers: Vec<(usize, f32)>,
    /// Themes it needs, when it may benefit, and their weights.
    needs: Vec<(usize, f32)>,
    need_mass: f32,
    values: [f32; VALUE_COUNT],
    values_known: u8,
    languages: Vec<u16>,
    language_bits: u64,
    topics: u64,
    needs_any: bool,
    sectors: u64,
    developing: bool,
    income: u8,
    city_class: u8,
    actor: usize,
    sub_region: u16,
    unit: [f32; 3],
}

impl Query {
    /// The query side of `partner`.
    pub fn new(scorer: &Scorer, partner: PartnerIdx) -> Self {
        let f = scorer.features();
        let i = partner as usize;
        let weighted = |themes: IdSet| themes.iter().map(|t| (t as usize, f.theme_weight[t as usize])).collect();
        Query {
            partner,
            offers: if f.can_provide[i] { weighted(f.offers[i]) } else { Vec::new() },
            needs: if f.can_benefit[i] { weighted(f.needs[i]) } else { Vec::new() },
            need_mass: f.need_mass[i],
            values: f.values[i],
            values_known: f.values_known[i],
            languages: f.languages[i].iter().copied().filter(|&l| l != u16::MAX).collect(),
            language_bits: f.language_bits[i],
            topics: f.offers[i].0 | f.needs[i].0,
            needs_any: !f.needs[i].is_empty(),
            sectors: f.sectors[i].0,
            developing: f.developing[i],
            income: f.income[i],
            city_class: f.city_class[i],
            actor: f.actor[i] as usize,
            sub_region: f.sub_region[i],
            unit: f.unit[i],
        }
    }

    /// The partner.
    pub fn partner(&self) -> PartnerIdx {
        self.partner
    }
}

impl Scorer<'_> {
    /// Applies the rules to positions `run` (at most [`TILE`]) for `query` and fills `tile` with
    /// their raw terms and score bounds, marking those that `reach`; adds to `removed` the
    /// pairs each rule refused.
    #[allow(clippy::too_many_arguments)]
    pub fn score_tile(&self, rules: &RuleSet, columns: &Columns, query: &Query, run: Range<usize>, reach: Reach, tile: &mut Tile, removed: &mut [u64]) {
        self.score_tile_with(Simd::best(), rules, columns, query, run, reach, tile, removed);
    }

    /// [`Scorer::score_tile`] compiled for `simd`, which the processor must support (see
    /// [`Simd::is_supported`]); the results are the same for every instruction set.
    #[allow(clippy::too_many_arguments)]
    pub fn score_tile_with(&self, simd: Simd, rules: &RuleSet, columns: &Columns, query: &Query, run: Range<usize>, reach: Reach, tile: &mut Tile, removed: &mut [u64]) {
        assert!(simd.is_supported(), "{simd:?} is not supported by this processor");
        match simd {
            // SAFETY: support for the instruction set was checked just above.
            #[cfg(target_arch = "x86_64")]
            Simd::Avx512Popcnt => unsafe { self.score_tile_avx512_popcnt(rules, columns, query, run, reach, tile, removed) },
            #[cfg(target_arch = "x86_64")]
            Simd::Avx512 => unsafe { self.score_tile_avx512(rules, columns, query, run, reach, tile, removed) },
            #[cfg(target_arch = "x86_64")]
            Simd::Avx2 => unsafe { self.score_tile_avx2(rules, columns, query, run, reach, tile, removed) },
            Simd::Portable => self.score_tile_portable(rules, columns, query, run, reach, tile, removed),
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx512vpopcntdq")]
    #[allow(clippy::too_many_arguments)]
    fn score_tile_avx512_popcnt(&self, rules: &RuleSet, columns: &Columns, query: &Query, run: Range<usize>, reach: Reach, tile: &mut Tile, removed: &mut [u64]) {
        self.score_tile_portable(rules, columns, query, run, reach, tile, removed);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq")]
    #[allow(clippy::too_many_arguments)]
    fn score_tile_avx512(&self, rules: &RuleSet, columns: &Columns, query: &Query, run: Range<usize>, reach: Reach, tile: &mut Tile, removed: &mut [u64]) {
        self.score_tile_portable(rules, columns, query, run, reach, tile, removed);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    #[allow(clippy::too_many_arguments)]
    fn score_tile_avx2(&self, rules: &RuleSet, columns: &Columns, query: &Query, run: Range<usize>, reach: Reach, tile: &mut Tile, removed: &mut [u64]) {
        self.score_tile_portable(rules, columns, query, run, reach, tile, removed);
    }

    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn score_tile_portable(&self, rules: &RuleSet, columns: &Columns, q: &Query, run: Range<usize>, reach: Reach, tile: &mut Tile, removed: &mut [u64]) {
        let len = run.len();
        assert!(len <= TILE && run.end <= columns.len);
        tile.start = run.start;
        tile.len = len;
        let c = columns;
        tile.admitted_count = len as u64 - apply_rules(rules, self.features, c, q, run.clone(), &mut tile.admitted[..len], removed);

        // Need coverage, both directions: sums of theme rows, then divided by the needy side's
        // mass (only where something matched: weights are positive).
        let forward = &mut tile.forward[..len];
        forward.fill(0.0);
        for &(t, w) in &q.offers {
            let row = &c.needed[t * c.len..][run.clone()];
            forward.iter_mut().zip(row).for_each(|(acc, &n)| *acc += if n != 0 { w } else { 0.0 });
        }
        let mass = &c.need_mass[run.clone()];
        forward.iter_mut().zip(mass).for_each(|(acc, &m)| *acc = if *acc > 0.0 { *acc / m } else { 0.0 });
        let backward = &mut tile.backward[..len];
        backward.fill(0.0);
        for &(t, w) in &q.needs {
            let row = &c.offered[t * c.len..][run.clone()];
            backward.iter_mut().zip(row).for_each(|(acc, &o)| *acc += if o != 0 { w } else { 0.0 });
        }
        let own_mass = q.need_mass;
        backward.iter_mut().for_each(|acc| *acc = if *acc > 0.0 { *acc / own_mass } else { 0.0 });

        // A shared language, into scratch: one bit test when the query speaks only languages
        // with bits of their own, else its few languages against every slot.
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
        let [complementarity, mutual, context, geography, values, sector, _] = &mut tile.raw;
        let (forward, backward, shared) = (&tile.forward[..len], &tile.backward[..len], &tile.shared[..len]);
        for ((out, &a), &b) in complementarity[..len].iter_mut().zip(forward).zip(backward) {
            *out = a.max(b);
        }
        let mutual = &mut mutual[..len];
        match self.settings.mutual {
            MutualRule::Harmonic => fuse_run(mutual, forward, backward, |a, b| MutualRule::Harmonic.fuse(a, b)),
            MutualRule::Min => fuse_run(mutual, forward, backward, |a, b| MutualRule::Min.fuse(a, b)),
            MutualRule::Mean => fuse_run(mutual, forward, backward, |a, b| MutualRule::Mean.fuse(a, b)),
            MutualRule::Max => fuse_run(mutual, forward, backward, |a, b| MutualRule::Max.fuse(a, b)),
        }

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

        for (out, &s) in sector[..len].iter_mut().zip(&c.sectors[run.clone()]) {
            let union = (q.sectors | s).count_ones();
            *out = if union == 0 { 0.0 } else { (q.sectors & s).count_ones() as f32 / union as f32 };
        }

        // Geography: its bound from the chord, plus the same-sub-region share.
        let kernel = self.settings.geography;
        let [x, y, z] = &c.unit;
        let zipped = geography[..len]
            .iter_mut()
            .zip(&x[run.clone()])
            .zip(&y[run.clone()])
            .zip(&z[run.clone()])
            .zip(&c.sub_region[run.clone()]);
        for ((((out, &x), &y), &z), &region) in zipped {
            let (dx, dy, dz) = (q.unit[0] - x, q.unit[1] - y, q.unit[2] - z);
            let scales = (dx * dx + dy * dy + dz * dz).sqrt() * (EARTH_RADIUS_KM / kernel.scale_km);
            let taylor = 1.0 + scales * (1.0 + scales * (0.5 + scales * (1.0 / 6.0)));
            let bound = (1.0 / taylor) * (1.0 + 1e-4) + 1e-6;
            let same_region = if region == q.sub_region { 1.0 } else { 0.0 };
            *out = (1.0 - kernel.region_share) * bound + kernel.region_share * same_region;
        }

        let weights = &self.settings.weights;
        let actor_term = &c.actor_term[q.actor * c.len..][run.clone()];
        for (o, &actor) in actor_term.iter().enumerate() {
            let bound = combine(weights, &tile.raw_terms(o, actor)).0;
            tile.bound[o] = if tile.admitted[o] { bound } else { f32::NEG_INFINITY };
        }
        tile.mark(reach);
    }
}

/// Marks the positions each rule refuses, in rule order, counting per rule the pairs it was
/// first to refuse; returns how many were refused. The cheap rules are the predicates of
/// [`Rule::admits`] over columns.
#[inline(always)]
fn apply_rules(rules: &RuleSet, f: &PartnerFeatures, c: &Columns, q: &Query, run: Range<usize>, admitted: &mut [bool], removed: &mut [u64]) -> u64 {
    admitted.fill(true);
    let mut refused = 0;
    for (r, rule) in rules.iter().enumerate() {
        let cleared = match rule {
            Rule::NoSelfMatch => keep(admitted, c.partner[run.clone()].iter().map(|&p| p != q.partner)),
            Rule::CandidateActive => keep(admitted, c.active[run.clone()].iter().copied()),
            Rule::SharedTheme => keep(admitted, c.topics[run.clone()].iter().map(|&t| t & q.topics != 0)),
            Rule::DemandDriven if q.needs_any => 0,
            Rule::DemandDriven => keep(admitted, c.needs[run.clone()].iter().map(|&n| n != 0)),
            other => keep(admitted, c.partner[run.clone()].iter().map(|&p| other.admits(f, q.partner, p))),
        };
        removed[r] += cleared;
        refused += cleared;
    }
    refused
}

/// Up to 64 flags as the bits of a word, the first flag lowest.
#[inline(always)]
fn bits(flags: impl Iterator<Item = bool>) -> u64 {
    flags.enumerate().fold(0, |word, (b, flag)| word | (u64::from(flag) << b))
}

/// Clears the positions whose verdict is false; returns how many it cleared.
#[inline(always)]
fn keep(admitted: &mut [bool], verdicts: impl Iterator<Item = bool>) -> u64 {
    let mut cleared = 0;
    for (slot, ok) in admitted.iter_mut().zip(verdicts) {
        cleared += u64::from(*slot && !ok);
        *slot &= ok;
    }
    cleared
}

#[inline(always)]
fn fuse_run(out: &mut [f32], a: &[f32], b: &[f32], fuse: impl Fn(f32, f32) -> f32) {
    for ((out, &a), &b) in out.iter_mut().zip(a).zip(b) {
        *out = fuse(a, b);
    }
}
