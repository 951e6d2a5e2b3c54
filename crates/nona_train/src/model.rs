//! The trainable network (projector + head), its deterministic initialisation, and the trained
//! model that is saved as safetensors + JSON and reloaded for prediction.
//!
//! Files written by [`TrainedModel::save`] into a directory:
//! * `model.safetensors`: the network variables (`projector.*`, `head.*`, as named by
//!   `nona_heads`) and, for NONA, the neighbour bank `bank.embeddings` `(N, d)` (projector
//!   embeddings of the training split) and `bank.labels` `(N,)` (their min-max scaled labels);
//! * `model.json`: [`ModelDescription`] (architecture, input dimension, label scaling).

use std::path::Path;
use std::sync::PoisonError;

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{VarBuilder, VarMap};
use nona_heads::{
    DenseHead, Evidence, MinMaxScaler, NonaHead, Projector, ProjectorConfig, clip_unit,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::config::{HeadKind, ModelConfig};
use crate::error::{Result, TrainError};

/// Weights file inside a model directory.
pub const WEIGHTS_FILE: &str = "model.safetensors";
/// Description file inside a model directory.
pub const DESCRIPTION_FILE: &str = "model.json";
/// Version of the file layout written by [`TrainedModel::save`].
pub const FORMAT_VERSION: u32 = 1;

/// Rows passed through the projector and head at once in evaluation. Every call gets exactly
/// this many rows (fewer for a NONA head whose bank allows fewer: [`NonaHead::query_chunk_rows`]),
/// the last chunk padded with zero rows whose outputs are dropped: the matrix kernels choose
/// their blocking, hence the order of their sums, from the shapes, so fixed shapes make every
/// row's result independent of the rows evaluated with it, and `nona predict` on any set of
/// samples gives the train stage's values bit for bit.
const EVAL_ROWS: usize = 64;

/// The head on top of the projector.
#[derive(Debug, Clone)]
pub(crate) enum Head {
    Dense(DenseHead),
    Nona(NonaHead),
}

/// Projector + head with their variables.
pub(crate) struct Network {
    pub(crate) varmap: VarMap,
    pub(crate) projector: Projector,
    pub(crate) head: Head,
    /// Evaluation predictions are clipped to `[0, 1]` ([`ModelConfig::clip`]).
    clip: bool,
}

impl Network {
    /// Builds the network for `input_dim` features; every variable is drawn from a ChaCha8
    /// stream seeded with `seed` (candle's CPU generator cannot be seeded).
    pub(crate) fn new(config: &ModelConfig, input_dim: usize, seed: u64) -> Result<Self> {
        config.validate()?;
        let varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
        let projector = Projector::new(
            &projector_config(config, input_dim),
            vb.pp(PROJECTOR_PREFIX),
        )?;
        let head = match config.head {
            HeadKind::Dense => {
                Head::Dense(DenseHead::new(config.embedding_dim, vb.pp(HEAD_PREFIX))?)
            }
            HeadKind::Nona => Head::Nona(NonaHead::new(
                config.nona_config(),
                config.embedding_dim,
                vb.pp(HEAD_PREFIX),
            )?),
        };
        initialise(&varmap, seed)?;
        Ok(Self {
            varmap,
            projector,
            head,
            clip: config.clip,
        })
    }

    /// Training-mode head predictions (not clipped) for a batch of projector embeddings `z`
    /// with scaled labels `y` (NONA's in-batch neighbours).
    pub(crate) fn head_forward_train(&self, z: &Tensor, y: &Tensor) -> Result<Tensor> {
        Ok(match &self.head {
            Head::Dense(head) => head.forward(z)?,
            Head::Nona(head) => head.forward_train(z, y)?,
        })
    }

    /// The head's variables (what the head's optimiser trains).
    pub(crate) fn head_vars(&self) -> Vec<Var> {
        let data = self
            .varmap
            .data()
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let prefix = format!("{HEAD_PREFIX}.");
        let mut named: Vec<(&String, &Var)> = data
            .iter()
            .filter(|(name, _)| name.starts_with(&prefix))
            .collect();
        named.sort_by(|a, b| a.0.cmp(b.0));
        named.into_iter().map(|(_, var)| var.clone()).collect()
    }

    /// Evaluation-mode embeddings `(rows, d)`, detached, of `features` (`rows × input_dim`,
    /// row-major, already checked by [`check_features`]), in chunks of [`EVAL_ROWS`] rows.
    pub(crate) fn embed(&self, features: &[f32], input_dim: usize) -> Result<Tensor> {
        let rows = features.len() / input_dim.max(1);
        let x = Tensor::from_slice(features, (rows, input_dim), &Device::Cpu)?;
        let parts = padded_chunks(&x, EVAL_ROWS)?
            .into_iter()
            .map(|(chunk, real)| Ok(self.projector.forward_eval(&chunk)?.narrow(0, 0, real)?))
            .collect::<Result<Vec<_>>>()?;
        if parts.is_empty() {
            return Ok(Tensor::zeros(
                (0, self.projector.embedding_dim()),
                DType::F32,
                &Device::Cpu,
            )?);
        }
        Ok(Tensor::cat(&parts, 0)?.detach())
    }

    /// Rows the head evaluates at once ([`EVAL_ROWS`], or fewer for a large NONA bank).
    fn head_rows(&self, bank: Option<&NeighbourBank>) -> Result<usize> {
        Ok(match (&self.head, bank) {
            (Head::Nona(_), Some(bank)) => {
                EVAL_ROWS.min(NonaHead::query_chunk_rows(&bank.embeddings)?)
            }
            _ => EVAL_ROWS,
        })
    }

    /// Scaled predictions for embeddings `z`, clipped to `[0, 1]` when the model clips;
    /// NONA needs the `bank`. Detached from the graph.
    pub(crate) fn predict(&self, z: &Tensor, bank: Option<&NeighbourBank>) -> Result<Tensor> {
        let z = z.detach();
        let mut parts = Vec::new();
        for (chunk, real) in padded_chunks(&z, self.head_rows(bank)?)? {
            let predicted = match (&self.head, bank) {
                (Head::Dense(head), _) => head.forward(&chunk)?.detach(),
                (Head::Nona(head), Some(bank)) => {
                    head.predict_unclipped(&chunk, &bank.embeddings, &bank.labels)?
                }
                (Head::Nona(_), None) => {
                    return Err(TrainError::Input("NONA needs a neighbour bank".into()));
                }
            };
            parts.push(predicted.narrow(0, 0, real)?);
        }
        let predictions = if parts.is_empty() {
            Tensor::zeros(0, DType::F32, &Device::Cpu)?
        } else {
            Tensor::cat(&parts, 0)?
        };
        Ok(if self.clip {
            clip_unit(&predictions)?
        } else {
            predictions
        })
    }
}

impl std::fmt::Debug for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Network")
            .field("projector", &self.projector)
            .field("head", &self.head)
            .finish_non_exhaustive()
    }
}

