//! Softmax over the rows of a row-major matrix of attention scores, with the attention's scale
//! folded in: `p_j = exp(scale·(s_j − max s)) / Σ_k exp(scale·(s_k − max s))`, i.e.
//! `softmax(scale · s)` for `scale > 0`, in three passes over each row (max, exponentials and their
//! sum, division). Padding needs no mask: [`crate::attention`] scores each sequence's own keys only.
#![allow(
    unsafe_code,
    reason = "calls of the AVX2 row after checking the CPU has it"
)]

use rayon::prelude::*;

use crate::avx2;

/// Scores per rayon task: a task takes whole rows, at least this many values.
const VALUES_PER_TASK: usize = 16 * 1024;

/// `softmax(scale · row)` for each row of `width` values of `scores`, in place.
///
/// # Panics
/// If `width` is 0, `scores` is not a whole number of rows or `scale` is not positive.
pub fn softmax_rows(scores: &mut [f32], width: usize, scale: f32) {
    check(scores.len(), width, scale);
    let simd = avx2::available();
    scores
        .par_chunks_mut(width)
        .with_min_len(VALUES_PER_TASK.div_ceil(width))
        .for_each(|row| softmax_row(row, scale, simd));
}

/// The scalar reference of [`softmax_rows`] (the kernel on CPUs without AVX2 and FMA).
pub fn softmax_rows_scalar(scores: &mut [f32], width: usize, scale: f32) {
    check(scores.len(), width, scale);
    scores
        .chunks_exact_mut(width)
        .for_each(|row| row_scalar(row, scale));
}

/// `softmax(scale · row)` in place on the calling thread (`simd`: [`avx2::available`]).
pub(crate) fn softmax_row(row: &mut [f32], scale: f32, simd: bool) {
    #[cfg(target_arch = "x86_64")]
    if simd {
        // SAFETY: `simd` is `avx2::available()`: the CPU has AVX2 and FMA.
        unsafe { row_avx2(row, scale) };
        return;
    }
    let _ = simd;
    row_scalar(row, scale);
}

fn check(len: usize, width: usize, scale: f32) {
    assert!(
        width > 0 && len.is_multiple_of(width),
        "{len} scores are not rows of {width}"
    );
    assert!(scale > 0.0, "softmax scale {scale} is not positive");
}

fn row_scalar(row: &mut [f32], scale: f32) {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut total = 0.0f64;
    for s in row.iter_mut() {
        *s = (scale * (*s - max)).exp();
        total += f64::from(*s);
    }
    let inverse = (1.0 / total) as f32;
    for p in row.iter_mut() {
        *p *= inverse;
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn row_avx2(row: &mut [f32], scale: f32) {
    use avx2::{LANES, exp, load, max, store, sum};
    use std::arch::x86_64::{
        _mm256_add_ps, _mm256_max_ps, _mm256_mul_ps, _mm256_set1_ps, _mm256_setzero_ps,
        _mm256_sub_ps,
    };
    let width = row.len();
    let body = width - width % LANES;

    let mut highest = _mm256_set1_ps(f32::NEG_INFINITY);
    for i in (0..body).step_by(LANES) {
        highest = _mm256_max_ps(highest, load(&row[i..]));
    }
    let top = row[body..].iter().copied().fold(max(highest), f32::max);

    let (top_v, scale_v) = (_mm256_set1_ps(top), _mm256_set1_ps(scale));
    let mut total = _mm256_setzero_ps();
    for i in (0..body).step_by(LANES) {
        let e = exp(_mm256_mul_ps(
            scale_v,
            _mm256_sub_ps(load(&row[i..]), top_v),
        ));
        store(&mut row[i..], e);
        total = _mm256_add_ps(total, e);
    }
    let mut tail = 0.0;
    for s in &mut row[body..] {
        *s = (scale * (*s - top)).exp();
        tail += *s;
    }

    let inverse = 1.0 / (sum(total) + tail);
    let inverse_v = _mm256_set1_ps(inverse);
    for i in (0..body).step_by(LANES) {
        let p = _mm256_mul_ps(load(&row[i..]), inverse_v);
        store(&mut row[i..], p);
    }
    for p in &mut row[body..] {
        *p *= inverse;
    }
}

#[cfg(test)]
mod tests {
    use super::{softmax_rows, softmax_rows_scalar};
    use crate::test_data::test_values;

    /// The definition in f64.
    fn reference(scores: &[f32], width: usize, scale: f32) -> Vec<f32> {
        scores
            .chunks(width)
            .flat_map(|row| {
                let exps: Vec<f64> = row
                    .iter()
                    .map(|&s| (f64::from(scale) * f64::from(s)).exp())
                    .collect();
                let total: f64 = exps.iter().sum();
                exps.into_iter().map(move |e| (e / total) as f32)
            })
            .collect()
    }

    fn max_relative_gap(a: &[f32], b: &[f32]) -> f32 {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs() / y.abs().max(1e-30))
            .fold(0.0, f32::max)
    }

    #[test]
    fn simd_and_scalar_match_the_definition_on_odd_widths() {
        for (rows, width) in [
            (1, 1),
            (1, 5),
            (3, 8),
            (7, 13),
            (64, 64),
            (2, 200),
            (5, 1500),
        ] {
            for scale in [1.0, 0.125] {
                let scores = test_values(rows * width, 8.0, width as f32);
                let expected = reference(&scores, width, scale);
                let mut fast = scores.clone();
                softmax_rows(&mut fast, width, scale);
                let mut scalar = scores.clone();
                softmax_rows_scalar(&mut scalar, width, scale);
                assert!(
                    max_relative_gap(&fast, &expected) < 2e-6,
                    "{rows}x{width} simd"
                );
                assert!(
                    max_relative_gap(&scalar, &expected) < 2e-6,
                    "{rows}x{width} scalar"
                );
            }
        }
    }

    #[test]
    fn large_scores_do_not_overflow_and_rows_sum_to_one() {
        let mut scores = vec![
            1.0e4,
            1.0e4 - 1.0,
            -1.0e4,
            50.0,
            0.0,
            3.0,
            1.0e4,
            -3.0e38,
            7.0,
        ];
        softmax_rows(&mut scores, 9, 1.0);
        assert!(scores.iter().all(|p| p.is_finite() && *p >= 0.0));
        assert!((scores.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        let e = (-1.0f32).exp();
        assert!((scores[0] - 1.0 / (2.0 + e)).abs() < 1e-6);
        assert!((scores[1] - e / (2.0 + e)).abs() < 1e-6);
    }
}
