//! `Linear` layers initialised like PyTorch's `nn.Linear` (the reference implementation).

use candle_nn::{Init, Linear, VarBuilder};

use crate::error::Result;

/// `Linear(in_dim, out_dim)` with weight and bias drawn from `U(−1/√in_dim, 1/√in_dim)`, the
/// distribution of PyTorch's default initialisation. Variables `weight` `(out, in)` and `bias`.
pub fn torch_linear(in_dim: usize, out_dim: usize, vb: VarBuilder) -> Result<Linear> {
    let bound = 1.0 / (in_dim.max(1) as f64).sqrt();
    let init = Init::Uniform {
        lo: -bound,
        up: bound,
    };
    let weight = vb.get_with_hints((out_dim, in_dim), "weight", init)?;
    let bias = vb.get_with_hints(out_dim, "bias", init)?;
    Ok(Linear::new(weight, Some(bias)))
}
