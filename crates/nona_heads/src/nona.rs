//! The NONA regression head: `ŷ = softmax_rows(Sim(Z, Z_N) + log m) · y_N`.

use candle_core::{DType, Tensor};
use candle_nn::VarBuilder;

use crate::error::{HeadsError, Result};
use crate::evidence::Evidence;
use crate::scaling::clip_unit;
use crate::similarity::Similarity;
use crate::softstep::{SoftStep, SoftStepKind, SoftStepParams};

/// Smallest training batch: with one sample its only neighbour (itself) is masked out, every
/// logit is −∞ and the softmax is undefined. Drop or merge such a final batch.
pub const MIN_TRAIN_BATCH: usize = 2;

/// Largest number of `(query, neighbour, dim)` elements [`NonaHead::predict`] materialises at once.
const PREDICT_CHUNK_ELEMENTS: usize = 1 << 24;

/// Configuration of a [`NonaHead`]. Default: the paper's choice (−L2, S2, pointwise).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NonaConfig {
    /// Similarity between embeddings.
    pub similarity: Similarity,
    /// SoftStep function (or none).
    pub softstep: SoftStepKind,
    /// How SoftStep's `(a, b, t)` are produced (ignored for [`SoftStepKind::None`]).
    pub params: SoftStepParams,
    /// The ε of the README formulas: parameter clamp `[ε, 1 − ε]`, S1's `a − ε` and power floor,
    /// S2's `sim_norm ≥ ε`. The reference uses 1e-12 in float64; 1e-6 keeps `1 − ε < 1` in f32
    /// (with 1e-12, `t` can round to 1 and `t/(1 − t)` becomes ∞).
    pub eps: f64,
}

impl Default for NonaConfig {
    fn default() -> Self {
        Self {
            similarity: Similarity::L2,
            softstep: SoftStepKind::S2,
            params: SoftStepParams::Pointwise,
            eps: 1e-6,
        }
    }
}

/// NONA head over embeddings of dimension `dim`.
#[derive(Debug, Clone)]
pub struct NonaHead {
    config: NonaConfig,
    softstep: Option<SoftStep>,
}

impl NonaHead {
    /// Builds the head; SoftStep variables live under `vb.pp("softstep")`.
    pub fn new(config: NonaConfig, dim: usize, vb: VarBuilder) -> Result<Self> {
        let softstep = SoftStep::new(
            config.softstep,
            config.params,
            dim,
            config.eps,
            vb.pp("softstep"),
        )?;
        Ok(Self { config, softstep })
    }

    /// The configuration the head was built with.
    pub fn config(&self) -> &NonaConfig {
        &self.config
    }

    /// The SoftStep module, if any.
    pub fn softstep(&self) -> Option<&SoftStep> {
        self.softstep.as_ref()
    }

    /// Training prediction `(b,)`: the batch `z` `(b, d)` with labels `y` `(b,)` is its own
    /// neighbour set and each sample's self-similarity is masked to −∞. Not clipped.
    ///
    /// Errors with [`HeadsError::TrainBatchTooSmall`] for `b < 2` (see [`MIN_TRAIN_BATCH`]).
    pub fn forward_train(&self, z: &Tensor, y: &Tensor) -> Result<Tensor> {
        let size = z.dim(0)?;
        if size < MIN_TRAIN_BATCH {
            return Err(HeadsError::TrainBatchTooSmall {
                size,
                min: MIN_TRAIN_BATCH,
            });
        }
        let logits = self.logits(z, z, true)?;
        let self_mask = Tensor::eye(size, DType::U8, z.device())?;
        let neg_infinity = Tensor::full(f64::NEG_INFINITY, (size, size), z.device())?;
        let logits = self_mask.where_cond(&neg_infinity.to_dtype(logits.dtype())?, &logits)?;
        weighted_labels(&logits, y)
    }

    /// Evaluation prediction `(b,)` of queries `z` `(b, d)` from a neighbour bank `bank_z`
    /// `(N, d)` with labels `bank_y` `(N,)` (the training split). Not clipped, differentiable.
    pub fn forward_eval(&self, z: &Tensor, bank_z: &Tensor, bank_y: &Tensor) -> Result<Tensor> {
        if bank_z.dim(0)? == 0 {
            return Err(HeadsError::Shape("the neighbour bank is empty".into()));
        }
        weighted_labels(&self.logits(z, bank_z, false)?, bank_y)
    }

    /// Evaluation predictions clipped to `[0, 1]` (see [`Self::predict_unclipped`]).
    pub fn predict(&self, z: &Tensor, bank_z: &Tensor, bank_y: &Tensor) -> Result<Tensor> {
        clip_unit(&self.predict_unclipped(z, bank_z, bank_y)?)
    }

