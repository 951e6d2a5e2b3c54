//! SoftStep: the learned log-mask added to NONA's similarities before the softmax.
//!
//! `sim_norm` is each row of the similarity matrix min-max normalised to `[0, 1]`; the parameters
//! `(a, b, t)` are `sigmoid(θ)` (global, θ ∈ ℝ³) or `sigmoid(Linear(d, 3)(z))` per query (pointwise),
//! clamped to `[ε, 1 − ε]`. The two step functions (README formulas):
//!
//! * **S1**: `a ← min(a, top) − ε` (`top` = row max of `sim_norm`, excluding self in training),
//!   `b ← a + b(1 − a)`; `m = |x−a|^(1/t) / (|x−a|^(1/t) + |b−x|^(1/t))` with both powers clamped
//!   `≥ ε`; `m = 0` (log −∞, the neighbour is rejected) for `x < a` and `m = 1` for `x > b`.
//! * **S2**: `log m = t/(1−t) · (b − x) · ln(x/b)` for `x ≤ b`, else 0, with `x = max(sim_norm, ε)`.
//!   The ε-clamp is not in the authors' latest code; without it a row's minimum gives `ln 0 = −∞`
//!   whose gradient turns into NaN (README, "Numerical note").
//!
//! Gradient safety: min-max normalisation of an all-equal row would be `0/0`; such rows normalise
//! to all zeros (every neighbour then gets the same mask, so the softmax is unaffected). Powers are
//! taken as `exp(ln(max(u, ε)) / t)`, which equals `max(u^(1/t), ε)` for `u ≤ 1` but never
//! differentiates `ln 0`. Masked branches are selected with `where_cond`, so the unused branch
//! gets a zero gradient.

use std::fmt;
use std::str::FromStr;

use candle_core::{Module, Tensor};
use candle_nn::{Init, Linear, VarBuilder};

use crate::error::{ParseNameError, Result};
use crate::linear::torch_linear;

/// Which SoftStep function masks the similarities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SoftStepKind {
    /// No mask: plain NONA.
    None,
    /// S1: rejection threshold `a`, preservation threshold `b`, transition `t`.
    S1,
    /// S2 (the paper's chosen variant): preservation threshold `b` and transition `t`.
    #[default]
    S2,
}

impl SoftStepKind {
    /// All variants, in the order of the pipeline names.
    pub const ALL: [SoftStepKind; 3] = [Self::None, Self::S1, Self::S2];

    /// Name used in pipeline files.
    pub fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::S1 => "s1",
            Self::S2 => "s2",
        }
    }
}

/// How the SoftStep parameters `(a, b, t)` are produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SoftStepParams {
    /// One learned `θ ∈ ℝ³` shared by all queries: `(a, b, t) = sigmoid(θ)`.
    Global,
    /// Per query embedding `z`: `(a, b, t) = sigmoid(Linear(d, 3)(z))` (the paper's choice).
    #[default]
    Pointwise,
}

impl SoftStepParams {
    /// All variants, in the order of the pipeline names.
    pub const ALL: [SoftStepParams; 2] = [Self::Global, Self::Pointwise];

    /// Name used in pipeline files.
    pub fn name(self) -> &'static str {
        match self {
            Self::Global => "global",
            Self::Pointwise => "pointwise",
        }
    }
}

/// The step functions that actually build a mask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StepFunction {
    S1,
    S2,
}

#[derive(Debug, Clone)]
enum ParamSource {
    /// `θ`, shape `(3,)`; variable name `theta`.
    Global(Tensor),
    /// `Linear(d, 3)`; variables `linear.weight`, `linear.bias`.
    Pointwise(Linear),
}

/// The SoftStep module (learned parameters + step function).
#[derive(Debug, Clone)]
pub struct SoftStep {
    function: StepFunction,
    source: ParamSource,
    eps: f64,
}

impl SoftStep {
    /// Builds the module for embeddings of dimension `dim`; `None` for [`SoftStepKind::None`].
    ///
    /// Variables created in `vb`: `theta` (global, initialised N(0, 1) as in the reference) or
    /// `linear.weight` / `linear.bias` (pointwise).
    pub fn new(
        kind: SoftStepKind,
        params: SoftStepParams,
        dim: usize,
        eps: f64,
        vb: VarBuilder,
    ) -> Result<Option<Self>> {
        let function = match kind {
            SoftStepKind::None => return Ok(None),
            SoftStepKind::S1 => StepFunction::S1,
            SoftStepKind::S2 => StepFunction::S2,
        };
        let source = match params {
            SoftStepParams::Global => {
                let init = Init::Randn {
                    mean: 0.0,
                    stdev: 1.0,
                };
                ParamSource::Global(vb.get_with_hints(3, "theta", init)?)
            }
            SoftStepParams::Pointwise => {
                ParamSource::Pointwise(torch_linear(dim, 3, vb.pp("linear"))?)
            }
        };
        Ok(Some(Self {
            function,
            source,
            eps,
        }))
    }

