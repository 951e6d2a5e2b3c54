//! Configuration of one training run (a grid *cell*): model shape, optimisation, seed.
//!
//! Every struct deserialises with defaults for missing fields and rejects unknown ones. Names of
//! similarities, SoftStep functions and parameter modes are the pipeline names of `nona_heads`
//! (`l2`, `s2`, `pointwise`, ...).

use std::fmt;

use nona_heads::{EarlyStoppingConfig, NonaConfig, Similarity, SoftStepKind, SoftStepParams};
use serde::{Deserialize, Serialize};

use crate::error::{Result, TrainError};

/// Which regression head sits on the projector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HeadKind {
    /// `Linear(d, 1)`, the baseline.
    Dense,
    /// Nearness of Neighbors Attention.
    #[default]
    Nona,
}

impl HeadKind {
    /// Both heads, in grid order.
    pub const ALL: [HeadKind; 2] = [Self::Dense, Self::Nona];

    /// Name used in pipeline files.
    pub fn name(self) -> &'static str {
        match self {
            Self::Dense => "dense",
            Self::Nona => "nona",
        }
    }
}

impl fmt::Display for HeadKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Architecture of a cell: projector sizes and head. Default: the paper's NONA (−L2, S2,
/// pointwise) on a `D → 200 → 25` projector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelConfig {
    /// Regression head.
    pub head: HeadKind,
    /// NONA similarity (ignored by the dense head).
    #[serde(with = "crate::names")]
    pub similarity: Similarity,
    /// NONA SoftStep function (ignored by the dense head).
    #[serde(with = "crate::names")]
    pub softstep: SoftStepKind,
    /// How SoftStep parameters are produced (ignored by the dense head and by `softstep = none`).
    #[serde(with = "crate::names")]
    pub params: SoftStepParams,
    /// Hidden widths of the projector.
    pub hidden: Vec<usize>,
    /// Embedding dimension `d` (projector output).
    pub embedding_dim: usize,
    /// Whether evaluation predictions (validation MSE, reported predictions and metrics) are
    /// clipped to `[0, 1]`, the scaled label range. Default `true`, which is also what a
    /// `model.json` written before this key existed did; a grid sets it per head from its
    /// `clip` list (the reference code clips NONA's predictions only).
    pub clip: bool,
}

impl Default for ModelConfig {
    fn default() -> Self {
        let nona = NonaConfig::default();
        Self {
            head: HeadKind::Nona,
            similarity: nona.similarity,
            softstep: nona.softstep,
            params: nona.params,
            hidden: vec![200],
            embedding_dim: 25,
            clip: true,
        }
    }
}

impl ModelConfig {
    /// The `nona_heads` configuration of the NONA head.
    pub fn nona_config(&self) -> NonaConfig {
        NonaConfig {
            similarity: self.similarity,
            softstep: self.softstep,
            params: self.params,
            ..NonaConfig::default()
        }
    }

    /// Checks sizes.
    pub fn validate(&self) -> Result<()> {
        if self.embedding_dim == 0 || self.hidden.contains(&0) {
            return Err(TrainError::Config(
                "projector widths and embedding_dim must be positive".into(),
            ));
        }
        Ok(())
    }
}

/// Optimisation settings.
///
/// Defaults for frozen-backbone embeddings (only projector and head are trained):
/// `lr = 3e-3`, `weight_decay = 1e-4`, `batch_size = 32`, `max_epochs = 200`, patience 10 from
/// epoch 6. Chosen with `examples/tune_defaults.rs` (release, 1 thread, 2026-11): 1,500 samples
/// (1,020 train) whose target `sin(3u₁)·cos(2u₂) + u₃²` (+ noise) is non-linear in an 8-d latent
/// seen through a random 512-d `tanh` embedding; projector 512 → 200 → 25, batch 32 (the
/// paper's ablation winner for both heads); test MSE ×10³ on scaled labels, mean ± sd over 2 seeds:
///
/// | lr | wd | dense | NONA (−L2, S2, pointwise) |
/// |---|---|---|---|
/// | 3e-4 | 0 | 9.20 ± 0.51 | 5.76 ± 0.13 |
/// | 3e-4 | 1e-4 | 8.94 ± 0.44 | 6.12 ± 0.10 |
/// | 1e-3 | 0 | 7.64 ± 0.52 | 5.25 ± 0.18 |
/// | 1e-3 | 1e-4 | 6.31 ± 0.06 | 4.52 ± 0.94 |
/// | 3e-3 | 0 | 8.92 ± 0.14 | 7.08 ± 0.07 |
/// | **3e-3** | **1e-4** | **3.88 ± 0.16** | **4.23 ± 0.40** |
/// | 1e-2 | 0 | 8.74 ± 1.22 | 9.56 ± 0.89 |
/// | 1e-2 | 1e-4 | 5.29 ± 0.08 | 5.99 ± 0.45 |
///
/// Best epochs ranged 25–62, so `max_epochs = 200` only bounds runaway runs. One synthetic task
/// and two seeds: a starting point, not a tuned optimum for every dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OptimConfig {
    /// Adam learning rate.
    pub lr: f64,
    /// Adam's coupled L2 weight decay.
    pub weight_decay: f64,
    /// Training batch size (a trailing batch of one sample is merged into the previous batch).
    pub batch_size: usize,
    /// Upper bound on epochs.
    pub max_epochs: usize,
    /// Checked epochs without validation improvement that stop training.
    pub patience: usize,
    /// Epochs `1..=start_after_epoch` are not checked by early stopping.
    pub start_after_epoch: usize,
}

impl Default for OptimConfig {
    fn default() -> Self {
        let stopping = EarlyStoppingConfig::default();
        Self {
            lr: 3e-3,
            weight_decay: 1e-4,
            batch_size: 32,
            max_epochs: 200,
            patience: stopping.patience,
            start_after_epoch: stopping.start_after_epoch,
        }
    }
}

impl OptimConfig {
    /// The early-stopping part.
    pub fn early_stopping(&self) -> EarlyStoppingConfig {
        EarlyStoppingConfig {
            patience: self.patience,
            start_after_epoch: self.start_after_epoch,
        }
    }

    /// Checks ranges.
    pub fn validate(&self) -> Result<()> {
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return Err(TrainError::Config(format!(
                "lr must be positive, got {}",
                self.lr
            )));
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return Err(TrainError::Config(format!(
                "weight_decay must be ≥ 0, got {}",
                self.weight_decay
            )));
        }
        if self.batch_size < nona_heads::MIN_TRAIN_BATCH {
            return Err(TrainError::Config(format!(
                "batch_size must be ≥ {}, got {}",
                nona_heads::MIN_TRAIN_BATCH,
                self.batch_size
            )));
        }
        if self.max_epochs == 0 || self.patience == 0 {
            return Err(TrainError::Config(
                "max_epochs and patience must be positive".into(),
            ));
        }
        Ok(())
    }
}

/// Everything one training run needs besides the data.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CellConfig {
    /// Architecture.
    pub model: ModelConfig,
    /// Optimisation.
    pub optim: OptimConfig,
    /// Seed of weight initialisation and batch order (splits take their own seed).
    pub seed: u64,
}

impl CellConfig {
    /// Checks every part.
    pub fn validate(&self) -> Result<()> {
        self.model.validate()?;
        self.optim.validate()
    }
}
