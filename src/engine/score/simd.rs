//! Simd: the instruction sets the kernel is compiled for, and the dispatch to the best one.
//!
//! Input: a piece of work written as straight-line loops (the tile kernel). Output: the same
//! work compiled for AVX-512 (with and without VPOPCNTDQ), AVX2 or the target's baseline, run
//! with the best set this processor has ([`Simd::best`], checked once per kernel). AVX-512
//! takes a third off the AVX2 time on this project's machines; the results are the same bit
//! for bit on every set (tested). Each set comes with the scalar POPCNT and BMI1 its
//! processors all have: without them a word's `count_ones` is a dozen instructions.

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
    /// AVX2 (with POPCNT and BMI1, as on every processor that has it): 8 lanes.
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
                Simd::Avx2.is_supported()
                    && std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx512bw")
                    && std::arch::is_x86_feature_detected!("avx512vl")
                    && std::arch::is_x86_feature_detected!("avx512dq")
            }
            #[cfg(target_arch = "x86_64")]
            Simd::Avx2 => std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("popcnt") && std::arch::is_x86_feature_detected!("bmi1"),
            Simd::Portable => true,
        }
    }

    /// The best one this processor runs.
    pub fn best() -> Simd {
        *Simd::ALL.iter().find(|s| s.is_supported()).expect("the baseline is always supported")
    }

    /// Runs `work` compiled for this instruction set. Only the kernel calls it, with a set it
    /// checked ([`Simd::best`] or `Kernel::with_simd`).
    #[inline(always)]
    pub(super) fn dispatch<W: Work>(self, work: W) -> W::Output {
        match self {
            // The kernel, the only caller, holds a `Simd` that `best()` chose or
            // `Kernel::with_simd` checked with `is_supported`.
            #[cfg(target_arch = "x86_64")]
            // SAFETY: this processor has AVX-512 F, BW, VL, DQ and VPOPCNTDQ (checked above).
            Simd::Avx512Popcnt => unsafe { avx512_popcnt(work) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: this processor has AVX-512 F, BW, VL and DQ (checked above).
            Simd::Avx512 => unsafe { avx512(work) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: this processor has AVX2 (checked above).
            Simd::Avx2 => unsafe { avx2(work) },
            Simd::Portable => work.run(),
        }
    }
}

/// A piece of work compiled once per instruction set. Its `run` must be `#[inline(always)]`
/// (and so must what it calls): a closure is not inlined into the functions below, and would
/// run with the baseline's instructions (measured: 1.7× slower).
pub(super) trait Work {
    /// What the work returns.
    type Output;
    /// Does the work.
    fn run(self) -> Self::Output;
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx512vpopcntdq,popcnt,bmi1")]
fn avx512_popcnt<W: Work>(work: W) -> W::Output {
    work.run()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,popcnt,bmi1")]
fn avx512<W: Work>(work: W) -> W::Output {
    work.run()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,popcnt,bmi1")]
fn avx2<W: Work>(work: W) -> W::Output {
    work.run()
}
