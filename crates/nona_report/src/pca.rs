//! PCA for embedding maps: centre the n × d data, form the d × d sample covariance, and find
//! its leading eigenpairs by block subspace iteration with Rayleigh–Ritz (cyclic Jacobi on the
//! small projected matrix).
//!
//! The block has `n_components + 8` columns (all d when d is that small, where one step is an
//! exact eigen-decomposition). It stops once every wanted Ritz pair has residual
//! ‖Cv − λv‖ ≤ 1e-12 λ₁, or after 1000 steps (only when eigenvalues are nearly equal, where
//! the axes are ill-defined anyway). Cost: O(n d²) for the covariance plus O(d² · block) per
//! step. Each component's sign is fixed so that its largest-magnitude coordinate is positive.

use crate::ReportError;

/// A fitted PCA: mean and leading principal axes.
#[derive(Debug, Clone, PartialEq)]
pub struct Pca {
    /// Per-feature mean of the fitted data (length d).
    pub mean: Vec<f64>,
    /// Principal axes, one unit vector of length d per component, by decreasing variance.
    pub components: Vec<Vec<f64>>,
    /// Sample variance (ddof = 1) along each component.
    pub explained_variance: Vec<f64>,
    /// Total sample variance of the data (trace of the covariance), for variance shares.
    pub total_variance: f64,
}

impl Pca {
    /// Fits `n_components` axes to `rows` (n rows of equal length d ≥ `n_components`, n ≥ 2).
    pub fn fit(rows: &[Vec<f32>], n_components: usize) -> Result<Self, ReportError> {
        let n = rows.len();
        let d = rows.first().map_or(0, Vec::len);
        if n < 2 || d < n_components || n_components == 0 {
            return Err(ReportError::InvalidInput(format!(
                "PCA of {n} rows × {d} features into {n_components} components"
            )));
        }
        if rows
            .iter()
            .any(|r| r.len() != d || r.iter().any(|v| !v.is_finite()))
        {
            return Err(ReportError::InvalidInput(
                "PCA rows must all have the same length and finite values".into(),
            ));
        }
        let mut mean = vec![0.0; d];
        for row in rows {
            for (m, &v) in mean.iter_mut().zip(row) {
                *m += f64::from(v);
            }
        }
        mean.iter_mut().for_each(|m| *m /= n as f64);
        let covariance = sample_covariance(rows, &mean);
        let total_variance = (0..d).map(|i| covariance[i * d + i]).sum();
        let (explained_variance, axes) = leading_eigenpairs(&covariance, d, n_components);
        let components = axes
            .into_iter()
            .map(|mut axis| {
                let largest = axis
                    .iter()
                    .copied()
                    .fold(0.0, |a: f64, v| if v.abs() > a.abs() { v } else { a });
                if largest < 0.0 {
                    axis.iter_mut().for_each(|v| *v = -*v);
                }
                axis
            })
            .collect();
        Ok(Self {
            mean,
            components,
            explained_variance,
            total_variance,
        })
    }

    /// Coordinates of `row` on the fitted components.
    pub fn project(&self, row: &[f32]) -> Vec<f64> {
        self.components
            .iter()
            .map(|axis| {
                axis.iter()
                    .zip(row.iter().zip(&self.mean))
                    .map(|(a, (&v, m))| a * (f64::from(v) - m))
                    .sum()
            })
            .collect()
    }
}

/// Row-major d × d sample covariance (ddof = 1), upper triangle mirrored.
fn sample_covariance(rows: &[Vec<f32>], mean: &[f64]) -> Vec<f64> {
    let d = mean.len();
    let mut covariance = vec![0.0; d * d];
    let mut centred = vec![0.0; d];
    for row in rows {
        for ((c, &v), m) in centred.iter_mut().zip(row).zip(mean) {
            *c = f64::from(v) - m;
        }
        for i in 0..d {
            let ci = centred[i];
            for j in i..d {
                covariance[i * d + j] += ci * centred[j];
            }
        }
    }
    let scale = 1.0 / (rows.len() - 1) as f64;
    for i in 0..d {
        for j in i..d {
            let value = covariance[i * d + j] * scale;
            covariance[i * d + j] = value;
            covariance[j * d + i] = value;
        }
    }
    covariance
}

const EXTRA_BLOCK_COLUMNS: usize = 8;
const MAX_SUBSPACE_STEPS: usize = 1000;
const RELATIVE_RESIDUAL: f64 = 1e-12;

