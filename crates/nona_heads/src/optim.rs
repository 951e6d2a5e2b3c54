//! Adam with PyTorch semantics (`torch.optim.Adam`): L2 weight decay coupled into the gradient
//! (`g ← g + λθ`, unlike candle-nn's decoupled `AdamW`) and bias-corrected moments.

use candle_core::backprop::GradStore;
use candle_core::{Tensor, Var};
use candle_nn::Optimizer;

/// Hyper-parameters; defaults are PyTorch's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamConfig {
    /// Learning rate.
    pub lr: f64,
    /// Decay of the first moment.
    pub beta1: f64,
    /// Decay of the second moment.
    pub beta2: f64,
    /// Added to the denominator.
    pub eps: f64,
    /// Coupled L2 penalty `λ`: `g ← g + λθ`.
    pub weight_decay: f64,
}

impl Default for AdamConfig {
    fn default() -> Self {
        Self {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
        }
    }
}

#[derive(Debug)]
struct ParamState {
    var: Var,
    first_moment: Tensor,
    second_moment: Tensor,
    steps: i32,
}

/// Adam over candle [`Var`]s. Variables without a gradient in a step (e.g. BatchNorm running
/// statistics) are left untouched and do not advance their step count, as in PyTorch.
#[derive(Debug)]
pub struct Adam {
    params: Vec<ParamState>,
    config: AdamConfig,
}

impl Optimizer for Adam {
    type Config = AdamConfig;

    fn new(vars: Vec<Var>, config: AdamConfig) -> candle_core::Result<Self> {
        let params = vars
            .into_iter()
            .filter(|var| var.dtype().is_float())
            .map(|var| {
                let zeros = var.zeros_like()?;
                Ok(ParamState {
                    first_moment: zeros.clone(),
                    second_moment: zeros,
                    var,
                    steps: 0,
                })
            })
            .collect::<candle_core::Result<Vec<_>>>()?;
        Ok(Self { params, config })
    }

    fn step(&mut self, grads: &GradStore) -> candle_core::Result<()> {
        let AdamConfig {
            lr,
            beta1,
            beta2,
            eps,
            weight_decay,
        } = self.config;
        for param in &mut self.params {
            let Some(grad) = grads.get(&param.var) else {
                continue;
            };
            let theta = param.var.as_tensor().detach();
            let grad = if weight_decay == 0.0 {
                grad.clone()
            } else {
                (grad + (&theta * weight_decay)?)?
            };
            param.steps += 1;
            param.first_moment = ((&param.first_moment * beta1)? + (&grad * (1.0 - beta1))?)?;
            param.second_moment =
                ((&param.second_moment * beta2)? + (grad.sqr()? * (1.0 - beta2))?)?;
            let bias_correction1 = 1.0 - beta1.powi(param.steps);
            let bias_correction2 = 1.0 - beta2.powi(param.steps);
            let denominator = ((param.second_moment.sqrt()? / bias_correction2.sqrt())? + eps)?;
            let update = ((&param.first_moment / &denominator)? * (lr / bias_correction1))?;
            param.var.set(&(theta - update)?)?;
        }
        Ok(())
    }

    fn learning_rate(&self) -> f64 {
        self.config.lr
    }

    fn set_learning_rate(&mut self, lr: f64) {
        self.config.lr = lr;
    }
}
