//! Participation ratio of the covariance spectrum, PR = (Σλ)² / Σλ² over the eigenvalues λ of
//! the sample covariance: 1 when all variance lies along one axis, d when it is spread equally
//! over d axes, never above min(d, n − 1).
//!
//! No eigen-decomposition is needed: Σλ = tr C and Σλ² = ‖C‖²_F. With X the centred n × d
//! data, C is proportional to XᵀX, whose nonzero eigenvalues are those of the n × n Gram matrix
//! XXᵀ; the smaller of the two is formed (cost n · min(n, d)² / 2), and the scale cancels.

use rayon::prelude::*;

use super::points::Points;

/// The participation ratio of `points`; NaN for a single row or when all rows are equal (no
/// variance to spread).
pub fn participation_ratio(points: &Points) -> f64 {
    let (n, d) = (points.rows(), points.columns());
    if n < 2 {
        return f64::NAN;
    }
    // Shifted by row 0 before centring: exact zeros when all rows are equal, and less
    // cancellation when the mean is large against the spread.
    let origin = points.row(0);
    let shifted: Vec<f64> = points
        .values()
        .chunks_exact(d)
        .flat_map(|row| row.iter().zip(origin).map(|(v, o)| v - o))
        .collect();
    let mut mean = vec![0.0; d];
    for row in shifted.chunks_exact(d) {
        mean.iter_mut().zip(row).for_each(|(m, v)| *m += v);
    }
    mean.iter_mut().for_each(|m| *m /= n as f64);
    let centred: Vec<f64> = shifted
        .chunks_exact(d)
        .flat_map(|row| row.iter().zip(&mean).map(|(v, m)| v - m))
        .collect();
    let (trace, squared_frobenius) = if d <= n {
        cross_product_moments(&centred, d)
    } else {
        let transposed: Vec<f64> = (0..d)
            .flat_map(|column| centred.iter().skip(column).step_by(d).copied())
            .collect();
        cross_product_moments(&transposed, n)
    };
    if trace == 0.0 {
        f64::NAN
    } else {
        trace * trace / squared_frobenius
    }
}

/// Trace and squared Frobenius norm of AᵀA for the row-major matrix A with `columns` columns,
/// one row of the upper triangle of AᵀA per task.
fn cross_product_moments(a: &[f64], columns: usize) -> (f64, f64) {
    let upper_rows: Vec<(f64, f64)> = (0..columns)
        .into_par_iter()
        .map(|i| {
            let mut product_row = vec![0.0; columns - i];
            for row in a.chunks_exact(columns) {
                let ai = row[i];
                product_row
                    .iter_mut()
                    .zip(&row[i..])
                    .for_each(|(p, aj)| *p += ai * aj);
            }
            let off_diagonal: f64 = product_row[1..].iter().map(|p| p * p).sum();
            (
                product_row[0],
                product_row[0] * product_row[0] + 2.0 * off_diagonal,
            )
        })
        .collect();
    upper_rows
        .iter()
        .fold((0.0, 0.0), |(trace, frobenius), (diagonal, squares)| {
            (trace + diagonal, frobenius + squares)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_equally_loaded_axes_and_ignores_the_mean() {
        // ±1 along x and y, nothing along z: two equal eigenvalues, PR = 2.
        let rows = [
            [1.0, 0.0, 5.0],
            [-1.0, 0.0, 5.0],
            [0.0, 1.0, 5.0],
            [0.0, -1.0, 5.0],
        ];
        let pr = participation_ratio(&Points::from_rows(&rows).unwrap());
        assert!((pr - 2.0).abs() < 1e-14, "{pr}");
    }

    #[test]
    fn gram_and_covariance_sides_agree() {
        // Eigenvalues 4 and 1 (x has variance 4× y's): PR = 25 / 17 either way round.
        let tall = [[2.0, 0.0], [-2.0, 0.0], [0.0, 1.0], [0.0, -1.0]];
        let wide: Vec<Vec<f64>> = tall
            .iter()
            .map(|r| [r.as_slice(), &[0.0; 6]].concat())
            .collect();
        for rows in [tall.iter().map(|r| r.to_vec()).collect::<Vec<_>>(), wide] {
            let pr = participation_ratio(&Points::from_rows(&rows).unwrap());
            assert!((pr - 25.0 / 17.0).abs() < 1e-14, "{pr}");
        }
    }

    #[test]
    fn nan_without_variance() {
        assert!(participation_ratio(&Points::from_rows(&[[1.0, 2.0]]).unwrap()).is_nan());
        assert!(participation_ratio(&Points::from_rows(&[[0.1, 0.7]; 3]).unwrap()).is_nan());
    }
}
