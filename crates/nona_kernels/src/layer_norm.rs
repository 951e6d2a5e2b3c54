//! LayerNorm over the rows of a row-major matrix, optionally after adding a residual, as PyTorch's
//! `nn.LayerNorm` computes it: `y = (x − mean) / sqrt(var + eps) · weight + bias` with the mean and
//! the biased variance of each row. Two passes over a row (the mean, then the centred variance)
//! keep the variance accurate when the mean is large; rows are processed in parallel.
#![allow(
    unsafe_code,
    reason = "calls of the AVX2 row after checking the CPU has it"
)]

use rayon::prelude::*;

use crate::avx2;

/// Rows per rayon task: a task normalises at least this many rows.
const ROWS_PER_TASK: usize = 16;

/// The parameters of a LayerNorm; its width is the length of `weight`.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerNorm {
    weight: Vec<f32>,
    bias: Vec<f32>,
    eps: f32,
}

impl LayerNorm {
    /// A LayerNorm with `weight` (γ), `bias` (β) and `eps`.
    ///
    /// # Panics
    /// If `weight` is empty or `bias` has another length.
    pub fn new(weight: Vec<f32>, bias: Vec<f32>, eps: f32) -> Self {
        assert!(
            !weight.is_empty() && weight.len() == bias.len(),
            "LayerNorm weight ({}) and bias ({}) must have one non-zero length",
            weight.len(),
            bias.len()
        );
        Self { weight, bias, eps }
    }

    /// The width of a row.
    pub fn width(&self) -> usize {
        self.weight.len()
    }

    /// `rows = LayerNorm(rows + residual)` in place (`residual`: same shape as `rows`, or none).
    ///
    /// # Panics
    /// If `rows` is not a whole number of rows or `residual` has another length.
    pub fn normalize(&self, rows: &mut [f32], residual: Option<&[f32]>) {
        let width = self.check(rows.len());
        let simd = avx2::available();
        match residual {
            Some(residual) => {
                assert_eq!(residual.len(), rows.len(), "residual and rows differ");
                rows.par_chunks_mut(width)
                    .zip(residual.par_chunks(width))
                    .with_min_len(ROWS_PER_TASK)
                    .for_each(|(row, residual)| self.row(row, Some(residual), simd));
            }
            None => rows
                .par_chunks_mut(width)
                .with_min_len(ROWS_PER_TASK)
                .for_each(|row| self.row(row, None, simd)),
        }
    }

    /// `output = LayerNorm(input)`, both of the same shape.
    ///
    /// # Panics
    /// If `input` is not a whole number of rows or `output` has another length.
    pub fn normalize_into(&self, input: &[f32], output: &mut [f32]) {
        let width = self.check(input.len());
        assert_eq!(input.len(), output.len(), "input and output differ");
        let simd = avx2::available();
        output
            .par_chunks_mut(width)
            .zip(input.par_chunks(width))
            .with_min_len(ROWS_PER_TASK)
            .for_each(|(row, input)| {
                row.copy_from_slice(input);
                self.row(row, None, simd);
            });
    }

    /// The scalar reference of [`Self::normalize`] (the kernel on CPUs without AVX2 and FMA).
    pub fn normalize_scalar(&self, rows: &mut [f32], residual: Option<&[f32]>) {
        let width = self.check(rows.len());
        for (i, row) in rows.chunks_exact_mut(width).enumerate() {
            self.row_scalar(row, residual.map(|r| &r[i * width..(i + 1) * width]));
        }
    }

    fn check(&self, len: usize) -> usize {
        let width = self.width();
        assert!(
            len.is_multiple_of(width),
            "{len} values are not rows of {width}"
        );
        width
    }

    fn row(&self, row: &mut [f32], residual: Option<&[f32]>, simd: bool) {
        #[cfg(target_arch = "x86_64")]
        if simd {
            // SAFETY: `simd` is `avx2::available()`: the CPU has AVX2 and FMA.
            unsafe { self.row_avx2(row, residual) };
            return;
        }
        let _ = simd;
        self.row_scalar(row, residual);
    }