/// The `count` largest eigenvalues of the symmetric row-major d × d matrix `c`, with unit
/// eigenvectors, by block subspace iteration with Rayleigh–Ritz.
fn leading_eigenpairs(c: &[f64], d: usize, count: usize) -> (Vec<f64>, Vec<Vec<f64>>) {
    let block = (count + EXTRA_BLOCK_COLUMNS).min(d);
    // Start from the unit vectors of the largest diagonal entries (largest variances).
    let mut by_variance: Vec<usize> = (0..d).collect();
    by_variance.sort_by(|&a, &b| c[b * d + b].total_cmp(&c[a * d + a]));
    let mut basis: Vec<Vec<f64>> = by_variance[..block]
        .iter()
        .map(|&i| (0..d).map(|j| f64::from(u8::from(i == j))).collect())
        .collect();
    let mut values = Vec::new();
    let mut vectors = Vec::new();
    for _step in 0..MAX_SUBSPACE_STEPS {
        orthonormalize(&mut basis);
        let images: Vec<Vec<f64>> = basis.iter().map(|v| mat_vec(c, d, v)).collect();
        // Projected matrix H = Qᵀ C Q and its eigenpairs (the Ritz pairs).
        let p = basis.len();
        let mut h = vec![0.0; p * p];
        for i in 0..p {
            for j in 0..p {
                h[i * p + j] = dot(&basis[i], &images[j]);
            }
        }
        let (ritz_values, ritz_vectors) = symmetric_eigen(h, p);
        let mut order: Vec<usize> = (0..p).collect();
        order.sort_by(|&a, &b| ritz_values[b].total_cmp(&ritz_values[a]));
        let combine = |source: &[Vec<f64>], column: usize| -> Vec<f64> {
            let mut out = vec![0.0; d];
            for (k, vector) in source.iter().enumerate() {
                let weight = ritz_vectors[k * p + column];
                out.iter_mut()
                    .zip(vector)
                    .for_each(|(o, v)| *o += weight * v);
            }
            out
        };
        let ritz: Vec<Vec<f64>> = order.iter().map(|&col| combine(&basis, col)).collect();
        let ritz_images: Vec<Vec<f64>> = order.iter().map(|&col| combine(&images, col)).collect();
        values = order[..count].iter().map(|&col| ritz_values[col]).collect();
        let scale = values
            .first()
            .map_or(0.0, |v: &f64| v.abs())
            .max(f64::MIN_POSITIVE);
        let converged = (0..count).all(|i| {
            let residual: f64 = ritz_images[i]
                .iter()
                .zip(&ritz[i])
                .map(|(cv, v)| (cv - values[i] * v).powi(2))
                .sum::<f64>()
                .sqrt();
            residual <= RELATIVE_RESIDUAL * scale
        });
        vectors = ritz[..count].to_vec();
        if converged {
            break;
        }
        // Next basis: C applied to the Ritz vectors (already computed).
        basis = ritz_images;
    }
    (values, vectors)
}

