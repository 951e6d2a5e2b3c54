//! The dense regression head, `Linear(d, 1)`: the baseline NONA is compared with.

use candle_core::{Module, Tensor};
use candle_nn::{Linear, VarBuilder};

use crate::error::Result;
use crate::linear::torch_linear;
use crate::scaling::clip_unit;

/// `ŷ = w · z + c`.
#[derive(Debug, Clone)]
pub struct DenseHead {
    linear: Linear,
}

impl DenseHead {
    /// Head over embeddings of dimension `dim`; variables `linear.weight`, `linear.bias` in `vb`.
    pub fn new(dim: usize, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            linear: torch_linear(dim, 1, vb.pp("linear"))?,
        })
    }

    /// Predictions `(b,)` for embeddings `(b, d)`, not clipped (training).
    pub fn forward(&self, z: &Tensor) -> Result<Tensor> {
        Ok(self.linear.forward(z)?.squeeze(1)?)
    }

    /// Predictions clipped to `[0, 1]` (evaluation), detached from the graph.
    pub fn predict(&self, z: &Tensor) -> Result<Tensor> {
        clip_unit(&self.forward(&z.detach())?.detach())
    }
}
