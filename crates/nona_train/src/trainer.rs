//! Training one cell with the paper's protocol.
//!
//! Labels are min-max scaled on the training split; the projector and head are trained with MSE
//! and Adam on shuffled batches (order drawn from the cell's seed; a trailing batch of one sample
//! is merged into the previous batch, since NONA and BatchNorm need two). After every epoch the
//! validation MSE (scaled labels, predictions clipped to `[0, 1]` when the cell clips, NONA using
//! the whole training split as neighbour bank) is recorded; early stopping watches it from epoch
//! `start_after_epoch + 1` on with the given patience, and the best checked epoch's variables are
//! restored before the final embeddings and predictions are computed.
//!
//! Training-split predictions of NONA use the training bank *including each sample itself*
//! (in-sample, hence optimistic); validation and test predictions are out-of-sample.

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::Optimizer;
use nona_heads::{
    Adam, AdamConfig, EarlyStopping, FusedProjector, MIN_TRAIN_BATCH, MinMaxScaler, VarSnapshot,
};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::config::{CellConfig, HeadKind, ModelConfig, OptimConfig};
use crate::error::{Result, TrainError};
use crate::metrics::SplitMetrics;
use crate::model::{
    NeighbourBank, Network, PROJECTOR_PREFIX, Predictions, TrainedModel, check_features,
    projector_config,
};

/// ChaCha stream of the per-epoch batch order (weights are drawn from stream 0 of the seed).
const BATCH_ORDER_STREAM: u64 = 1;

/// Rows of one split: row-major features `(labels.len() × dim)` and labels in original units.
#[derive(Debug, Clone, Copy)]
pub struct SplitData<'a> {
    /// Row-major backbone features.
    pub features: &'a [f32],
    /// One label per row.
    pub labels: &'a [f64],
}

/// The three splits of one cell, sharing a feature dimension.
#[derive(Debug, Clone, Copy)]
pub struct TrainData<'a> {
    /// Feature dimension `D`.
    pub dim: usize,
    /// Training split (also NONA's neighbour bank).
    pub train: SplitData<'a>,
    /// Validation split (early stopping).
    pub validation: SplitData<'a>,
    /// Test split.
    pub test: SplitData<'a>,
}

/// One epoch's record.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean of the batch MSE losses (scaled labels, unclipped training predictions).
    pub train_loss: f64,
    /// Validation MSE (scaled labels, predictions clipped when the cell clips).
    pub validation_mse: f64,
}

/// Results of one split after restoring the best checkpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct SplitResult {
    /// Predictions, scaled and in original units.
    pub predictions: Predictions,
    /// Projector embeddings, row-major `(rows × embedding_dim)`.
    pub embeddings: Vec<f32>,
    /// Errors of the predictions.
    pub metrics: SplitMetrics,
}

/// Summary of a trained cell (everything but predictions, embeddings and weights).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CellSummary {
    /// The cell's configuration.
    pub config: CellConfig,
    /// Epoch whose variables were restored.
    pub best_epoch: usize,
    /// Epochs trained.
    pub epochs_run: usize,
    /// Per-epoch losses.
    pub curves: Vec<EpochRecord>,
    /// Training-split metrics (in-sample for NONA, see the module docs).
    pub train: SplitMetrics,
    /// Validation metrics.
    pub validation: SplitMetrics,
    /// Test metrics.
    pub test: SplitMetrics,
}

/// Everything one cell produces.
#[derive(Debug)]
pub struct TrainedCell {
    /// The cell's configuration.
    pub config: CellConfig,
    /// Epoch whose variables were restored: the best checked epoch, or the last epoch when no
    /// epoch was checked (`max_epochs ≤ start_after_epoch`).
    pub best_epoch: usize,
    /// Epochs trained before stopping.
    pub epochs_run: usize,
    /// Per-epoch losses.
    pub curves: Vec<EpochRecord>,
    /// Training split.
    pub train: SplitResult,
    /// Validation split.
    pub validation: SplitResult,
    /// Test split.
    pub test: SplitResult,
    /// The restored model, for saving and later prediction.
    pub model: TrainedModel,
}

impl TrainedCell {
    /// The serialisable summary (configuration, curves, metrics).
    pub fn summary(&self) -> CellSummary {
        CellSummary {
            config: self.config.clone(),
            best_epoch: self.best_epoch,
            epochs_run: self.epochs_run,
            curves: self.curves.clone(),
            train: self.train.metrics,
            validation: self.validation.metrics,
            test: self.test.metrics,
        }
    }
}

