//! Ordinary least squares with an intercept, in closed form: the linear baseline of Fig. 3.

use crate::error::{Result, TrainError};

/// `ŷ = β₀ + Σ βⱼ xⱼ` fitted by minimising the squared error.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearRegression {
    /// `β₀`.
    pub intercept: f64,
    /// `β₁ … β_D`.
    pub coefficients: Vec<f64>,
}

impl LinearRegression {
    /// Solves the normal equations `(XᵀX) β = Xᵀy` (X with a leading column of ones) by Gaussian
    /// elimination with partial pivoting in f64. `features` is row-major `(labels.len() × dim)`.
    /// Errors on mismatched sizes or a singular system (e.g. fewer rows than `dim + 1`,
    /// duplicated or constant columns).
    pub fn fit(features: &[f32], dim: usize, labels: &[f64]) -> Result<Self> {
        if dim == 0 || features.len() != labels.len() * dim {
            return Err(TrainError::Input(format!(
                "{} feature values for {} labels of dimension {dim}",
                features.len(),
                labels.len()
            )));
        }
        let size = dim + 1;
        // Augmented system [XᵀX | Xᵀy], row-major size × (size + 1).
        let mut system = vec![0.0; size * (size + 1)];
        let mut row = vec![1.0; size];
        for (x, &y) in features.chunks_exact(dim).zip(labels) {
            for (slot, &v) in row[1..].iter_mut().zip(x) {
                *slot = f64::from(v);
            }
            for i in 0..size {
                let equation = &mut system[i * (size + 1)..(i + 1) * (size + 1)];
                for j in 0..size {
                    equation[j] += row[i] * row[j];
                }
                equation[size] += row[i] * y;
            }
        }
        let beta = solve(&mut system, size)?;
        Ok(Self {
            intercept: beta[0],
            coefficients: beta[1..].to_vec(),
        })
    }

    /// Predictions for row-major `features` of the fitted dimension.
    pub fn predict(&self, features: &[f32]) -> Vec<f64> {
        features
            .chunks_exact(self.coefficients.len())
            .map(|x| {
                self.intercept
                    + x.iter()
                        .zip(&self.coefficients)
                        .map(|(&v, b)| f64::from(v) * b)
                        .sum::<f64>()
            })
            .collect()
    }
}

/// Solves the augmented `size × (size + 1)` system in place; returns the solution.
fn solve(system: &mut [f64], size: usize) -> Result<Vec<f64>> {
    let width = size + 1;
    let scale = system.iter().fold(0.0_f64, |m, v| m.max(v.abs())).max(1.0);
    for column in 0..size {
        let pivot = (column..size)
            .max_by(|&a, &b| {
                system[a * width + column]
                    .abs()
                    .total_cmp(&system[b * width + column].abs())
            })
            .unwrap_or(column);
        if system[pivot * width + column].abs() <= scale * 1e-12 {
            return Err(TrainError::Input(
                "least squares system is singular (collinear or too few rows)".into(),
            ));
        }
        for k in 0..width {
            system.swap(column * width + k, pivot * width + k);
        }
        for r in (column + 1)..size {
            let factor = system[r * width + column] / system[column * width + column];
            for k in column..width {
                system[r * width + k] -= factor * system[column * width + k];
            }
        }
    }
    let mut beta = vec![0.0; size];
    for r in (0..size).rev() {
        let tail: f64 = ((r + 1)..size)
            .map(|k| system[r * width + k] * beta[k])
            .sum();
        beta[r] = (system[r * width + size] - tail) / system[r * width + r];
    }
    Ok(beta)
}