/// Prefix of the projector's variables in the `VarMap`.
pub(crate) const PROJECTOR_PREFIX: &str = "projector";
/// Prefix of the head's variables in the `VarMap`.
const HEAD_PREFIX: &str = "head";

/// The projector's layer sizes for `config` over `input_dim` features.
pub(crate) fn projector_config(config: &ModelConfig, input_dim: usize) -> ProjectorConfig {
    ProjectorConfig {
        input_dim,
        hidden: config.hidden.clone(),
        embedding_dim: config.embedding_dim,
    }
}

/// Neighbours of NONA predictions: training embeddings and their scaled labels.
#[derive(Debug, Clone)]
pub(crate) struct NeighbourBank {
    pub(crate) embeddings: Tensor,
    pub(crate) labels: Tensor,
}

/// Re-draws every variable from a seeded stream, in name order, with the distributions of
/// `nona_heads`' initialisers: a rank-2 `…weight` `(out, in)` and its sibling `…bias` from
/// `U(±1/√in)` (PyTorch's `nn.Linear`), SoftStep's global `…theta` from `N(0, 1)`; everything
/// else (BatchNorm affine parameters and running statistics) keeps its constant initial value.
fn initialise(varmap: &VarMap, seed: u64) -> Result<()> {
    let data = varmap.data().lock().unwrap_or_else(PoisonError::into_inner);
    let mut names: Vec<&String> = data.keys().collect();
    names.sort();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for name in names {
        let var = &data[name];
        let fan_in = if name.ends_with("weight") {
            (var.rank() == 2).then(|| var.dims()[1])
        } else if let Some(prefix) = name.strip_suffix("bias") {
            data.get(&format!("{prefix}weight"))
                .filter(|w| w.rank() == 2)
                .map(|w| w.dims()[1])
        } else {
            None
        };
        let count = var.elem_count();
        let values: Vec<f32> = if let Some(fan_in) = fan_in {
            let bound = 1.0 / (fan_in.max(1) as f64).sqrt();
            (0..count)
                .map(|_| rng.random_range(-bound..bound) as f32)
                .collect()
        } else if name.ends_with("theta") {
            (0..count)
                .map(|_| standard_normal(&mut rng) as f32)
                .collect()
        } else {
            continue;
        };
        var.set(&Tensor::from_vec(values, var.shape(), &Device::Cpu)?)?;
    }
    Ok(())
}

