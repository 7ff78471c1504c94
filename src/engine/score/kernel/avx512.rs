//! The kernel's first stage written with AVX-512 intrinsics, sixteen positions at a time.
//!
//! Input: what [`super::first_stage`] reads: the kernel, a query, a run of positions, the
//! first bound when the tile is one list's. Output: the same fields of the [`Tile`], the same
//! bits: which positions the rules admit (and how many each rule removed), complementarity,
//! mutual benefit and sector at every position, and with a first bound, the bound and the
//! marks.
//!
//! Why by hand: the straight loops make a pass over the run per rule, per theme of the query
//! and per term, each storing what the next one loads, and a fused loop is not vectorised by
//! the compiler (2–3× slower, measured). Here a chunk of sixteen positions goes through every
//! rule and term in registers, the rules' verdicts as bit masks. Every arithmetic operation is
//! the straight loops' own, in their order (IEEE addition, multiplication, division, maximum
//! and minimum of numbers that are never NaN), so the bits are equal: the kernel's tests run
//! every instruction set against the pair scorer.

use std::arch::x86_64::*;
use std::ops::Range;

use super::{FirstBound, Kernel, Tile};
use crate::engine::rules::Rule;
use crate::engine::score::query::Query;
use crate::engine::score::{MutualRule, Term, TERM_COUNT};

/// Positions in a chunk: the lanes of a 512-bit vector of `f32`.
const LANES: usize = 16;

/// The positions of a chunk that hold a candidate: the first `count`, as a mask.
#[derive(Clone, Copy)]
struct Live {
    count: usize,
    mask: __mmask16,
}

impl Live {
    fn first(count: usize) -> Live {
        let count = count.min(LANES);
        Live { count, mask: ((1u32 << count) - 1) as __mmask16 }
    }

    /// The mask of the first or the second eight lanes.
    fn half(self, second: bool) -> __mmask8 {
        (if second { self.mask >> 8 } else { self.mask }) as __mmask8
    }
}

/// Sixteen `u32` of `column` from `at`, the lanes past the live ones zero.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq")]
fn load_u32(column: &[u32], at: usize, live: Live) -> __m512i {
    let slice = &column[at..at + live.count];
    // SAFETY: the mask reads the first `live.count` elements, all inside `slice`.
    unsafe { _mm512_maskz_loadu_epi32(live.mask, slice.as_ptr().cast()) }
}

/// Sixteen `f32` of `column` from `at`, the lanes past the live ones zero.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq")]
fn load_f32(column: &[f32], at: usize, live: Live) -> __m512 {
    let slice = &column[at..at + live.count];
    // SAFETY: as `load_u32`.
    unsafe { _mm512_maskz_loadu_ps(live.mask, slice.as_ptr()) }
}

/// The positions whose byte of `column` from `at` is not 0.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq")]
fn nonzero_u8(column: &[u8], at: usize, live: Live) -> __mmask16 {
    let slice = &column[at..at + live.count];
    // SAFETY: as `load_u32`.
    let bytes = unsafe { _mm_maskz_loadu_epi8(live.mask, slice.as_ptr().cast()) };
    _mm_test_epi8_mask(bytes, bytes)
}

/// Sixteen `u64` of `column` from `at` as two halves of eight, the lanes past the live ones
/// zero.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq")]
fn load_u64(column: &[u64], at: usize, live: Live) -> [__m512i; 2] {
    let (low, high) = column[at..at + live.count].split_at(live.count.min(8));
    // Each half's mask covers its live elements: the first `low.len()` of `low`, the first
    // `high.len()` of `high` (none when it is empty).
    // SAFETY: every element read is inside `low` or `high`.
    unsafe { [_mm512_maskz_loadu_epi64(live.half(false), low.as_ptr().cast()), _mm512_maskz_loadu_epi64(live.half(true), high.as_ptr().cast())] }
}

/// The positions of two halves of words that share a bit with `bits`.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq")]
fn sharing(words: [__m512i; 2], bits: u64) -> __mmask16 {
    let bits = _mm512_set1_epi64(bits as i64);
    let [low, high] = words.map(|w| _mm512_test_epi64_mask(w, bits));
    __mmask16::from(low) | __mmask16::from(high) << 8
}

/// The sixteen `f32` of two halves of eight `i64`.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq")]
fn to_f32([low, high]: [__m512i; 2]) -> __m512 {
    _mm512_insertf32x8::<1>(_mm512_castps256_ps512(_mm512_cvtepi64_ps(low)), _mm512_cvtepi64_ps(high))
}