    /// Raw `(a, b, t)` for queries `z` `(b, d)`, each `(b, 1)` (pointwise) or `(1, 1)` (global),
    /// after the sigmoid and the `[ε, 1 − ε]` clamp (before S1's adjustment of `a` and `b`).
    pub fn parameters(&self, z: &Tensor) -> Result<(Tensor, Tensor, Tensor)> {
        let raw = match &self.source {
            ParamSource::Global(theta) => theta.unsqueeze(0)?,
            ParamSource::Pointwise(linear) => linear.forward(z)?,
        };
        let abt = candle_nn::ops::sigmoid(&raw)?.clamp(self.eps, 1.0 - self.eps)?;
        Ok((
            abt.narrow(1, 0, 1)?,
            abt.narrow(1, 1, 1)?,
            abt.narrow(1, 2, 1)?,
        ))
    }

    /// `log m`, shape of `sim` `(b, N)`, for queries `z` and their similarity matrix `sim`.
    ///
    /// `exclude_self` (training, `sim` square with the query itself on the diagonal) makes S1's
    /// `top` ignore the diagonal.
    pub fn log_mask(&self, z: &Tensor, sim: &Tensor, exclude_self: bool) -> Result<Tensor> {
        let (a, b, t) = self.parameters(z)?;
        let x = min_max_rows(sim)?;
        match self.function {
            StepFunction::S1 => {
                let candidates = if exclude_self {
                    let diagonal = Tensor::eye(x.dim(0)?, candle_core::DType::U8, x.device())?;
                    diagonal.where_cond(&x.zeros_like()?, &x)?
                } else {
                    x.clone()
                };
                let top = candidates.max_keepdim(1)?;
                let a = (a.broadcast_minimum(&top)? - self.eps)?;
                let b = (&a + b.broadcast_mul(&(1.0 - &a)?)?)?;
                s1_log_mask(&x, &a, &b, &t, self.eps)
            }
            StepFunction::S2 => s2_log_mask(&x, &b, &t, self.eps),
        }
    }
}

/// Each row min-max normalised to `[0, 1]`; all-equal rows become all zeros (no `0/0`).
pub fn min_max_rows(sim: &Tensor) -> Result<Tensor> {
    let min = sim.min_keepdim(1)?;
    let range = (sim.max_keepdim(1)? - &min)?;
    let positive = range.gt(0.0)?;
    let safe_range = positive.where_cond(&range, &range.ones_like()?)?;
    Ok(sim.broadcast_sub(&min)?.broadcast_div(&safe_range)?)
}

/// S1 log-mask of normalised similarities `x` `(b, N)` with already adjusted `a`, `b` and `t`
/// (each broadcastable to `(b, N)`): −∞ for `x < a`, 0 for `x > b`, `ln m` in between.
pub fn s1_log_mask(x: &Tensor, a: &Tensor, b: &Tensor, t: &Tensor, eps: f64) -> Result<Tensor> {
    let inverse_t = t.recip()?;
    let rise = clamped_power(&x.broadcast_sub(a)?.abs()?, &inverse_t, eps)?;
    let fall = clamped_power(&b.broadcast_sub(x)?.abs()?, &inverse_t, eps)?;
    let transition = (rise.log()? - (&rise + fall)?.log()?)?;
    let rejected = x.broadcast_lt(a)?;
    let preserved = x.broadcast_gt(b)?;
    let neg_infinity =
        Tensor::full(f64::NEG_INFINITY, x.shape(), x.device())?.to_dtype(x.dtype())?;
    let kept = preserved.where_cond(&x.zeros_like()?, &transition)?;
    Ok(rejected.where_cond(&neg_infinity, &kept)?)
}

/// `max(u^p, ε)` for `0 ≤ u`, computed without ever differentiating `ln 0`.
fn clamped_power(u: &Tensor, power: &Tensor, eps: f64) -> Result<Tensor> {
    Ok(u.maximum(eps)?
        .log()?
        .broadcast_mul(power)?
        .exp()?
        .maximum(eps)?)
}

/// S2 log-mask of normalised similarities `x` `(b, N)`: `t/(1−t) · (b − x) · ln(x/b)` for `x ≤ b`
/// (with `x` clamped `≥ ε`), else 0.
pub fn s2_log_mask(x: &Tensor, b: &Tensor, t: &Tensor, eps: f64) -> Result<Tensor> {
    let x = x.maximum(eps)?;
    let sharpness = t.broadcast_div(&(1.0 - t)?)?;
    let value = b
        .broadcast_sub(&x)?
        .broadcast_mul(&x.broadcast_div(b)?.log()?)?
        .broadcast_mul(&sharpness)?;
    let below = x.broadcast_le(b)?;
    Ok(below.where_cond(&value, &x.zeros_like()?)?)
}

impl fmt::Display for SoftStepKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for SoftStepKind {
    type Err = ParseNameError;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|v| v.name() == s)
            .ok_or_else(|| ParseNameError {
                kind: "softstep",
                given: s.to_owned(),
                expected: "none, s1, s2",
            })
    }
}

impl fmt::Display for SoftStepParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for SoftStepParams {
    type Err = ParseNameError;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|v| v.name() == s)
            .ok_or_else(|| ParseNameError {
                kind: "softstep parameters",
                given: s.to_owned(),
                expected: "global, pointwise",
            })
    }
}