/// One `N(0, 1)` draw (Box–Muller).
pub(crate) fn standard_normal(rng: &mut impl Rng) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>();
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// What `model.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelDescription {
    /// [`FORMAT_VERSION`] of the files.
    pub format_version: u32,
    /// Architecture.
    pub model: ModelConfig,
    /// Feature dimension the projector takes.
    pub input_dim: usize,
    /// Smallest training label (label scaling).
    pub label_min: f64,
    /// Largest training label (label scaling).
    pub label_max: f64,
}

/// Predictions for a set of rows.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Predictions {
    /// On the min-max scaled label range; clipped to `[0, 1]` when the model clips.
    pub scaled: Vec<f64>,
    /// In original label units (the scaled predictions mapped back).
    pub original: Vec<f64>,
}

/// A trained network ready for prediction: weights, label scaling and (NONA) neighbour bank.
#[derive(Debug)]
pub struct TrainedModel {
    network: Network,
    config: ModelConfig,
    input_dim: usize,
    scaler: MinMaxScaler,
    bank: Option<NeighbourBank>,
}

impl TrainedModel {
    pub(crate) fn new(
        network: Network,
        config: ModelConfig,
        input_dim: usize,
        scaler: MinMaxScaler,
        bank: Option<NeighbourBank>,
    ) -> Self {
        Self {
            network,
            config,
            input_dim,
            scaler,
            bank,
        }
    }

    /// Architecture.
    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// Feature dimension expected by [`Self::predict`].
    pub fn input_dim(&self) -> usize {
        self.input_dim
    }

    /// The label scaling fitted on the training split.
    pub fn scaler(&self) -> MinMaxScaler {
        self.scaler
    }

    /// The variables (projector and head) as candle's `VarMap`.
    pub fn varmap(&self) -> &VarMap {
        &self.network.varmap
    }

    /// Projector embeddings `(rows × d`, row-major) of backbone features `(rows × input_dim)`.
    pub fn embed(&self, features: &[f32]) -> Result<Vec<f32>> {
        check_features(features, self.input_dim)?;
        Ok(self
            .network
            .embed(features, self.input_dim)?
            .flatten_all()?
            .to_vec1()?)
    }

    /// Evaluation embeddings `(rows, d)` of features already checked by [`check_features`].
    pub(crate) fn embed_checked(&self, features: &[f32]) -> Result<Tensor> {
        self.network.embed(features, self.input_dim)
    }

    /// Predictions for backbone features `(rows × input_dim`, row-major); NONA uses the stored
    /// neighbour bank of training embeddings.
    pub fn predict(&self, features: &[f32]) -> Result<Predictions> {
        check_features(features, self.input_dim)?;
        let z = self.network.embed(features, self.input_dim)?;
        self.predict_embedded(&z)
    }

