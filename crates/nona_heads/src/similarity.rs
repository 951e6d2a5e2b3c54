//! Pairwise similarity matrices between query and neighbour embeddings.
//!
//! Gradient safety: `sqrt` has an infinite derivative at 0, which occurs for the L2 distance of a
//! point to itself (the diagonal in training) or to a duplicate, and for the norm of a zero vector
//! in the cosine. [`safe_sqrt`] returns 0 there with a zero gradient (the subgradient PyTorch's
//! `cdist` / `normalize` use). Distances are computed from explicit differences (not
//! `‖z‖² + ‖z′‖² − 2z·z′`), so duplicates give exactly 0 instead of rounding noise.

use std::fmt;
use std::str::FromStr;

use candle_core::{D, Tensor};

use crate::error::{ParseNameError, Result};
use crate::pairwise_distance::{Norm, negative_distances};

/// Norm floor of the cosine similarity, as in `torch.nn.functional.normalize`.
const COSINE_NORM_FLOOR: f64 = 1e-12;

/// Similarity measure between embeddings `z` (query) and `z′` (neighbour).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Similarity {
    /// `−‖z − z′‖₂` (the distance, not squared).
    #[default]
    L2,
    /// `−‖z − z′‖₁`.
    L1,
    /// `z · z′ / d`.
    Dot,
    /// Cosine similarity (zero vectors have similarity 0 to everything).
    Cos,
}

impl Similarity {
    /// All variants, in the order of the pipeline names.
    pub const ALL: [Similarity; 4] = [Self::L2, Self::L1, Self::Dot, Self::Cos];

    /// Name used in pipeline files and tables (`cosine` also parses as [`Self::Cos`]).
    pub fn name(self) -> &'static str {
        match self {
            Self::L2 => "l2",
            Self::L1 => "l1",
            Self::Dot => "dot",
            Self::Cos => "cos",
        }
    }

    /// Similarity matrix `(b, N)` between queries `z` `(b, d)` and neighbours `z_n` `(N, d)`.
    ///
    /// On the CPU, L1/L2 are one direct kernel ([`negative_distances`]); elsewhere they
    /// materialise a `(b, N, d)` difference tensor, so chunk the queries for large banks (as
    /// [`crate::NonaHead::predict`] does).
    pub fn matrix(self, z: &Tensor, z_n: &Tensor) -> Result<Tensor> {
        let on_cpu = z.device().is_cpu() && z_n.device().is_cpu();
        let sim = match self {
            Self::L2 if on_cpu => negative_distances(z, z_n, Norm::L2)?,
            Self::L1 if on_cpu => negative_distances(z, z_n, Norm::L1)?,
            Self::L2 | Self::L1 => self.composed_distances(z, z_n)?,
            Self::Dot => (z.matmul(&z_n.t()?)? / z.dim(1)? as f64)?,
            Self::Cos => unit_rows(z)?.matmul(&unit_rows(z_n)?.t()?)?,
        };
        Ok(sim)
    }

    /// `−L2` / `−L1` from the `(b, N, d)` difference tensor with candle's elementwise ops: the
    /// path on devices other than the CPU, and the reference of the CPU kernel in the tests.
    fn composed_distances(self, z: &Tensor, z_n: &Tensor) -> Result<Tensor> {
        let differences = pairwise_differences(z, z_n)?;
        Ok(match self {
            Self::L1 => differences.abs()?.sum(D::Minus1)?.neg()?,
            _ => safe_sqrt(&differences.sqr()?.sum(D::Minus1)?)?.neg()?,
        })
    }
}

/// `(b, N, d)` tensor of `z_i − z_n_j`.
fn pairwise_differences(z: &Tensor, z_n: &Tensor) -> Result<Tensor> {
    Ok(z.unsqueeze(1)?.broadcast_sub(&z_n.unsqueeze(0)?)?)
}

/// Rows divided by `max(‖row‖₂, 1e-12)`.
fn unit_rows(z: &Tensor) -> Result<Tensor> {
    let norms = safe_sqrt(&z.sqr()?.sum_keepdim(1)?)?.maximum(COSINE_NORM_FLOOR)?;
    Ok(z.broadcast_div(&norms)?)
}

