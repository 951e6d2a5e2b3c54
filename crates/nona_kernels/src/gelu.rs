//! The exact GELU, `gelu(x) = x/2 · (1 + erf(x/√2))` (PyTorch's `F.gelu` with its default
//! `approximate="none"`, the activation of BERT, DistilBERT, MiniLM and Whisper), in place and in
//! parallel. The AVX2 path evaluates `erf` with Abramowitz & Stegun 7.1.26 (absolute error below
//! 2e-7, so `|Δgelu| <= 1e-7·|x|`); the scalar path uses libm's `erff`.
#![allow(
    unsafe_code,
    reason = "calls of the AVX2 loop after checking the CPU has it"
)]

use rayon::prelude::*;

use crate::avx2;

/// Values per rayon task.
const VALUES_PER_TASK: usize = 16 * 1024;

/// `values[i] = gelu(values[i])`.
pub fn gelu(values: &mut [f32]) {
    let simd = avx2::available();
    values
        .par_chunks_mut(VALUES_PER_TASK)
        .for_each(|chunk| gelu_chunk(chunk, simd));
}

/// The scalar reference of [`gelu`] (the kernel on CPUs without AVX2 and FMA).
pub fn gelu_scalar(values: &mut [f32]) {
    for v in values {
        *v = gelu_one(*v);
    }
}

fn gelu_one(x: f32) -> f32 {
    0.5 * x * (1.0 + libm::erff(x * std::f32::consts::FRAC_1_SQRT_2))
}

fn gelu_chunk(chunk: &mut [f32], simd: bool) {
    #[cfg(target_arch = "x86_64")]
    if simd {
        // SAFETY: `simd` is `avx2::available()`: the CPU has AVX2 and FMA.
        unsafe { gelu_avx2(chunk) };
        return;
    }
    let _ = simd;
    gelu_scalar(chunk);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn gelu_avx2(values: &mut [f32]) {
    use avx2::{LANES, erf, load, store};
    use std::arch::x86_64::{_mm256_add_ps, _mm256_mul_ps, _mm256_set1_ps};
    let body = values.len() - values.len() % LANES;
    let (half, one) = (_mm256_set1_ps(0.5), _mm256_set1_ps(1.0));
    let inverse_sqrt2 = _mm256_set1_ps(std::f32::consts::FRAC_1_SQRT_2);
    for i in (0..body).step_by(LANES) {
        let x = load(&values[i..]);
        let e = erf(_mm256_mul_ps(x, inverse_sqrt2));
        store(
            &mut values[i..],
            _mm256_mul_ps(_mm256_mul_ps(half, x), _mm256_add_ps(one, e)),
        );
    }
    gelu_scalar(&mut values[body..]);
}

#[cfg(test)]
mod tests {
    use super::{gelu, gelu_scalar};
    use crate::test_data::test_values;

    /// The definition in f64 (libm's `erf`, accurate to an ulp).
    fn reference(x: f32) -> f32 {
        let x = f64::from(x);
        (0.5 * x * (1.0 + libm::erf(x / std::f64::consts::SQRT_2))) as f32
    }

    #[test]
    fn simd_and_scalar_match_the_definition() {
        for n in [1, 7, 8, 9, 100, 1537, 40_000] {
            let mut values = test_values(n, 6.0, n as f32);
            // Far tails and zero: gelu → x, gelu → 0, gelu(0) = 0.
            values[0] = if n > 1 { -9.5 } else { 0.0 };
            if n > 2 {
                values[1] = 12.0;
                values[2] = 0.0;
            }
            let expected: Vec<f32> = values.iter().map(|&x| reference(x)).collect();
            let mut fast = values.clone();
            gelu(&mut fast);
            let mut scalar = values.clone();
            gelu_scalar(&mut scalar);
            for ((&x, &e), (&f, &s)) in values.iter().zip(&expected).zip(fast.iter().zip(&scalar)) {
                let bound = 1e-6 * x.abs().max(1.0);
                assert!((f - e).abs() <= bound, "simd gelu({x}) = {f}, expected {e}");
                assert!(
                    (s - e).abs() <= bound,
                    "scalar gelu({x}) = {s}, expected {e}"
                );
            }
        }
    }

    #[test]
    fn known_values() {
        let mut values = vec![1.0, -1.0, 2.0];
        gelu(&mut values);
        for (v, e) in values.iter().zip([0.841_344_7, -0.158_655_25, 1.954_5]) {
            assert!((v - e).abs() < 1e-4, "{v} vs {e}");
        }
    }
}