    /// Predictions for projector embeddings `z` `(rows, d)`.
    pub(crate) fn predict_embedded(&self, z: &Tensor) -> Result<Predictions> {
        let scaled: Vec<f64> = self
            .network
            .predict(z, self.bank.as_ref())?
            .to_dtype(DType::F64)?
            .to_vec1()?;
        let original = scaled.iter().map(|&p| self.scaler.inverse(p)).collect();
        Ok(Predictions { scaled, original })
    }

    /// The evidence of the NONA predictions for projector embeddings `embeddings` (`rows × d`,
    /// row-major, as [`crate::SplitResult::embeddings`]), keeping the `top_k` neighbours: their
    /// indices are rows of the training split (the neighbour bank), and the means and spreads
    /// are on the scaled label range. `None` for the dense head, which has no neighbours.
    pub fn explain(&self, embeddings: &[f32], top_k: usize) -> Result<Option<Vec<Evidence>>> {
        let (Head::Nona(head), Some(bank)) = (&self.network.head, &self.bank) else {
            return Ok(None);
        };
        let dim = self.config.embedding_dim;
        let rows = check_features(embeddings, dim)?;
        let z = Tensor::from_slice(embeddings, (rows, dim), &Device::Cpu)?;
        let mut evidence = Vec::with_capacity(rows);
        for (chunk, real) in padded_chunks(&z, self.network.head_rows(Some(bank))?)? {
            let explained = head.explain(&chunk, &bank.embeddings, &bank.labels, top_k)?;
            evidence.extend(explained.into_iter().take(real));
        }
        Ok(Some(evidence))
    }

    /// What `model.json` holds.
    pub fn description(&self) -> ModelDescription {
        ModelDescription {
            format_version: FORMAT_VERSION,
            model: self.config.clone(),
            input_dim: self.input_dim,
            label_min: self.scaler.min,
            label_max: self.scaler.max,
        }
    }

    /// Writes [`WEIGHTS_FILE`] and [`DESCRIPTION_FILE`] into `dir` (which must exist).
    pub fn save(&self, dir: &Path) -> Result<()> {
        let mut tensors: std::collections::HashMap<String, Tensor> = self
            .network
            .varmap
            .data()
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(name, var)| (name.clone(), var.as_tensor().detach()))
            .collect();
        if let Some(bank) = &self.bank {
            tensors.insert(BANK_EMBEDDINGS.into(), bank.embeddings.clone());
            tensors.insert(BANK_LABELS.into(), bank.labels.clone());
        }
        candle_core::safetensors::save(&tensors, dir.join(WEIGHTS_FILE))?;
        let path = dir.join(DESCRIPTION_FILE);
        let json = serde_json::to_string_pretty(&self.description()).map_err(|source| {
            TrainError::Json {
                path: path.display().to_string(),
                source,
            }
        })?;
        std::fs::write(&path, json + "\n").map_err(|source| TrainError::Io {
            path: path.display().to_string(),
            source,
        })
    }

    /// Reads a model written by [`Self::save`].
    pub fn load(dir: &Path) -> Result<Self> {
        let path = dir.join(DESCRIPTION_FILE);
        let text = std::fs::read_to_string(&path).map_err(|source| TrainError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let description: ModelDescription =
            serde_json::from_str(&text).map_err(|source| TrainError::Json {
                path: path.display().to_string(),
                source,
            })?;
        if description.format_version != FORMAT_VERSION {
            return Err(TrainError::Input(format!(
                "{}: format_version {} is not {FORMAT_VERSION}",
                path.display(),
                description.format_version
            )));
        }
        let mut network = Network::new(&description.model, description.input_dim, 0)?;
        let weights = dir.join(WEIGHTS_FILE);
        network.varmap.load(&weights)?;
        let bank = match description.model.head {
            HeadKind::Dense => None,
            HeadKind::Nona => {
                let mut stored = candle_core::safetensors::load(&weights, &Device::Cpu)?;
                let mut take = |name: &str| {
                    stored.remove(name).ok_or_else(|| {
                        TrainError::Input(format!("{}: no tensor `{name}`", weights.display()))
                    })
                };
                Some(NeighbourBank {
                    embeddings: take(BANK_EMBEDDINGS)?,
                    labels: take(BANK_LABELS)?,
                })
            }
        };
        Ok(Self {
            network,
            scaler: MinMaxScaler {
                min: description.label_min,
                max: description.label_max,
            },
            config: description.model,
            input_dim: description.input_dim,
            bank,
        })
    }
}