/// Runs epochs of minibatch training over one training split.
///
/// The projector trains through [`FusedProjector`] (hand-written forward, backward and Adam on
/// flat vectors); the head, small, through candle's autograd and [`Adam`], which also hands back
/// the gradient of the loss with respect to the projector's embeddings. The network's `VarMap`
/// receives the projector's values at the end of every epoch.
#[derive(Debug)]
pub struct Trainer {
    network: Network,
    projector: FusedProjector<f32>,
    head_optimizer: Adam,
    dim: usize,
    features: Vec<f32>,
    labels: Vec<f32>,
    batch_size: usize,
    order_rng: ChaCha8Rng,
    /// Scratch: the current batch's feature rows.
    batch_features: Vec<f32>,
}

impl Trainer {
    /// A fresh network for `model` over `features` (`rows × dim`, row-major) with already
    /// scaled labels, initialised and shuffled from `seed`.
    pub fn new(
        model: &ModelConfig,
        optim: &OptimConfig,
        seed: u64,
        dim: usize,
        features: &[f32],
        scaled_labels: &[f64],
    ) -> Result<Self> {
        optim.validate()?;
        check_rows("train", check_features(features, dim)?, scaled_labels.len())?;
        if scaled_labels.len() < MIN_TRAIN_BATCH {
            return Err(TrainError::Input(format!(
                "the training split has {} rows; at least {MIN_TRAIN_BATCH} are needed",
                scaled_labels.len()
            )));
        }
        let network = Network::new(model, dim, seed)?;
        let adam = AdamConfig {
            lr: optim.lr,
            weight_decay: optim.weight_decay,
            ..AdamConfig::default()
        };
        let projector = FusedProjector::from_varmap(
            &network.varmap,
            PROJECTOR_PREFIX,
            &projector_config(model, dim),
            adam,
        )?;
        let head_optimizer = Adam::new(network.head_vars(), adam)?;
        let labels: Vec<f32> = scaled_labels.iter().map(|&v| v as f32).collect();
        Ok(Self {
            network,
            projector,
            head_optimizer,
            dim,
            features: features.to_vec(),
            labels,
            batch_size: optim.batch_size,
            order_rng: {
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                rng.set_stream(BATCH_ORDER_STREAM);
                rng
            },
            batch_features: Vec::new(),
        })
    }

    /// One pass over the training split in a fresh random order; returns the mean batch loss.
    pub fn train_epoch(&mut self) -> Result<f64> {
        let mut order: Vec<u32> = (0..self.labels.len() as u32).collect();
        order.shuffle(&mut self.order_rng);
        let batches = batch_ranges(order.len(), self.batch_size);
        let mut total = 0.0;
        for range in &batches {
            total += self.train_step(&order[range.clone()])?;
        }
        self.projector
            .write_to_varmap(&self.network.varmap, PROJECTOR_PREFIX)?;
        Ok(total / batches.len() as f64)
    }

    /// One optimisation step on the rows `indices`; returns the batch's MSE.
    fn train_step(&mut self, indices: &[u32]) -> Result<f64> {
        let dim = self.dim;
        self.batch_features.clear();
        for &row in indices {
            let start = row as usize * dim;
            self.batch_features
                .extend_from_slice(&self.features[start..start + dim]);
        }
        let labels: Vec<f32> = indices
            .iter()
            .map(|&row| self.labels[row as usize])
            .collect();
        let y = Tensor::from_vec(labels, indices.len(), &Device::Cpu)?;

        let embedding_dim = self.projector.embedding_dim();
        let z = self.projector.forward_train(&self.batch_features)?;
        let z = Var::from_slice(z, (indices.len(), embedding_dim), &Device::Cpu)?;
        let prediction = self.network.head_forward_train(z.as_tensor(), &y)?;
        let loss = (prediction - &y)?.sqr()?.mean_all()?;
        let grads = loss.backward()?;
        let grad_z = grads
            .get(z.as_tensor())
            .ok_or_else(|| TrainError::Input("the loss does not depend on the embeddings".into()))?
            .flatten_all()?
            .to_vec1::<f32>()?;
        self.head_optimizer.step(&grads)?;
        self.projector.backward(&grad_z)?;
        self.projector.adam_step();
        Ok(f64::from(loss.to_scalar::<f32>()?))
    }

    /// Evaluation embeddings of the training split.
    fn train_embeddings(&self) -> Result<Tensor> {
        self.network.embed(&self.features, self.dim)
    }

    /// The neighbour bank (NONA only): current training embeddings and scaled labels.
    fn bank(&self, head: HeadKind) -> Result<Option<NeighbourBank>> {
        Ok(match head {
            HeadKind::Dense => None,
            HeadKind::Nona => Some(NeighbourBank {
                embeddings: self.train_embeddings()?,
                labels: Tensor::from_slice(&self.labels, self.labels.len(), &Device::Cpu)?,
            }),
        })
    }
}