fn mat_vec(c: &[f64], d: usize, v: &[f64]) -> Vec<f64> {
    (0..d).map(|i| dot(&c[i * d..(i + 1) * d], v)).collect()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Modified Gram–Schmidt; a column that becomes (numerically) zero is replaced by the unit
/// vector least represented in the columns before it, so the block keeps full rank.
fn orthonormalize(basis: &mut [Vec<f64>]) {
    for i in 0..basis.len() {
        for _pass in 0..2 {
            for j in 0..i {
                let projection = dot(&basis[i], &basis[j]);
                let (done, current) = basis.split_at_mut(i);
                current[0]
                    .iter_mut()
                    .zip(&done[j])
                    .for_each(|(x, q)| *x -= projection * q);
            }
            let norm = dot(&basis[i], &basis[i]).sqrt();
            if norm > 1e-300 {
                basis[i].iter_mut().for_each(|x| *x /= norm);
            } else {
                let d = basis[i].len();
                let coverage = |k: usize| basis[..i].iter().map(|q| q[k] * q[k]).sum::<f64>();
                let least = (0..d)
                    .min_by(|&a, &b| coverage(a).total_cmp(&coverage(b)))
                    .unwrap_or(0);
                basis[i] = (0..d).map(|k| f64::from(u8::from(k == least))).collect();
            }
        }
    }
}

/// Eigen-decomposition of a symmetric row-major d × d matrix by cyclic Jacobi rotations.
/// Returns eigenvalues and the row-major matrix whose columns are the eigenvectors.
fn symmetric_eigen(mut a: Vec<f64>, d: usize) -> (Vec<f64>, Vec<f64>) {
    let mut v = vec![0.0; d * d];
    (0..d).for_each(|i| v[i * d + i] = 1.0);
    let frobenius: f64 = a.iter().map(|x| x * x).sum::<f64>().sqrt();
    for _sweep in 0..100 {
        let off_diagonal: f64 = (0..d)
            .flat_map(|i| (0..d).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * d + j] * a[i * d + j])
            .sum::<f64>()
            .sqrt();
        if off_diagonal <= 1e-15 * frobenius {
            break;
        }
        for p in 0..d {
            for q in p + 1..d {
                let apq = a[p * d + q];
                if apq == 0.0 {
                    continue;
                }
                // Rotation angle that zeroes a[p][q] (Golub & Van Loan, Alg. 8.4.1).
                let theta = (a[q * d + q] - a[p * d + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..d {
                    let (akp, akq) = (a[k * d + p], a[k * d + q]);
                    a[k * d + p] = c * akp - s * akq;
                    a[k * d + q] = s * akp + c * akq;
                }
                for k in 0..d {
                    let (apk, aqk) = (a[p * d + k], a[q * d + k]);
                    a[p * d + k] = c * apk - s * aqk;
                    a[q * d + k] = s * apk + c * aqk;
                }
                for k in 0..d {
                    let (vkp, vkq) = (v[k * d + p], v[k * d + q]);
                    v[k * d + p] = c * vkp - s * vkq;
                    v[k * d + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    let eigenvalues = (0..d).map(|i| a[i * d + i]).collect();
    (eigenvalues, v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_axis_aligned_variances() {
        // Variance 4 along x, 1 along y, none along z.
        let rows: Vec<Vec<f32>> = vec![
            vec![2.0, 0.0, 5.0],
            vec![-2.0, 0.0, 5.0],
            vec![0.0, 1.0, 5.0],
            vec![0.0, -1.0, 5.0],
        ];
        let pca = Pca::fit(&rows, 2).unwrap();
        let expected_x = 8.0 / 3.0;
        assert!((pca.explained_variance[0] - expected_x).abs() < 1e-12);
        assert!((pca.explained_variance[1] - 2.0 / 3.0).abs() < 1e-12);
        assert!((pca.total_variance - 10.0 / 3.0).abs() < 1e-12);
        assert!((pca.components[0][0] - 1.0).abs() < 1e-12);
        assert!((pca.components[1][1] - 1.0).abs() < 1e-12);
        assert_eq!(pca.project(&[2.0, 0.0, 5.0]), vec![2.0, 0.0]);
    }

    #[test]
    fn subspace_iteration_matches_full_jacobi_when_the_block_is_smaller_than_d() {
        // d = 40 > 2 + 8: the iterative path. Variances decay along skewed axes.
        let d = 40;
        let rows: Vec<Vec<f32>> = (0..300)
            .map(|i| {
                (0..d)
                    .map(|j| {
                        let wave = ((i * (j + 3)) as f64 * 0.37).sin() * 6.0 / (1.0 + j as f64);
                        (wave + 0.3 * ((i + 7 * j) as f64).cos()) as f32
                    })
                    .collect()
            })
            .collect();
        let pca = Pca::fit(&rows, 2).unwrap();
        let covariance = sample_covariance(&rows, &pca.mean);
        let (values, vectors) = symmetric_eigen(covariance, d);
        let mut order: Vec<usize> = (0..d).collect();
        order.sort_by(|&a, &b| values[b].total_cmp(&values[a]));
        for (component, &index) in order[..2].iter().enumerate() {
            let expected = values[index];
            assert!((pca.explained_variance[component] - expected).abs() < 1e-10 * expected);
            let alignment: f64 = (0..d)
                .map(|row| vectors[row * d + index] * pca.components[component][row])
                .sum();
            assert!(
                (alignment.abs() - 1.0).abs() < 1e-10,
                "alignment {alignment}"
            );
        }
    }

    #[test]
    fn rejects_bad_shapes() {
        assert!(Pca::fit(&[vec![1.0, 2.0]], 1).is_err());
        assert!(Pca::fit(&[vec![1.0], vec![2.0]], 2).is_err());
        assert!(Pca::fit(&[vec![1.0, 2.0], vec![2.0]], 1).is_err());
    }
}
