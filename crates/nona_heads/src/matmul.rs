//! A checked, safe front to the `gemm` crate (the kernel candle's CPU matmul uses) for row-major
//! slices, each operand optionally read transposed.

use num_traits::Float;

/// A row-major matrix slice read as `rows × cols`, either as stored or transposed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Operand<'a, T> {
    data: &'a [T],
    rows: usize,
    cols: usize,
    transposed: bool,
}

impl<'a, T> Operand<'a, T> {
    /// `data` stored row-major as `rows × cols`, read as is.
    pub(crate) fn new(data: &'a [T], rows: usize, cols: usize) -> Self {
        Self {
            data,
            rows,
            cols,
            transposed: false,
        }
    }

    /// `data` stored row-major as `stored_rows × stored_cols`, read as its transpose
    /// (`stored_cols × stored_rows`).
    pub(crate) fn transposed(data: &'a [T], stored_rows: usize, stored_cols: usize) -> Self {
        Self {
            data,
            rows: stored_cols,
            cols: stored_rows,
            transposed: true,
        }
    }

    /// `(row stride, column stride)` of the logical matrix in `data`.
    fn strides(&self) -> (isize, isize) {
        if self.transposed {
            (1, self.rows as isize)
        } else {
            (self.cols as isize, 1)
        }
    }
}

/// `dst (m × n, row-major) = lhs · rhs`, or `dst += lhs · rhs` when `accumulate`, on one thread
/// (training runs one cell per core).
///
/// # Panics
/// When the shapes do not fit together or a slice does not hold exactly its matrix.
pub(crate) fn matmul<T: Float + 'static>(
    dst: &mut [T],
    lhs: Operand<T>,
    rhs: Operand<T>,
    accumulate: bool,
) {
    let (m, k, n) = (lhs.rows, lhs.cols, rhs.cols);
    assert_eq!(
        rhs.rows, k,
        "matmul: inner dimensions {k} and {} differ",
        rhs.rows
    );
    assert_eq!(lhs.data.len(), m * k, "matmul: lhs is not {m} × {k}");
    assert_eq!(rhs.data.len(), k * n, "matmul: rhs is not {k} × {n}");
    assert_eq!(dst.len(), m * n, "matmul: dst is not {m} × {n}");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            dst.fill(T::zero());
        }
        return;
    }
    let (lhs_rs, lhs_cs) = lhs.strides();
    let (rhs_rs, rhs_cs) = rhs.strides();
    // SAFETY: the asserts above guarantee that every element the kernel addresses,
    // `(i, j)` at `i * rs + j * cs` for `i < rows`, `j < cols`, lies inside its slice (row-major
    // storage of exactly `rows × cols` elements, read directly or transposed), and `dst` is a
    // unique borrow that does not alias the shared `lhs` and `rhs`.
    #[allow(unsafe_code)]
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            lhs.data.as_ptr(),
            lhs_cs,
            lhs_rs,
            rhs.data.as_ptr(),
            rhs_cs,
            rhs_rs,
            T::one(),
            T::one(),
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The textbook triple loop, the reference.
    fn naive(lhs: &[f64], rhs: &[f64], m: usize, k: usize, n: usize) -> Vec<f64> {
        let mut out = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                out[i * n + j] = (0..k).map(|p| lhs[i * k + p] * rhs[p * n + j]).sum();
            }
        }
        out
    }

    fn transpose(data: &[f64], rows: usize, cols: usize) -> Vec<f64> {
        let mut out = vec![0.0; data.len()];
        for r in 0..rows {
            for c in 0..cols {
                out[c * rows + r] = data[r * cols + c];
            }
        }
        out
    }

    #[test]
    fn every_transposition_and_accumulation_matches_the_triple_loop() {
        let (m, k, n) = (5, 7, 3);
        let lhs: Vec<f64> = (0..m * k).map(|i| (i as f64 * 0.37).sin()).collect();
        let rhs: Vec<f64> = (0..k * n).map(|i| (i as f64 * 0.91).cos()).collect();
        let expected = naive(&lhs, &rhs, m, k, n);
        let lhs_t = transpose(&lhs, m, k);
        let rhs_t = transpose(&rhs, k, n);
        for (l, r) in [
            (Operand::new(&lhs, m, k), Operand::new(&rhs, k, n)),
            (Operand::transposed(&lhs_t, k, m), Operand::new(&rhs, k, n)),
            (Operand::new(&lhs, m, k), Operand::transposed(&rhs_t, n, k)),
            (
                Operand::transposed(&lhs_t, k, m),
                Operand::transposed(&rhs_t, n, k),
            ),
        ] {
            let mut dst = vec![f64::NAN; m * n];
            matmul(&mut dst, l, r, false);
            for (a, b) in dst.iter().zip(&expected) {
                assert!((a - b).abs() < 1e-12, "{a} vs {b}");
            }
            let mut dst = vec![1.0; m * n];
            matmul(&mut dst, l, r, true);
            for (a, b) in dst.iter().zip(&expected) {
                assert!((a - (b + 1.0)).abs() < 1e-12, "{a} vs {b} + 1");
            }
        }
    }

    #[test]
    #[should_panic(expected = "inner dimensions")]
    fn mismatched_shapes_panic_instead_of_reading_out_of_bounds() {
        let a = [1.0f32; 6];
        let mut dst = [0.0f32; 4];
        matmul(
            &mut dst,
            Operand::new(&a, 2, 3),
            Operand::new(&a, 2, 3),
            false,
        );
    }
}