/// [`super::first_stage`], sixteen positions at a time. Only for a processor with AVX-512
/// F, BW, VL, DQ and VPOPCNTDQ.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx512vpopcntdq,popcnt,bmi1")]
pub(super) fn first_stage(kernel: &Kernel, q: &Query, run: Range<usize>, first: Option<FirstBound>, tile: &mut Tile, removed: &mut [u64]) {
    let c = kernel.columns;
    let f = kernel.scorer.features;
    let settings = &kernel.scorer.settings;
    let weights = settings.weights.0.map(|w| _mm512_set1_ps(w));
    let zero = _mm512_setzero_ps();
    let own_mass = _mm512_set1_ps(q.need_mass);
    let query_sectors = _mm512_set1_epi64(q.sectors as i64);
    tile.marks = [0; super::TILE / 64];
    tile.admitted_count = 0;
    for chunk in (0..run.len()).step_by(LANES) {
        let live = Live::first(run.len() - chunk);
        let p = run.start + chunk;

        // The rules, in order, each counting the positions it is first to refuse.
        let mut admitted = live.mask;
        for (rule, slot) in kernel.rules.iter().zip(removed.iter_mut()) {
            let verdict = match rule {
                Rule::NoSelfMatch => _mm512_cmpneq_epi32_mask(load_u32(&c.partner, p, live), _mm512_set1_epi32(q.partner as i32)),
                // A `bool` is the byte 0 or 1.
                Rule::CandidateActive => nonzero_u8(bytes(&c.active), p, live),
                Rule::NotDuplicates => _mm512_cmpneq_epi32_mask(load_u32(&c.duplicate_group, p, live), _mm512_set1_epi32(q.duplicate_group as i32)),
                Rule::SharedTheme => sharing(load_u64(&c.topics, p, live), q.topics),
                Rule::DemandDriven if q.needs_any => live.mask,
                Rule::DemandDriven => sharing(load_u64(&c.needs, p, live), u64::MAX),
                other => {
                    let mut verdict = 0;
                    for lane in 0..live.count {
                        if admitted >> lane & 1 == 1 && other.admits(f, q.partner, c.partner[p + lane]) {
                            verdict |= 1 << lane;
                        }
                    }
                    verdict
                }
            };
            *slot += u64::from((admitted & !verdict).count_ones());
            admitted &= verdict;
        }
        tile.admitted_count += u64::from(admitted.count_ones());

        // Need coverage both ways: the weights of the themes matched, in the query's order,
        // over the needy side's mass where something matched.
        let needed = load_u64(&c.needed, p, live);
        let mut forward = zero;
        for &(theme, weight) in &q.offers {
            forward = _mm512_mask_add_ps(forward, sharing(needed, 1 << theme), forward, _mm512_set1_ps(weight));
        }
        let matched = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(forward, zero);
        let forward = _mm512_maskz_div_ps(matched, forward, load_f32(&c.need_mass, p, live));
        let offered = load_u64(&c.offered, p, live);
        let mut backward = zero;
        for &(theme, weight) in &q.needs {
            backward = _mm512_mask_add_ps(backward, sharing(offered, 1 << theme), backward, _mm512_set1_ps(weight));
        }
        let matched = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(backward, zero);
        let backward = _mm512_maskz_div_ps(matched, backward, own_mass);
        let complementarity = _mm512_max_ps(forward, backward);
        let mutual = match settings.mutual {
            MutualRule::Harmonic => {
                let sum = _mm512_add_ps(forward, backward);
                let product = _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(2.0), forward), backward);
                _mm512_maskz_div_ps(_mm512_cmp_ps_mask::<_CMP_GT_OQ>(sum, zero), product, sum)
            }
            MutualRule::Min => _mm512_min_ps(forward, backward),
            MutualRule::Mean => _mm512_mul_ps(_mm512_set1_ps(0.5), _mm512_add_ps(forward, backward)),
            MutualRule::Max => _mm512_max_ps(forward, backward),
        };

        // Sector: |shared| / |union| of the sector sets.
        let sectors = load_u64(&c.sectors, p, live);
        let shared = to_f32(sectors.map(|s| _mm512_popcnt_epi64(_mm512_and_si512(s, query_sectors))));
        let union = to_f32(sectors.map(|s| _mm512_popcnt_epi64(_mm512_or_si512(s, query_sectors))));
        let sector = _mm512_maskz_div_ps(_mm512_cmp_ps_mask::<_CMP_NEQ_OQ>(union, zero), shared, union);

        let lanes = chunk..chunk + LANES;
        store(&mut tile.raw[Term::Complementarity as usize][lanes.clone()], complementarity);
        store(&mut tile.raw[Term::MutualBenefit as usize][lanes.clone()], mutual);
        store(&mut tile.raw[Term::Sector as usize][lanes.clone()], sector);
        let flags = &mut tile.admitted[lanes.clone()];
        // SAFETY: `flags` holds sixteen `bool`s, each stored as the byte 0 or 1.
        unsafe { _mm_storeu_si128(flags.as_mut_ptr().cast(), _mm_maskz_set1_epi8(admitted, 1)) };

        let Some(FirstBound { floor, geography_max }) = first else { continue };
        let mut raw = [_mm512_set1_ps(1.0); TERM_COUNT];
        raw[Term::Complementarity as usize] = complementarity;
        raw[Term::MutualBenefit as usize] = mutual;
        raw[Term::Geography as usize] = _mm512_set1_ps(geography_max);
        raw[Term::Sector as usize] = sector;
        raw[Term::ActorType as usize] = load_f32(&c.actor_term, q.actor * c.len + p, live);
        // `combine`: each term's weighted value added in term order.
        let mut bound = zero;
        for (weight, raw) in weights.iter().zip(raw) {
            bound = _mm512_add_ps(bound, _mm512_mul_ps(*weight, raw));
        }
        let bound = _mm512_mask_blend_ps(admitted, _mm512_set1_ps(f32::NEG_INFINITY), bound);
        store(&mut tile.bound[lanes], bound);
        let marks = admitted & _mm512_cmp_ps_mask::<_CMP_GE_OQ>(bound, _mm512_set1_ps(floor));
        tile.marks[chunk / 64] |= u64::from(marks) << (chunk % 64);
    }
}

/// Stores sixteen `f32` into `out` (sixteen long).
#[inline]
#[target_feature(enable = "avx512f")]
fn store(out: &mut [f32], values: __m512) {
    assert_eq!(out.len(), LANES);
    // SAFETY: `out` holds sixteen `f32`.
    unsafe { _mm512_storeu_ps(out.as_mut_ptr(), values) }
}

/// The bytes of a `bool` column (each 0 or 1).
fn bytes(column: &[bool]) -> &[u8] {
    // SAFETY: a `bool` is one byte, 0 or 1, so the slice reads as bytes of the same length.
    unsafe { std::slice::from_raw_parts(column.as_ptr().cast(), column.len()) }
}