/// Trains one cell on `data` and evaluates it (see the module docs for the protocol).
pub fn train_cell(data: &TrainData, config: &CellConfig) -> Result<TrainedCell> {
    config.validate()?;
    let scaler = MinMaxScaler::fit(data.train.labels)?;
    let mut trainer = Trainer::new(
        &config.model,
        &config.optim,
        config.seed,
        data.dim,
        data.train.features,
        &scaler.transform_all(data.train.labels),
    )?;
    let validation = Evaluation::new(&data.validation, data.dim, &scaler, "validation")?;
    let test = Evaluation::new(&data.test, data.dim, &scaler, "test")?;
    let head = config.model.head;

    let mut stopper = EarlyStopping::new(config.optim.early_stopping());
    let mut curves = Vec::new();
    for epoch in 1..=config.optim.max_epochs {
        let train_loss = trainer.train_epoch()?;
        let bank = trainer.bank(head)?;
        let validation_mse = validation.scaled_mse(&trainer.network, bank.as_ref())?;
        curves.push(EpochRecord {
            epoch,
            train_loss,
            validation_mse,
        });
        if stopper.observe(epoch, validation_mse, || {
            VarSnapshot::capture(&trainer.network.varmap)
        })? {
            break;
        }
    }
    let epochs_run = curves.len();
    let best_epoch = match (stopper.best(), stopper.best_state()) {
        (Some((epoch, _)), Some(snapshot)) => {
            snapshot.restore(&trainer.network.varmap)?;
            epoch
        }
        _ => epochs_run,
    };
    if !curves[best_epoch - 1].validation_mse.is_finite() {
        return Err(TrainError::Diverged { epoch: best_epoch });
    }

    let train_embeddings = trainer.train_embeddings()?;
    let bank = trainer.bank(head)?;
    let model = TrainedModel::new(
        trainer.network,
        config.model.clone(),
        data.dim,
        scaler,
        bank,
    );
    let train_labels = data.train.labels;
    Ok(TrainedCell {
        config: config.clone(),
        best_epoch,
        epochs_run,
        curves,
        train: split_result(&model, &train_embeddings, train_labels)?,
        validation: split_result(&model, &validation.embed(&model)?, data.validation.labels)?,
        test: split_result(&model, &test.embed(&model)?, data.test.labels)?,
        model,
    })
}

/// A split evaluated after each epoch: its checked features and scaled labels.
struct Evaluation<'a> {
    features: &'a [f32],
    dim: usize,
    scaled_labels: Vec<f64>,
}

impl<'a> Evaluation<'a> {
    fn new(split: &SplitData<'a>, dim: usize, scaler: &MinMaxScaler, name: &str) -> Result<Self> {
        check_rows(
            name,
            check_features(split.features, dim)?,
            split.labels.len(),
        )?;
        if split.labels.is_empty() {
            return Err(TrainError::Input(format!("the {name} split is empty")));
        }
        if let Some(bad) = split.labels.iter().find(|v| !v.is_finite()) {
            return Err(TrainError::Input(format!("non-finite {name} label {bad}")));
        }
        Ok(Self {
            features: split.features,
            dim,
            scaled_labels: scaler.transform_all(split.labels),
        })
    }

    fn scaled_mse(&self, network: &Network, bank: Option<&NeighbourBank>) -> Result<f64> {
        let z = network.embed(self.features, self.dim)?;
        let predictions: Vec<f64> = network.predict(&z, bank)?.to_dtype(DType::F64)?.to_vec1()?;
        Ok(crate::metrics::mse(&predictions, &self.scaled_labels))
    }

    fn embed(&self, model: &TrainedModel) -> Result<Tensor> {
        model.embed_checked(self.features)
    }
}

fn split_result(model: &TrainedModel, z: &Tensor, labels: &[f64]) -> Result<SplitResult> {
    let predictions = model.predict_embedded(z)?;
    let metrics = SplitMetrics::new(&predictions, labels, &model.scaler());
    Ok(SplitResult {
        embeddings: z.flatten_all()?.to_vec1()?,
        predictions,
        metrics,
    })
}

/// Consecutive index ranges of size `batch_size`; a trailing range of one element is merged
/// into the one before it.
pub fn batch_ranges(len: usize, batch_size: usize) -> Vec<std::ops::Range<usize>> {
    let mut ranges: Vec<_> = (0..len)
        .step_by(batch_size.max(1))
        .map(|start| start..(start + batch_size).min(len))
        .collect();
    if ranges.len() >= 2 && ranges.last().is_some_and(|r| r.len() < MIN_TRAIN_BATCH) {
        let last = ranges.pop().unwrap_or_default();
        if let Some(previous) = ranges.last_mut() {
            previous.end = last.end;
        }
    }
    ranges
}

fn check_rows(name: &str, rows: usize, labels: usize) -> Result<()> {
    if rows != labels {
        return Err(TrainError::Input(format!(
            "the {name} split has {rows} feature rows but {labels} labels"
        )));
    }
    Ok(())
}
