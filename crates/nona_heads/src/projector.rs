//! The projector: `[BatchNorm1d → Linear → Tanh]` per layer, input → hidden sizes → embedding.

use candle_core::{Module, Tensor};
use candle_nn::{BatchNorm, BatchNormConfig, Linear, ModuleT, VarBuilder};

use crate::error::{HeadsError, Result};
use crate::linear::torch_linear;
use crate::nona::MIN_TRAIN_BATCH;

/// Layer sizes of a [`Projector`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectorConfig {
    /// Dimension of the backbone features.
    pub input_dim: usize,
    /// Hidden layer widths (default `[200]`).
    pub hidden: Vec<usize>,
    /// Output embedding dimension `d` (default 25).
    pub embedding_dim: usize,
}

impl ProjectorConfig {
    /// The paper's sizes: `input_dim → 200 → 25`.
    pub fn new(input_dim: usize) -> Self {
        Self {
            input_dim,
            hidden: vec![200],
            embedding_dim: 25,
        }
    }

    /// `(input, output)` sizes of each layer, first to last.
    pub fn layer_dims(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        let dims: Vec<usize> = std::iter::once(self.input_dim)
            .chain(self.hidden.iter().copied())
            .chain(std::iter::once(self.embedding_dim))
            .collect();
        (0..dims.len() - 1).map(move |i| (dims[i], dims[i + 1]))
    }
}

/// Name of a layer's variable below the projector's prefix: `layers.{layer}.{name}`, with `name`
/// one of `norm.{weight,bias,running_mean,running_var}`, `linear.{weight,bias}`.
pub(crate) fn layer_variable(layer: usize, name: &str) -> String {
    format!("layers.{layer}.{name}")
}

#[derive(Debug, Clone)]
struct Layer {
    norm: BatchNorm,
    linear: Linear,
}

/// MLP turning backbone features into NONA/dense embeddings (BatchNorm defaults as PyTorch:
/// eps 1e-5, momentum 0.1; running statistics are variables in the `VarMap` and get saved).
#[derive(Debug, Clone)]
pub struct Projector {
    layers: Vec<Layer>,
    embedding_dim: usize,
}

impl Projector {
    /// Builds the layers; variables `layers.{i}.norm.{weight,bias,running_mean,running_var}` and
    /// `layers.{i}.linear.{weight,bias}` in `vb`.
    pub fn new(config: &ProjectorConfig, vb: VarBuilder) -> Result<Self> {
        let layers = config
            .layer_dims()
            .enumerate()
            .map(|(i, (input_dim, output_dim))| {
                Ok(Layer {
                    norm: candle_nn::batch_norm(
                        input_dim,
                        BatchNormConfig::default(),
                        vb.pp(layer_variable(i, "norm")),
                    )?,
                    linear: torch_linear(
                        input_dim,
                        output_dim,
                        vb.pp(layer_variable(i, "linear")),
                    )?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            layers,
            embedding_dim: config.embedding_dim,
        })
    }

    /// Output dimension `d`.
    pub fn embedding_dim(&self) -> usize {
        self.embedding_dim
    }

    /// Training pass: BatchNorm uses batch statistics and updates its running statistics.
    /// Needs at least two rows (the unbiased variance of one row is undefined).
    pub fn forward_train(&self, x: &Tensor) -> Result<Tensor> {
        let size = x.dim(0)?;
        if size < MIN_TRAIN_BATCH {
            return Err(HeadsError::TrainBatchTooSmall {
                size,
                min: MIN_TRAIN_BATCH,
            });
        }
        self.layers.iter().try_fold(x.clone(), |x, layer| {
            Ok(layer
                .linear
                .forward(&layer.norm.forward_train(&x)?)?
                .tanh()?)
        })
    }

    /// Evaluation pass: BatchNorm uses its running statistics (any batch size).
    pub fn forward_eval(&self, x: &Tensor) -> Result<Tensor> {
        self.layers.iter().try_fold(x.clone(), |x, layer| {
            Ok(layer
                .linear
                .forward(&layer.norm.forward_t(&x, false)?)?
                .tanh()?)
        })
    }
}