/// Element-wise `sqrt` of a non-negative tensor whose gradient is 0 (not ∞/NaN) where the input is 0.
pub fn safe_sqrt(x: &Tensor) -> Result<Tensor> {
    let positive = x.gt(0.0)?;
    let safe_input = positive.where_cond(x, &x.ones_like()?)?;
    Ok(positive.where_cond(&safe_input.sqrt()?, &x.zeros_like()?)?)
}

impl fmt::Display for Similarity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Similarity {
    type Err = ParseNameError;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        if s == "cosine" {
            return Ok(Self::Cos);
        }
        Self::ALL
            .into_iter()
            .find(|v| v.name() == s)
            .ok_or_else(|| ParseNameError {
                kind: "similarity",
                given: s.to_owned(),
                expected: "l2, l1, dot, cos (or cosine)",
            })
    }
}

#[cfg(test)]
mod tests {
    use candle_core::{DType, Device, Tensor, Var};
    use nona_testkit::Gap;

    use super::Similarity;

    fn values(rows: usize, cols: usize, seed: f64) -> Tensor {
        let data: Vec<f64> = (0..rows * cols)
            .map(|i| ((i as f64 + seed) * 0.731).sin())
            .collect();
        Tensor::from_vec(data, (rows, cols), &Device::Cpu).unwrap()
    }

    /// Forward and both gradients of the CPU kernel equal the composed tensor ops, for a
    /// separate neighbour set and for the batch as its own neighbours (zero diagonal).
    #[test]
    fn cpu_kernel_matches_the_composed_ops() {
        for similarity in [Similarity::L2, Similarity::L1] {
            for own_neighbours in [false, true] {
                let z = Var::from_tensor(&values(5, 4, 0.0)).unwrap();
                let z_n = if own_neighbours {
                    z.clone()
                } else {
                    Var::from_tensor(&values(7, 4, 100.0)).unwrap()
                };
                // With the batch as its own neighbours the diagonal gets zero weight, as the
                // masked self-similarity does in training: candle's composed L1 takes
                // sign(0) = +1 there, the kernel 0 (PyTorch's convention).
                let weights = values(5, if own_neighbours { 5 } else { 7 }, 3.0);
                let weights = if own_neighbours {
                    let off_diagonal = (Tensor::ones((5, 5), DType::F64, &Device::Cpu).unwrap()
                        - Tensor::eye(5, DType::F64, &Device::Cpu).unwrap())
                    .unwrap();
                    (weights * off_diagonal).unwrap()
                } else {
                    weights
                };
                let kernel = similarity.matrix(&z, &z_n).unwrap();
                let composed = similarity.composed_distances(&z, &z_n).unwrap();
                let gap = Gap::of_tensors(&kernel, &composed);
                assert!(gap.max_abs < 1e-12, "{similarity} forward: {gap}");
                let g_kernel = (kernel * &weights)
                    .unwrap()
                    .sum_all()
                    .unwrap()
                    .backward()
                    .unwrap();
                let g_composed = (composed * &weights)
                    .unwrap()
                    .sum_all()
                    .unwrap()
                    .backward()
                    .unwrap();
                for var in [&z, &z_n] {
                    let (a, b) = (g_kernel.get(var).unwrap(), g_composed.get(var).unwrap());
                    let gap = Gap::of_tensors(a, b);
                    assert!(gap.max_abs < 1e-12, "{similarity} gradient differs: {gap}");
                }
            }
        }
    }

    #[test]
    fn duplicates_give_zero_distance_and_finite_gradients() {
        let z = Var::from_tensor(
            &Tensor::from_vec(vec![0.5f32, -1.0, 0.5, -1.0], (2, 2), &Device::Cpu).unwrap(),
        )
        .unwrap();
        for similarity in [Similarity::L2, Similarity::L1] {
            let sim = similarity.matrix(&z, &z).unwrap();
            let values: Vec<f32> = sim.flatten_all().unwrap().to_vec1().unwrap();
            assert_eq!(values, vec![0.0; 4], "{similarity}");
            let grads = sim.sum_all().unwrap().backward().unwrap();
            let grad: Vec<f32> = grads
                .get(&z)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1()
                .unwrap();
            assert_eq!(grad, vec![0.0; 4], "{similarity}: zero-distance gradient");
        }
    }
}
