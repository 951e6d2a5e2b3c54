//! `StandardScaler` with scikit-learn's numerics.

use crate::{KnnError, Matrix};

/// Per-column centring and scaling fitted on training rows.
#[derive(Debug, Clone, PartialEq)]
pub struct StandardScaler {
    /// Column means.
    pub mean: Vec<f64>,
    /// Column scales: population standard deviation, or 1 for (near-)constant columns.
    pub scale: Vec<f64>,
}

impl StandardScaler {
    /// Fits like `StandardScaler().fit(x)`: column sums accumulated row by row (numpy's
    /// order for an axis-0 reduction), the corrected two-pass variance of
    /// `_incremental_mean_and_var`, and `_is_constant_feature`'s test for scale 1.
    pub fn fit(x: &Matrix) -> Result<Self, KnnError> {
        let (rows, cols) = (x.rows(), x.cols());
        if rows == 0 {
            return Err(KnnError::InvalidParameter(
                "cannot fit a scaler on zero rows".into(),
            ));
        }
        let n = rows as f64;
        let column_sums = |f: &dyn Fn(usize, f64) -> f64| {
            let mut sums = vec![0.0; cols];
            for i in 0..rows {
                for (j, (sum, &v)) in sums.iter_mut().zip(x.row(i)).enumerate() {
                    *sum += f(j, v);
                }
            }
            sums
        };
        let mean: Vec<f64> = column_sums(&|_, v| v).iter().map(|s| s / n).collect();
        let correction = column_sums(&|j, v| v - mean[j]);
        let squares = column_sums(&|j, v| {
            let centred = v - mean[j];
            centred * centred
        });
        let eps = f64::EPSILON;
        let scale = (0..cols)
            .map(|j| {
                let variance = (squares[j] - correction[j] * correction[j] / n) / n;
                let constant_bound = n * eps * variance + (n * mean[j] * eps).powi(2);
                if variance <= constant_bound {
                    1.0
                } else {
                    variance.sqrt()
                }
            })
            .collect();
        Ok(Self { mean, scale })
    }

    /// Returns `(x - mean) / scale`, column-wise.
    pub fn transform(&self, x: &Matrix) -> Result<Matrix, KnnError> {
        if x.cols() != self.mean.len() {
            return Err(KnnError::SizeMismatch {
                what: "scaler columns",
                expected: self.mean.len(),
                got: x.cols(),
            });
        }
        let mut out = x.clone();
        let cols = x.cols();
        for row in out.as_mut_slice().chunks_exact_mut(cols) {
            for ((v, m), s) in row.iter_mut().zip(&self.mean).zip(&self.scale) {
                *v = (*v - m) / s;
            }
        }
        Ok(out)
    }
}
