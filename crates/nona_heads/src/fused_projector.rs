//! The projector's training step written out for the CPU: `[BatchNorm1d (batch statistics) →
//! Linear → Tanh]` forward, the backward pass into flat gradient buffers, and Adam, on flat
//! parameter vectors whose buffers are reused from step to step.
//!
//! [`Projector::forward_train`](crate::Projector::forward_train) under candle's autograd
//! computes the same function, but through dozens of small tensors per layer and step
//! (transposes, broadcasts, every op's gradient, each allocated); at the paper's shapes (batch
//! 32, 512 → 200 → 25) that bookkeeping cost more than the arithmetic. Training runs this
//! module; the autograd projector is its reference in the tests and does evaluation. Values move
//! between the two through the `VarMap` ([`FusedProjector::from_varmap`],
//! [`FusedProjector::write_to_varmap`]), under the projector's variable names.
//!
//! Per layer with input `x` (`b × n`), BatchNorm weight `γ`, bias `β`, Linear `W` (`m × n`), `c`:
//! `x̂ = (x − μ) / √(σ² + ε)` (batch mean, biased variance), `u = γ x̂ + β`, `h = tanh(u Wᵀ + c)`;
//! running statistics move by momentum with the unbiased variance. Backward from `∂h`:
//! `∂a = ∂h (1 − h²)`, `∂W = ∂aᵀ u`, `∂c = Σ ∂a`, `∂u = ∂a W`, `∂γ = Σ ∂u x̂`, `∂β = Σ ∂u`,
//! `∂x = (γ / (b √(σ² + ε))) (b ∂u − Σ ∂u − x̂ Σ ∂u x̂)` (sums over the batch); the parameter
//! gradients are computed from `∂aᵀ x̂` without forming `∂u` (see `Layer::backward`).

use std::sync::PoisonError;

use candle_core::{Device, Tensor, WithDType};
use candle_nn::{BatchNormConfig, VarMap};
use num_traits::Float;

use crate::error::{HeadsError, Result};
use crate::matmul::{Operand, matmul};
use crate::nona::MIN_TRAIN_BATCH;
use crate::optim::{AdamConfig, AdamMoments};
use crate::projector::{ProjectorConfig, layer_variable};

/// A trainable vector: value, gradient of the last backward pass, Adam state.
#[derive(Debug, Clone)]
struct Param<T> {
    value: Vec<T>,
    grad: Vec<T>,
    moments: AdamMoments<T>,
}

impl<T: Float> Param<T> {
    fn new(value: Vec<T>) -> Self {
        let len = value.len();
        Self {
            value,
            grad: vec![T::zero(); len],
            moments: AdamMoments::new(len),
        }
    }

    fn adam_step(&mut self, config: &AdamConfig) {
        self.moments.update(config, &mut self.value, &self.grad);
    }
}

/// One `[BatchNorm1d → Linear → Tanh]` layer and what its backward pass needs of the last
/// forward pass.
#[derive(Debug, Clone)]
struct Layer<T> {
    input_dim: usize,
    output_dim: usize,
    norm_weight: Param<T>,
    norm_bias: Param<T>,
    running_mean: Vec<T>,
    running_var: Vec<T>,
    /// `(output_dim × input_dim)`, row-major like PyTorch's `nn.Linear`.
    linear_weight: Param<T>,
    linear_bias: Param<T>,
    /// `x̂` of the last batch, `(b × input_dim)`.
    normalized: Vec<T>,
    /// `1 / √(σ² + ε)` per input feature.
    inv_std: Vec<T>,
    /// `u = γ x̂ + β`, the Linear's input, `(b × input_dim)` (forward only).
    affine: Vec<T>,
    /// `h`, `(b × output_dim)`.
    output: Vec<T>,
    /// Scratch: `∂a` `(b × output_dim)` and `∂u` `(b × input_dim)`.
    grad_pre_activation: Vec<T>,
    grad_affine: Vec<T>,
    /// `∂x`, `(b × input_dim)`; the previous layer's `∂h` (unused on the first layer).
    grad_input: Vec<T>,
}

