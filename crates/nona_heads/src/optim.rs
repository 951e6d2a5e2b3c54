//! Adam with PyTorch semantics (`torch.optim.Adam`): L2 weight decay coupled into the gradient
//! (`g ← g + λθ`, unlike candle-nn's decoupled `AdamW`) and bias-corrected moments.
//!
//! [`AdamMoments::update`] is the arithmetic, on flat slices; [`Adam`] applies it to candle
//! [`Var`]s, and the fused projector ([`crate::FusedProjector`]) to its own parameter vectors.

use candle_core::backprop::GradStore;
use candle_core::{DType, Tensor, Var};
use candle_nn::Optimizer;
use num_traits::Float;

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

/// Adam's state for one parameter vector: first and second moments and the step count.
#[derive(Debug, Clone)]
pub struct AdamMoments<T> {
    first: Vec<T>,
    second: Vec<T>,
    steps: i32,
}

impl<T: Float> AdamMoments<T> {
    /// Zero moments for a parameter of `len` elements.
    pub fn new(len: usize) -> Self {
        Self {
            first: vec![T::zero(); len],
            second: vec![T::zero(); len],
            steps: 0,
        }
    }

    /// One Adam step: `theta` moves against `grad` (both of the length given to [`Self::new`]).
    /// Arithmetic in `T`, in the order of PyTorch's single-tensor Adam.
    pub fn update(&mut self, config: &AdamConfig, theta: &mut [T], grad: &[T]) {
        assert_eq!(
            theta.len(),
            self.first.len(),
            "Adam: parameter length changed"
        );
        assert_eq!(grad.len(), theta.len(), "Adam: gradient length differs");
        self.steps += 1;
        let cast = |v: f64| T::from(v).unwrap_or_else(T::nan);
        let (beta1, beta2) = (cast(config.beta1), cast(config.beta2));
        let (one_minus_beta1, one_minus_beta2) =
            (cast(1.0 - config.beta1), cast(1.0 - config.beta2));
        let weight_decay = cast(config.weight_decay);
        let decay = config.weight_decay != 0.0;
        let bias_correction1 = 1.0 - config.beta1.powi(self.steps);
        let bias_correction2_sqrt = cast((1.0 - config.beta2.powi(self.steps)).sqrt());
        let step_size = cast(config.lr / bias_correction1);
        let eps = cast(config.eps);
        for (((theta, &grad), first), second) in theta
            .iter_mut()
            .zip(grad)
            .zip(&mut self.first)
            .zip(&mut self.second)
        {
            let grad = if decay {
                grad + *theta * weight_decay
            } else {
                grad
            };
            *first = *first * beta1 + grad * one_minus_beta1;
            *second = *second * beta2 + grad * grad * one_minus_beta2;
            let denominator = second.sqrt() / bias_correction2_sqrt + eps;
            *theta = *theta - *first / denominator * step_size;
        }
    }
}

/// Moments in the variable's own dtype.
#[derive(Debug)]
enum VarMoments {
    F32(AdamMoments<f32>),
    F64(AdamMoments<f64>),
}

#[derive(Debug)]
struct ParamState {
    var: Var,
    moments: VarMoments,
}

/// Adam over candle [`Var`]s (f32 or f64). Variables without a gradient in a step (e.g.
/// BatchNorm running statistics) are left untouched and do not advance their step count, as in
/// PyTorch.
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
            .filter_map(|var| {
                let len = var.elem_count();
                let moments = match var.dtype() {
                    DType::F32 => VarMoments::F32(AdamMoments::new(len)),
                    DType::F64 => VarMoments::F64(AdamMoments::new(len)),
                    _ => return None,
                };
                Some(ParamState { var, moments })
            })
            .collect();
        Ok(Self { params, config })
    }

    fn step(&mut self, grads: &GradStore) -> candle_core::Result<()> {
        for param in &mut self.params {
            let Some(grad) = grads.get(&param.var) else {
                continue;
            };
            let shape = param.var.shape().clone();
            let device = param.var.device().clone();
            let theta = param.var.as_tensor().flatten_all()?;
            let grad = grad.flatten_all()?;
            let updated = match &mut param.moments {
                VarMoments::F32(moments) => {
                    let mut values = theta.to_vec1::<f32>()?;
                    moments.update(&self.config, &mut values, &grad.to_vec1::<f32>()?);
                    Tensor::from_vec(values, shape, &device)?
                }
                VarMoments::F64(moments) => {
                    let mut values = theta.to_vec1::<f64>()?;
                    moments.update(&self.config, &mut values, &grad.to_vec1::<f64>()?);
                    Tensor::from_vec(values, shape, &device)?
                }
            };
            param.var.set(&updated)?;
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
