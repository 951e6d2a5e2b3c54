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

    /// Name used in pipeline files.
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
    /// L1/L2 materialise a `(b, N, d)` difference tensor; chunk the queries for large banks
    /// (as [`crate::NonaHead::predict`] does).
    pub fn matrix(self, z: &Tensor, z_n: &Tensor) -> Result<Tensor> {
        let sim = match self {
            Self::L2 => safe_sqrt(&pairwise_differences(z, z_n)?.sqr()?.sum(D::Minus1)?)?.neg()?,
            Self::L1 => pairwise_differences(z, z_n)?.abs()?.sum(D::Minus1)?.neg()?,
            Self::Dot => (z.matmul(&z_n.t()?)? / z.dim(1)? as f64)?,
            Self::Cos => unit_rows(z)?.matmul(&unit_rows(z_n)?.t()?)?,
        };
        Ok(sim)
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
        Self::ALL
            .into_iter()
            .find(|v| v.name() == s)
            .ok_or_else(|| ParseNameError {
                kind: "similarity",
                given: s.to_owned(),
                expected: "l2, l1, dot, cos",
            })
    }
}
