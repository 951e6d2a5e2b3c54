//! Early stopping on validation MSE, and snapshots of a `VarMap` to restore the best epoch.
//!
//! The reference script starts from `best = −∞` and keeps `val < best`, so it never improves and
//! never stores a checkpoint; here lower MSE is better and the best state is kept.

use std::collections::HashMap;
use std::sync::PoisonError;

use candle_core::Tensor;
use candle_nn::VarMap;

use crate::error::{HeadsError, Result};

/// When to stop. Defaults: patience 10, checks from epoch 6 on (after epoch 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EarlyStoppingConfig {
    /// Checked epochs in a row without improvement that stop training.
    pub patience: usize,
    /// Epochs `1..=start_after_epoch` are not checked.
    pub start_after_epoch: usize,
}

impl Default for EarlyStoppingConfig {
    fn default() -> Self {
        Self {
            patience: 10,
            start_after_epoch: 5,
        }
    }
}

/// Tracks the lowest validation MSE and the state `S` (e.g. a [`VarSnapshot`]) it was reached with.
#[derive(Debug, Clone)]
pub struct EarlyStopping<S> {
    config: EarlyStoppingConfig,
    best: Option<(usize, f64, S)>,
    epochs_without_improvement: usize,
}

impl<S> EarlyStopping<S> {
    /// A tracker with nothing observed yet.
    pub fn new(config: EarlyStoppingConfig) -> Self {
        Self {
            config,
            best: None,
            epochs_without_improvement: 0,
        }
    }

    /// Whether `epoch` (1-based) is checked at all; skip validation otherwise.
    pub fn is_checked(&self, epoch: usize) -> bool {
        epoch > self.config.start_after_epoch
    }

    /// Records the validation MSE of `epoch` (1-based). On a strict improvement (a finite MSE
    /// below the best so far) `capture` is called and its state kept. Returns whether to stop.
    /// Epochs that are not [checked](Self::is_checked) are ignored.
    pub fn observe(
        &mut self,
        epoch: usize,
        val_mse: f64,
        capture: impl FnOnce() -> Result<S>,
    ) -> Result<bool> {
        if !self.is_checked(epoch) {
            return Ok(false);
        }
        let improved = val_mse.is_finite()
            && self
                .best
                .as_ref()
                .is_none_or(|(_, best, _)| val_mse < *best);
        if improved {
            self.best = Some((epoch, val_mse, capture()?));
            self.epochs_without_improvement = 0;
        } else {
            self.epochs_without_improvement += 1;
        }
        Ok(self.should_stop())
    }

    /// Whether patience is exhausted.
    pub fn should_stop(&self) -> bool {
        self.epochs_without_improvement >= self.config.patience
    }

    /// `(epoch, validation MSE)` of the best checked epoch.
    pub fn best(&self) -> Option<(usize, f64)> {
        self.best.as_ref().map(|(epoch, mse, _)| (*epoch, *mse))
    }

    /// State captured at the best epoch.
    pub fn best_state(&self) -> Option<&S> {
        self.best.as_ref().map(|(_, _, state)| state)
    }
}

/// Deep copy of every variable in a [`VarMap`] (parameters and BatchNorm running statistics).
#[derive(Debug, Clone)]
pub struct VarSnapshot {
    tensors: HashMap<String, Tensor>,
}

impl VarSnapshot {
    /// Copies the current values.
    pub fn capture(varmap: &VarMap) -> Result<Self> {
        let data = varmap.data().lock().unwrap_or_else(PoisonError::into_inner);
        let tensors = data
            .iter()
            .map(|(name, var)| Ok((name.clone(), var.as_tensor().detach().copy()?)))
            .collect::<Result<HashMap<_, _>>>()?;
        Ok(Self { tensors })
    }

    /// Writes the copied values back into the variables of `varmap` (which must have the same names).
    pub fn restore(&self, varmap: &VarMap) -> Result<()> {
        let data = varmap.data().lock().unwrap_or_else(PoisonError::into_inner);
        for (name, var) in data.iter() {
            let saved = self
                .tensors
                .get(name)
                .ok_or_else(|| HeadsError::Shape(format!("snapshot lacks variable `{name}`")))?;
            var.set(saved)?;
        }
        Ok(())
    }
}
