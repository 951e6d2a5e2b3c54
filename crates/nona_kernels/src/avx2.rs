//! AVX2 + FMA building blocks of the transformer kernels (LayerNorm, softmax, GELU): the run-time
//! check for those instructions, lane-wise `exp` and `erf` on eight `f32`, horizontal sum and max,
//! and loads/stores from slices.
#![allow(
    unsafe_code,
    reason = "SIMD intrinsics; each unsafe block states why it is sound"
)]

/// Whether this CPU has AVX2 and FMA. std caches the CPUID answer, so the kernels ask once per
/// call (not per row).
pub(crate) fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

#[cfg(target_arch = "x86_64")]
pub(crate) use lanes::*;

#[cfg(target_arch = "x86_64")]
mod lanes {
    use std::arch::x86_64::*;

    /// Lanes of a vector.
    pub(crate) const LANES: usize = 8;

    /// `e^x` lane-wise, relative error below 2e-7 for `x` in `[-87, 88]`: `x = n·ln 2 + r` with
    /// `|r| <= ln 2 / 2`, `e^r` by its Taylor polynomial of degree 7 (truncation error below
    /// 5e-9), `2^n` written into the exponent bits. Inputs are clamped to `[-87.3, 88.3]`, so
    /// very negative ones give about 1e-38 instead of 0.
    #[target_feature(enable = "avx2,fma")]
    pub(crate) fn exp(x: __m256) -> __m256 {
        const LOG2_E: f32 = std::f32::consts::LOG2_E;
        // ln 2 split in 355/512 (whose products with small integers are exact) and the rest.
        const LN2_HIGH: f32 = 355.0 / 512.0;
        const LN2_LOW: f32 = -2.121_944_4e-4;
        let x = _mm256_min_ps(
            _mm256_max_ps(x, _mm256_set1_ps(-87.3)),
            _mm256_set1_ps(88.3),
        );
        let n = _mm256_round_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(
            _mm256_mul_ps(x, _mm256_set1_ps(LOG2_E)),
        );
        let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(LN2_HIGH), x);
        let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(LN2_LOW), r);
        // 1 + r + r²/2! + … + r⁷/7!, Horner from the highest power.
        let mut poly = _mm256_set1_ps(1.0 / 5040.0);
        for coefficient in [
            1.0 / 720.0,
            1.0 / 120.0,
            1.0 / 24.0,
            1.0 / 6.0,
            0.5,
            1.0,
            1.0,
        ] {
            poly = _mm256_fmadd_ps(poly, r, _mm256_set1_ps(coefficient));
        }
        let exponent = _mm256_slli_epi32::<23>(_mm256_add_epi32(
            _mm256_cvtps_epi32(n),
            _mm256_set1_epi32(127),
        ));
        _mm256_mul_ps(poly, _mm256_castsi256_ps(exponent))
    }

    /// `erf(x)` lane-wise, absolute error below 2e-7: Abramowitz & Stegun 7.1.26,
    /// `erf(|x|) = 1 − t·(a1 + t·(a2 + … + t·a5))·e^(−x²)` with `t = 1 / (1 + p·|x|)`, sign restored.
    #[target_feature(enable = "avx2,fma")]
    pub(crate) fn erf(x: __m256) -> __m256 {
        const P: f32 = 0.327_591_1;
        const A: [f32; 5] = [
            0.254_829_6,
            -0.284_496_74,
            1.421_413_7,
            -1.453_152_1,
            1.061_405_4,
        ];
        let sign_bit = _mm256_set1_ps(-0.0);
        let magnitude = _mm256_andnot_ps(sign_bit, x);
        let one = _mm256_set1_ps(1.0);
        let t = _mm256_div_ps(one, _mm256_fmadd_ps(_mm256_set1_ps(P), magnitude, one));
        let mut poly = _mm256_set1_ps(A[4]);
        for &a in A[..4].iter().rev() {
            poly = _mm256_fmadd_ps(poly, t, _mm256_set1_ps(a));
        }
        poly = _mm256_mul_ps(poly, t);
        let gauss = exp(_mm256_fnmadd_ps(magnitude, magnitude, _mm256_setzero_ps()));
        let positive = _mm256_fnmadd_ps(poly, gauss, one);
        _mm256_or_ps(positive, _mm256_and_ps(sign_bit, x))
    }

    /// The eight values at the start of `values` (at least eight long).
    #[target_feature(enable = "avx2,fma")]
    pub(crate) fn load(values: &[f32]) -> __m256 {
        assert!(values.len() >= LANES);
        // SAFETY: `values` holds at least eight floats (asserted); the load is unaligned.
        unsafe { _mm256_loadu_ps(values.as_ptr()) }
    }

    /// Writes `v` into the first eight values of `values` (at least eight long).
    #[target_feature(enable = "avx2,fma")]
    pub(crate) fn store(values: &mut [f32], v: __m256) {
        assert!(values.len() >= LANES);
        // SAFETY: `values` holds at least eight floats (asserted); the store is unaligned.
        unsafe { _mm256_storeu_ps(values.as_mut_ptr(), v) }
    }

    /// The sum of the eight lanes.
    #[target_feature(enable = "avx2,fma")]
    pub(crate) fn sum(v: __m256) -> f32 {
        let quad = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
        let pair = _mm_add_ps(quad, _mm_movehl_ps(quad, quad));
        _mm_cvtss_f32(_mm_add_ss(pair, _mm_shuffle_ps::<0b01>(pair, pair)))
    }

    /// The largest of the eight lanes.
    #[target_feature(enable = "avx2,fma")]
    pub(crate) fn max(v: __m256) -> f32 {
        let quad = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
        let pair = _mm_max_ps(quad, _mm_movehl_ps(quad, quad));
        _mm_cvtss_f32(_mm_max_ss(pair, _mm_shuffle_ps::<0b01>(pair, pair)))
    }
}