    fn row_scalar(&self, row: &mut [f32], residual: Option<&[f32]>) {
        if let Some(residual) = residual {
            for (x, r) in row.iter_mut().zip(residual) {
                *x += r;
            }
        }
        let n = row.len() as f32;
        let mean = row.iter().sum::<f32>() / n;
        let variance = row.iter().map(|x| (x - mean) * (x - mean)).sum::<f32>() / n;
        let inverse = 1.0 / (variance + self.eps).sqrt();
        for ((x, w), b) in row.iter_mut().zip(&self.weight).zip(&self.bias) {
            *x = (*x - mean) * inverse * w + b;
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn row_avx2(&self, row: &mut [f32], residual: Option<&[f32]>) {
        use avx2::{LANES, load, store, sum};
        use std::arch::x86_64::{
            _mm256_add_ps, _mm256_fmadd_ps, _mm256_mul_ps, _mm256_set1_ps, _mm256_setzero_ps,
            _mm256_sub_ps,
        };
        let width = row.len();
        let body = width - width % LANES;

        let mut total = _mm256_setzero_ps();
        for i in (0..body).step_by(LANES) {
            let mut x = load(&row[i..]);
            if let Some(residual) = residual {
                x = _mm256_add_ps(x, load(&residual[i..]));
                store(&mut row[i..], x);
            }
            total = _mm256_add_ps(total, x);
        }
        if let Some(residual) = residual {
            for (x, r) in row[body..].iter_mut().zip(&residual[body..]) {
                *x += r;
            }
        }
        let tail: f32 = row[body..].iter().sum();
        let mean = (sum(total) + tail) / width as f32;

        let centre = _mm256_set1_ps(mean);
        let mut squares = _mm256_setzero_ps();
        for i in (0..body).step_by(LANES) {
            let d = _mm256_sub_ps(load(&row[i..]), centre);
            squares = _mm256_fmadd_ps(d, d, squares);
        }
        let tail: f32 = row[body..].iter().map(|x| (x - mean) * (x - mean)).sum();
        let inverse = 1.0 / ((sum(squares) + tail) / width as f32 + self.eps).sqrt();

        let scale = _mm256_set1_ps(inverse);
        for i in (0..body).step_by(LANES) {
            let normed = _mm256_mul_ps(_mm256_sub_ps(load(&row[i..]), centre), scale);
            let y = _mm256_fmadd_ps(normed, load(&self.weight[i..]), load(&self.bias[i..]));
            store(&mut row[i..], y);
        }
        let parameters = self.weight[body..].iter().zip(&self.bias[body..]);
        for (x, (w, b)) in row[body..].iter_mut().zip(parameters) {
            *x = (*x - mean) * inverse * w + b;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::LayerNorm;
    use crate::test_data::test_values;

    /// The definition in f64.
    fn reference(ln: &LayerNorm, rows: &[f32], residual: Option<&[f32]>) -> Vec<f32> {
        let width = ln.width();
        let mut out = Vec::with_capacity(rows.len());
        for (i, row) in rows.chunks(width).enumerate() {
            let x: Vec<f64> = row
                .iter()
                .enumerate()
                .map(|(j, &v)| f64::from(v) + residual.map_or(0.0, |r| f64::from(r[i * width + j])))
                .collect();
            let mean = x.iter().sum::<f64>() / width as f64;
            let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / width as f64;
            let inverse = 1.0 / (var + f64::from(ln.eps)).sqrt();
            out.extend(x.iter().enumerate().map(|(j, v)| {
                ((v - mean) * inverse * f64::from(ln.weight[j]) + f64::from(ln.bias[j])) as f32
            }));
        }
        out
    }

    fn max_gap(a: &[f32], b: &[f32]) -> f32 {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max)
    }

    #[test]
    fn simd_and_scalar_match_the_definition_on_odd_widths() {
        for (rows, width) in [
            (1, 1),
            (1, 7),
            (3, 9),
            (5, 31),
            (40, 384),
            (2, 768),
            (17, 1001),
        ] {
            let ln = LayerNorm::new(
                test_values(width, 1.0, 1.0),
                test_values(width, 0.5, 2.0),
                1e-5,
            );
            // A large mean (outlier-like offset) checks the two-pass variance.
            let x: Vec<f32> = test_values(rows * width, 3.0, 3.0)
                .iter()
                .map(|v| v + 20.0)
                .collect();
            let residual = test_values(rows * width, 1.0, 4.0);
            for with_residual in [false, true] {
                let r = with_residual.then_some(residual.as_slice());
                let expected = reference(&ln, &x, r);
                let mut fast = x.clone();
                ln.normalize(&mut fast, r);
                let mut scalar = x.clone();
                ln.normalize_scalar(&mut scalar, r);
                assert!(max_gap(&fast, &expected) < 2e-5, "{rows}x{width} simd");
                assert!(max_gap(&scalar, &expected) < 2e-5, "{rows}x{width} scalar");
            }
            let mut into = vec![0.0; x.len()];
            ln.normalize_into(&x, &mut into);
            assert!(
                max_gap(&into, &reference(&ln, &x, None)) < 2e-5,
                "{rows}x{width} into"
            );
        }
    }

    #[test]
    fn a_constant_row_gives_the_bias() {
        let ln = LayerNorm::new(vec![2.0; 11], test_values(11, 1.0, 5.0), 1e-12);
        let mut rows = vec![3.5; 22];
        ln.normalize(&mut rows, None);
        assert!(max_gap(&rows[..11], &ln.bias) < 1e-6);
        assert!(max_gap(&rows[11..], &ln.bias) < 1e-6);
    }

    #[test]
    #[should_panic(expected = "not rows of 4")]
    fn partial_rows_are_refused() {
        LayerNorm::new(vec![1.0; 4], vec![0.0; 4], 1e-5).normalize(&mut [0.0; 6], None);
    }
}