    /// Evaluation predictions, computed in query chunks so that the `(chunk, N, d)` difference
    /// tensor of L1/L2 off the CPU, and the `(chunk, N)` matrices, stay bounded. Detached from
    /// the graph. With labels in `[0, 1]` they are weighted means inside `[0, 1]` already.
    pub fn predict_unclipped(
        &self,
        z: &Tensor,
        bank_z: &Tensor,
        bank_y: &Tensor,
    ) -> Result<Tensor> {
        let bank_z = bank_z.detach();
        let bank_y = bank_y.detach();
        let mut parts = Vec::new();
        for rows in query_chunks(z, &bank_z)? {
            parts.push(self.forward_eval(&rows?, &bank_z, &bank_y)?);
        }
        if parts.is_empty() {
            return Ok(Tensor::zeros(0, z.dtype(), z.device())?);
        }
        Ok(Tensor::cat(&parts, 0)?)
    }

    /// The [`Evidence`] of each evaluation prediction of [`Self::predict_unclipped`], keeping
    /// the `top_k` neighbours: the attention weights `softmax_rows(Sim + log m)` (the SoftStep
    /// mask included) over the whole bank, and each top neighbour's `Sim` (without the mask).
    /// Chunked as the predictions are; the predictions themselves are not touched.
    pub fn explain(
        &self,
        z: &Tensor,
        bank_z: &Tensor,
        bank_y: &Tensor,
        top_k: usize,
    ) -> Result<Vec<Evidence>> {
        let bank_z = bank_z.detach();
        if bank_z.dim(0)? == 0 {
            return Err(HeadsError::Shape("the neighbour bank is empty".into()));
        }
        let labels = bank_y.to_dtype(DType::F64)?.to_vec1::<f64>()?;
        if labels.len() != bank_z.dim(0)? {
            return Err(HeadsError::Shape(format!(
                "{} bank labels for {} bank embeddings",
                labels.len(),
                bank_z.dim(0)?
            )));
        }
        let mut evidence = Vec::with_capacity(z.dim(0)?);
        for rows in query_chunks(z, &bank_z)? {
            let rows = rows?;
            let sim = self.similarities(&rows, &bank_z)?;
            let weights = candle_nn::ops::softmax(&self.masked(&rows, &sim, false)?, 1)?;
            let weights = weights.to_dtype(DType::F64)?.to_vec2::<f64>()?;
            let sim = sim.to_dtype(DType::F64)?.to_vec2::<f64>()?;
            for (weights, sim) in weights.iter().zip(&sim) {
                evidence.push(Evidence::of(weights, &labels, sim, top_k));
            }
        }
        Ok(evidence)
    }

    /// `Sim(z, z_n) + log m` (without the self mask).
    fn logits(&self, z: &Tensor, z_n: &Tensor, exclude_self: bool) -> Result<Tensor> {
        let sim = self.similarities(z, z_n)?;
        self.masked(z, &sim, exclude_self)
    }

    /// `Sim(z, z_n)` `(b, N)`, after checking the dimensions agree.
    fn similarities(&self, z: &Tensor, z_n: &Tensor) -> Result<Tensor> {
        let (_, dim) = z.dims2()?;
        let (_, bank_dim) = z_n.dims2()?;
        if dim != bank_dim {
            return Err(HeadsError::Shape(format!(
                "query dim {dim} differs from neighbour dim {bank_dim}"
            )));
        }
        self.config.similarity.matrix(z, z_n)
    }

    /// `sim + log m`, the SoftStep log-mask of the queries `z` added when there is one.
    fn masked(&self, z: &Tensor, sim: &Tensor, exclude_self: bool) -> Result<Tensor> {
        match &self.softstep {
            None => Ok(sim.clone()),
            Some(softstep) => Ok((sim + softstep.log_mask(z, sim, exclude_self)?)?),
        }
    }
}

impl NonaHead {
    /// Queries predicted or explained together against the bank `bank_z` `(N, d)`: at most
    /// [`PREDICT_CHUNK_ELEMENTS`] `(query, neighbour, dim)` elements at once.
    pub fn query_chunk_rows(bank_z: &Tensor) -> Result<usize> {
        let (neighbours, dim) = bank_z.dims2()?;
        Ok((PREDICT_CHUNK_ELEMENTS / (neighbours.max(1) * dim.max(1))).max(1))
    }
}

/// The queries `z` `(b, d)` in detached chunks of rows small enough that a chunk against the
/// bank materialises at most [`PREDICT_CHUNK_ELEMENTS`] `(query, neighbour, dim)` elements.
fn query_chunks<'a>(
    z: &'a Tensor,
    bank_z: &Tensor,
) -> Result<impl Iterator<Item = Result<Tensor>> + 'a> {
    let queries = z.dim(0)?;
    let chunk = NonaHead::query_chunk_rows(bank_z)?;
    Ok((0..queries)
        .step_by(chunk)
        .map(move |start| Ok(z.narrow(0, start, chunk.min(queries - start))?.detach())))
}

/// `softmax_rows(logits) · y`, shape `(b,)`.
fn weighted_labels(logits: &Tensor, y: &Tensor) -> Result<Tensor> {
    let neighbours = logits.dim(1)?;
    if y.dims() != [neighbours] {
        return Err(HeadsError::Shape(format!(
            "labels have shape {:?}, expected ({neighbours},)",
            y.dims()
        )));
    }
    let weights = candle_nn::ops::softmax(logits, 1)?;
    Ok(weights.matmul(&y.unsqueeze(1)?)?.squeeze(1)?)
}