/// The projector's variables as flat vectors, trained with a hand-written forward, backward
/// and Adam step (see the module docs).
#[derive(Debug, Clone)]
pub struct FusedProjector<T> {
    layers: Vec<Layer<T>>,
    adam: AdamConfig,
    eps: T,
    momentum: T,
    /// Rows of the last [`Self::forward_train`].
    batch: usize,
}

impl<T: Float + FastTanh + WithDType> FusedProjector<T> {
    /// Copies the projector's variables (`{prefix}.layers.{i}.norm.*`, `…linear.*`, as
    /// [`Projector::new`](crate::Projector::new) names them) out of `varmap`; `adam` will train
    /// them. BatchNorm's ε and momentum are candle's (and PyTorch's) defaults, as in `Projector`.
    pub fn from_varmap(
        varmap: &VarMap,
        prefix: &str,
        config: &ProjectorConfig,
        adam: AdamConfig,
    ) -> Result<Self> {
        let data = varmap.data().lock().unwrap_or_else(PoisonError::into_inner);
        let read = |layer: usize, name: &str, len: usize| -> Result<Vec<T>> {
            let key = qualified(prefix, &layer_variable(layer, name));
            let var = data
                .get(&key)
                .ok_or_else(|| HeadsError::Shape(format!("no projector variable `{key}`")))?;
            let values = var.as_tensor().flatten_all()?.to_vec1::<T>()?;
            if values.len() != len {
                return Err(HeadsError::Shape(format!(
                    "`{key}` has {} values, expected {len}",
                    values.len()
                )));
            }
            Ok(values)
        };
        let layers = config
            .layer_dims()
            .enumerate()
            .map(|(i, (input_dim, output_dim))| {
                Ok(Layer {
                    input_dim,
                    output_dim,
                    norm_weight: Param::new(read(i, "norm.weight", input_dim)?),
                    norm_bias: Param::new(read(i, "norm.bias", input_dim)?),
                    running_mean: read(i, "norm.running_mean", input_dim)?,
                    running_var: read(i, "norm.running_var", input_dim)?,
                    linear_weight: Param::new(read(i, "linear.weight", output_dim * input_dim)?),
                    linear_bias: Param::new(read(i, "linear.bias", output_dim)?),
                    normalized: Vec::new(),
                    inv_std: vec![T::zero(); input_dim],
                    affine: Vec::new(),
                    output: Vec::new(),
                    grad_pre_activation: Vec::new(),
                    grad_affine: Vec::new(),
                    grad_input: Vec::new(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let defaults = BatchNormConfig::default();
        let cast = |v: f64| T::from(v).unwrap_or_else(T::nan);
        Ok(Self {
            layers,
            adam,
            eps: cast(defaults.eps),
            momentum: cast(defaults.momentum),
            batch: 0,
        })
    }

    /// Writes the current values (parameters and running statistics) into the variables they
    /// were read from.
    pub fn write_to_varmap(&self, varmap: &VarMap, prefix: &str) -> Result<()> {
        let data = varmap.data().lock().unwrap_or_else(PoisonError::into_inner);
        for (i, layer) in self.layers.iter().enumerate() {
            for (name, values) in [
                ("norm.weight", &layer.norm_weight.value),
                ("norm.bias", &layer.norm_bias.value),
                ("norm.running_mean", &layer.running_mean),
                ("norm.running_var", &layer.running_var),
                ("linear.weight", &layer.linear_weight.value),
                ("linear.bias", &layer.linear_bias.value),
            ] {
                let key = qualified(prefix, &layer_variable(i, name));
                let var = data
                    .get(&key)
                    .ok_or_else(|| HeadsError::Shape(format!("no projector variable `{key}`")))?;
                var.set(&Tensor::from_slice(values, var.shape(), &Device::Cpu)?)?;
            }
        }
        Ok(())
    }

    /// Output dimension `d`.
    pub fn embedding_dim(&self) -> usize {
        self.layers.last().map_or(0, |layer| layer.output_dim)
    }

    /// Training pass over `x` (`rows × input_dim`, row-major): batch statistics, running
    /// statistics updated. Returns the embeddings `(rows × d)`. Needs at least two rows.
    pub fn forward_train(&mut self, x: &[T]) -> Result<&[T]> {
        let input_dim = self.layers.first().map_or(0, |layer| layer.input_dim);
        if input_dim == 0 || !x.len().is_multiple_of(input_dim) {
            return Err(HeadsError::Shape(format!(
                "{} values do not form rows of dimension {input_dim}",
                x.len()
            )));
        }
        let rows = x.len() / input_dim;
        if rows < MIN_TRAIN_BATCH {
            return Err(HeadsError::TrainBatchTooSmall {
                size: rows,
                min: MIN_TRAIN_BATCH,
            });
        }
        self.batch = rows;
        let (eps, momentum) = (self.eps, self.momentum);
        for i in 0..self.layers.len() {
            let (before, rest) = self.layers.split_at_mut(i);
            let input = before.last().map_or(x, |previous| &previous.output);
            rest[0].forward(input, rows, eps, momentum);
        }
        Ok(self.layers.last().map_or(&[], |layer| &layer.output))
    }

    /// Backward pass from `grad_output` `= ∂loss/∂embeddings` (`rows × d` of the last
    /// [`Self::forward_train`]); sets every parameter's gradient.
    pub fn backward(&mut self, grad_output: &[T]) -> Result<()> {
        let expected = self.batch * self.embedding_dim();
        if self.batch == 0 || grad_output.len() != expected {
            return Err(HeadsError::Shape(format!(
                "the embedding gradient has {} values, expected {expected} (run forward_train first)",
                grad_output.len()
            )));
        }
        let rows = self.batch;
        for i in (0..self.layers.len()).rev() {
            let (current, after) = self.layers.split_at_mut(i + 1);
            let grad = after.first().map_or(grad_output, |next| &next.grad_input);
            current[i].backward(grad, rows, i > 0);
        }
        Ok(())
    }

    /// One Adam step on every parameter with the gradients of the last [`Self::backward`].
    pub fn adam_step(&mut self) {
        for layer in &mut self.layers {
            for param in [
                &mut layer.norm_weight,
                &mut layer.norm_bias,
                &mut layer.linear_weight,
                &mut layer.linear_bias,
            ] {
                param.adam_step(&self.adam);
            }
        }
    }

    /// `(variable name, gradient)` of every parameter after [`Self::backward`], named as in
    /// the `VarMap` (without the prefix).
    pub fn gradients(&self) -> Vec<(String, &[T])> {
        self.layers
            .iter()
            .enumerate()
            .flat_map(|(i, layer)| {
                [
                    ("norm.weight", &layer.norm_weight.grad),
                    ("norm.bias", &layer.norm_bias.grad),
                    ("linear.weight", &layer.linear_weight.grad),
                    ("linear.bias", &layer.linear_bias.grad),
                ]
                .map(|(name, grad)| (layer_variable(i, name), grad.as_slice()))
            })
            .collect()
    }
}

impl<T: Float + FastTanh + 'static> Layer<T> {
    fn forward(&mut self, x: &[T], rows: usize, eps: T, momentum: T) {
        let (n, m) = (self.input_dim, self.output_dim);
        let batch = T::from(rows).unwrap_or_else(T::nan);
        let unbiased = batch / (batch - T::one());
        resize(&mut self.normalized, rows * n);
        resize(&mut self.affine, rows * n);
        resize(&mut self.output, rows * m);

        // Batch mean, then the centred input in `normalized`.
        let mean = &mut self.inv_std; // reused: the mean first, then 1/std
        mean.fill(T::zero());
        for row in x.chunks_exact(n) {
            for (acc, &v) in mean.iter_mut().zip(row) {
                *acc = *acc + v;
            }
        }
        for (acc, running) in mean.iter_mut().zip(&mut self.running_mean) {
            *acc = *acc / batch;
            *running = *running * (T::one() - momentum) + *acc * momentum;
        }
        for (centred, row) in self.normalized.chunks_exact_mut(n).zip(x.chunks_exact(n)) {
            for ((c, &v), &mu) in centred.iter_mut().zip(row).zip(mean.iter()) {
                *c = v - mu;
            }
        }
        // Biased variance → 1/std; the running variance takes the unbiased one.
        let inv_std = &mut self.inv_std;
        inv_std.fill(T::zero());
        for row in self.normalized.chunks_exact(n) {
            for (acc, &c) in inv_std.iter_mut().zip(row) {
                *acc = *acc + c * c;
            }
        }
        for (acc, running) in inv_std.iter_mut().zip(&mut self.running_var) {
            let variance = *acc / batch;
            *running = *running * (T::one() - momentum) + variance * unbiased * momentum;
            *acc = (variance + eps).sqrt().recip();
        }
        let (gamma, beta) = (&self.norm_weight.value, &self.norm_bias.value);
        for (normalized_row, affine_row) in self
            .normalized
            .chunks_exact_mut(n)
            .zip(self.affine.chunks_exact_mut(n))
        {
            for (((x_hat, u), &inv), (&ga, &be)) in normalized_row
                .iter_mut()
                .zip(affine_row)
                .zip(&self.inv_std)
                .zip(gamma.iter().zip(beta))
            {
                *x_hat = *x_hat * inv;
                *u = ga * *x_hat + be;
            }
        }
        // h = tanh(u Wᵀ + c)
        for row in self.output.chunks_exact_mut(m) {
            row.copy_from_slice(&self.linear_bias.value);
        }
        matmul(
            &mut self.output,
            Operand::new(&self.affine, rows, n),
            Operand::transposed(&self.linear_weight.value, m, n),
            true,
        );
        for h in &mut self.output {
            *h = h.fast_tanh();
        }
    }

    /// Gradients of this layer's parameters from `grad_output` `= ∂h`; `∂x` into `grad_input`
    /// when `needs_input_grad`.
    fn backward(&mut self, grad_output: &[T], rows: usize, needs_input_grad: bool) {
        let (n, m) = (self.input_dim, self.output_dim);
        resize(&mut self.grad_pre_activation, rows * m);
        for ((da, &dh), &h) in self
            .grad_pre_activation
            .iter_mut()
            .zip(grad_output)
            .zip(&self.output)
        {
            *da = dh * (T::one() - h * h);
        }
        // With G = ∂aᵀ x̂ (one product over the batch) and u = γ x̂ + β, everything but ∂x is
        // elementwise: ∂W = γ G + ∂c βᵀ, ∂γ = Σ_o W ⊙ G, ∂β = ∂cᵀ W, where ∂c = Σ_i ∂a.
        // (This skips ∂u = ∂a W, as costly as the forward product, on the first layer.)
        column_sums(&self.grad_pre_activation, m, &mut self.linear_bias.grad);
        let g = &mut self.linear_weight.grad;
        matmul(
            g,
            Operand::transposed(&self.grad_pre_activation, rows, m),
            Operand::new(&self.normalized, rows, n),
            false,
        );
        let (gamma, beta) = (&self.norm_weight.value, &self.norm_bias.value);
        let (d_gamma, d_beta) = (&mut self.norm_weight.grad, &mut self.norm_bias.grad);
        d_gamma.fill(T::zero());
        d_beta.fill(T::zero());
        for ((g_row, w_row), &dc) in g
            .chunks_exact_mut(n)
            .zip(self.linear_weight.value.chunks_exact(n))
            .zip(&self.linear_bias.grad)
        {
            for (((g, &w), (dg, db)), (&ga, &be)) in g_row
                .iter_mut()
                .zip(w_row)
                .zip(d_gamma.iter_mut().zip(d_beta.iter_mut()))
                .zip(gamma.iter().zip(beta))
            {
                *dg = *dg + w * *g;
                *db = *db + w * dc;
                *g = ga * *g + be * dc;
            }
        }
        if !needs_input_grad {
            return;
        }
        // ∂u = ∂a W; ∂x = γ/(b σ) (b ∂u − Σ ∂u − x̂ Σ ∂u x̂), with Σ ∂u = ∂β, Σ ∂u x̂ = ∂γ.
        resize(&mut self.grad_affine, rows * n);
        matmul(
            &mut self.grad_affine,
            Operand::new(&self.grad_pre_activation, rows, m),
            Operand::new(&self.linear_weight.value, m, n),
            false,
        );
        resize(&mut self.grad_input, rows * n);
        let batch = T::from(rows).unwrap_or_else(T::nan);
        let (sum_du, sum_du_xh) = (&self.norm_bias.grad, &self.norm_weight.grad);
        let gamma = &self.norm_weight.value;
        for ((dx_row, du_row), xh_row) in self
            .grad_input
            .chunks_exact_mut(n)
            .zip(self.grad_affine.chunks_exact(n))
            .zip(self.normalized.chunks_exact(n))
        {
            for ((((dx, &du), &xh), (&s, &sx)), (&ga, &inv)) in dx_row
                .iter_mut()
                .zip(du_row)
                .zip(xh_row)
                .zip(sum_du.iter().zip(sum_du_xh))
                .zip(gamma.iter().zip(&self.inv_std))
            {
                *dx = ga * inv / batch * (batch * du - s - xh * sx);
            }
        }
    }
}

/// `tanh`, vectorisable for `f32`.
pub trait FastTanh: Copy {
    /// `tanh(self)`.
    fn fast_tanh(self) -> Self;
}

impl FastTanh for f64 {
    fn fast_tanh(self) -> Self {
        self.tanh()
    }
}

impl FastTanh for f32 {
    /// The rational approximation Eigen and XLA use for f32 `tanh` (odd polynomial of degree 13
    /// over even of degree 6 on `[−7.9988, 7.9988]`, where `tanh` is 1 in f32 beyond): within
    /// 5e-7 of the exact value (test below: 4.3e-7 at worst, near ±5.8, a few f32 ulps), and
    /// free of the libm call that made `tanh` a tenth of a training step.
    fn fast_tanh(self) -> Self {
        const CLAMP: f32 = 7.998_811_7;
        const ALPHA: [f32; 7] = [
            4.893_524_6e-3,
            6.372_619_3e-4,
            1.485_722_4e-5,
            5.122_297e-8,
            -8.604_672e-11,
            2.000_188e-13,
            -2.760_768_5e-16,
        ];
        const BETA: [f32; 4] = [4.893_525e-3, 2.268_434_6e-3, 1.185_347e-4, 1.198_258_4e-6];
        if self.abs() < 4e-4 {
            return self;
        }
        let x = self.clamp(-CLAMP, CLAMP);
        let x2 = x * x;
        let p = ALPHA.iter().rev().fold(0.0, |acc, &a| acc * x2 + a) * x;
        let q = BETA.iter().rev().fold(0.0, |acc, &b| acc * x2 + b);
        p / q
    }
}

/// `prefix.name`, or `name` for an empty prefix.
fn qualified(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}.{name}")
    }
}

/// `out[j] = Σ_i matrix[i, j]` for a row-major matrix with `cols` columns.
fn column_sums<T: Float>(matrix: &[T], cols: usize, out: &mut [T]) {
    out.fill(T::zero());
    for row in matrix.chunks_exact(cols) {
        for (acc, &v) in out.iter_mut().zip(row) {
            *acc = *acc + v;
        }
    }
}

/// Sets `buffer`'s length to `len`, reusing its allocation.
fn resize<T: Float>(buffer: &mut Vec<T>, len: usize) {
    buffer.resize(len, T::zero());
}

#[cfg(test)]
mod tests {
    use super::FastTanh;

    #[test]
    fn f32_tanh_is_within_5e7_of_the_exact_value() {
        let (mut worst, mut at) = (0.0f64, 0.0f32);
        for i in -200_000..=200_000 {
            let x = i as f32 * 1e-4; // [-20, 20]
            let error = (f64::from(x.fast_tanh()) - f64::from(x).tanh()).abs();
            if error > worst {
                worst = error;
                at = x;
            }
        }
        assert!(worst < 5e-7, "max error {worst:e} at {at}");
        assert!(f32::NAN.fast_tanh().is_nan());
        assert!((1.0 - f32::INFINITY.fast_tanh()).abs() < 5e-7);
        assert!((1.0 + f32::NEG_INFINITY.fast_tanh()).abs() < 5e-7);
    }
}