/// `x` `(rows, cols)` in chunks of exactly `rows_per_call` rows, the last padded with zero rows,
/// each with its count of real rows.
fn padded_chunks(x: &Tensor, rows_per_call: usize) -> Result<Vec<(Tensor, usize)>> {
    let (rows, cols) = x.dims2()?;
    (0..rows)
        .step_by(rows_per_call.max(1))
        .map(|start| {
            let real = rows_per_call.min(rows - start);
            let chunk = x.narrow(0, start, real)?;
            let chunk = if real < rows_per_call {
                let padding = Tensor::zeros((rows_per_call - real, cols), x.dtype(), x.device())?;
                Tensor::cat(&[&chunk, &padding], 0)?
            } else {
                chunk
            };
            Ok((chunk, real))
        })
        .collect()
}

const BANK_EMBEDDINGS: &str = "bank.embeddings";
const BANK_LABELS: &str = "bank.labels";

/// The number of rows of row-major `features` of dimension `dim`; errors on a ragged length or
/// non-finite values.
pub(crate) fn check_features(features: &[f32], dim: usize) -> Result<usize> {
    if dim == 0 || !features.len().is_multiple_of(dim) {
        return Err(TrainError::Input(format!(
            "{} feature values do not form rows of dimension {dim}",
            features.len()
        )));
    }
    if let Some(bad) = features.iter().find(|v| !v.is_finite()) {
        return Err(TrainError::Input(format!("non-finite feature value {bad}")));
    }
    Ok(features.len() / dim)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bits(values: &[f64]) -> Vec<u64> {
        values.iter().map(|v| v.to_bits()).collect()
    }

    /// A row's embedding, prediction and evidence are the same bits whatever rows are evaluated
    /// with it (here: 5 rows alone, and among 200), for both heads.
    #[test]
    fn a_rows_evaluation_does_not_depend_on_the_rows_beside_it() {
        let input_dim = 48;
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let features: Vec<f32> = (0..200 * input_dim)
            .map(|_| rng.random_range(-1.0f32..1.0))
            .collect();
        let some = &features[7 * input_dim..12 * input_dim];
        for head in [HeadKind::Dense, HeadKind::Nona] {
            let config = ModelConfig {
                head,
                hidden: vec![96],
                embedding_dim: 16,
                clip: false,
                ..ModelConfig::default()
            };
            let network = Network::new(&config, input_dim, 3).unwrap();
            let bank = NeighbourBank {
                embeddings: network
                    .embed(&features[..150 * input_dim], input_dim)
                    .unwrap(),
                labels: Tensor::from_vec(
                    (0..150).map(|i| i as f32 / 150.0).collect::<Vec<_>>(),
                    150,
                    &Device::Cpu,
                )
                .unwrap(),
            };
            let scaler = MinMaxScaler { min: 0.0, max: 1.0 };
            let bank = (head == HeadKind::Nona).then_some(bank);
            let model = TrainedModel::new(network, config, input_dim, scaler, bank);
            let (all_z, some_z) = (model.embed(&features).unwrap(), model.embed(some).unwrap());
            assert_eq!(some_z, all_z[7 * 16..12 * 16], "{head:?} embeddings");
            let all = model.predict(&features).unwrap();
            let alone = model.predict(some).unwrap();
            assert_eq!(bits(&alone.scaled), bits(&all.scaled[7..12]), "{head:?}");
            let all = model.explain(&all_z, 3).unwrap();
            let alone = model.explain(&some_z, 3).unwrap();
            assert_eq!(
                alone.as_deref(),
                all.as_ref().map(|all| &all[7..12]),
                "{head:?}"
            );
        }
    }
}
