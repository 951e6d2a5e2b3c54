//! What makes a saved model self-contained: `provenance.json` (how its input embeddings were
//! made) and `neighbours.parquet` (who its NONA neighbours are), both written beside
//! `model.safetensors` so that `nona predict` can run raw inputs through the same preprocessing
//! and backbone, and name the training samples behind each prediction.
//!
//! Nothing here re-declares a field of another stage: the `[dataset]`, `[preprocess]` and
//! `[embed]` sections are recorded as their own readers parse them, and the weights and
//! tokenizer as the embed stage recorded them in its table's footer.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use arrow::array::{Float64Array, StringArray};
use arrow::record_batch::RecordBatch;
use nona_datasets::DatasetConfig;
use nona_pipeline::Stage;
use nona_pipeline::config::Pipeline;
use serde::{Deserialize, Serialize};

use crate::embed::EmbedStage;
use crate::embed::config::{EmbedConfig, SYNTHETIC_WEIGHTS};
use crate::preprocess::{PreprocessConfig, PreprocessStage};

/// The provenance file inside a model directory.
pub const PROVENANCE_FILE: &str = "provenance.json";
/// The neighbour bank's samples inside a NONA model directory.
pub const NEIGHBOURS_FILE: &str = "neighbours.parquet";
/// Version of [`Provenance`]'s layout.
const FORMAT_VERSION: u32 = 1;

/// A file the embeddings were made with, as the embed stage found it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordedFile {
    /// Where the embed stage found it.
    pub path: PathBuf,
    /// Its SHA-256 (hex).
    pub sha256: String,
}

/// `provenance.json`: how the model's input embeddings were made.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provenance {
    /// [`FORMAT_VERSION`].
    pub format_version: u32,
    /// The training pipeline's name.
    pub pipeline: String,
    /// Its `[dataset]` section, paths resolved (modality, manifest columns, input template,
    /// label transform).
    pub dataset: DatasetConfig,
    /// Its `[preprocess]` section, as the preprocess stage fingerprints it.
    pub preprocess: PreprocessConfig,
    /// Its `[embed]` section (backbone, pooling, normalisation, batching, device).
    pub embed: EmbedConfig,
    /// The weights file and its digest; `None` for `weights = "synthetic"`.
    pub weights: Option<RecordedFile>,
    /// A text backbone's tokenizer and its digest.
    pub tokenizer: Option<RecordedFile>,
    /// Width of the backbone embeddings (the model's input).
    pub embedding_dim: usize,
    /// Neighbours the train stage kept per explained prediction (`[train] explain_top_k`).
    pub explain_top_k: usize,
}

/// The upstream sections of a pipeline whose train stage reads its own embed stage.
#[derive(Debug, Clone)]
pub(super) struct UpstreamSections {
    dataset: DatasetConfig,
    preprocess: PreprocessConfig,
    embed: EmbedConfig,
}

impl UpstreamSections {
    /// The sections as their stages read them; `None` when one is absent or does not parse
    /// (its stage reports that).
    pub(super) fn read(pipeline: &Pipeline) -> Option<Self> {
        Some(Self {
            dataset: crate::dataset::read(pipeline).ok()??,
            preprocess: pipeline
                .section::<PreprocessConfig>(PreprocessStage::NAME)
                .ok()?
                .unwrap_or_default(),
            embed: pipeline.section::<EmbedConfig>(EmbedStage::NAME).ok()??,
        })
    }

    /// The provenance of a model trained in pipeline `name` on the embeddings table whose
    /// footer is `metadata` (the embed stage's `nona.weights_*` and `nona.tokenizer_*` keys).
    pub(super) fn provenance(
        &self,
        name: &str,
        metadata: &nona_table::Metadata,
        embedding_dim: usize,
        explain_top_k: usize,
    ) -> Provenance {
        let recorded = |what: &str| {
            let sha256 = metadata.get(&format!("nona.{what}_sha256"))?;
            let path = metadata.get(&format!("nona.{what}_path"))?;
            (sha256 != SYNTHETIC_WEIGHTS).then(|| RecordedFile {
                path: std::path::absolute(path).unwrap_or_else(|_| PathBuf::from(path)),
                sha256: sha256.clone(),
            })
        };
        Provenance {
            format_version: FORMAT_VERSION,
            pipeline: name.to_owned(),
            dataset: self.dataset.clone(),
            preprocess: self.preprocess.clone(),
            embed: self.embed.clone(),
            weights: recorded("weights"),
            tokenizer: recorded("tokenizer"),
            embedding_dim,
            explain_top_k,
        }
    }
}

impl Provenance {
    /// Reads `provenance.json` of the model in `dir`; a model saved before nona recorded it is
    /// told to be trained again.
    pub fn load(dir: &Path) -> anyhow::Result<Self> {
        let path = dir.join(PROVENANCE_FILE);
        if !path.is_file() {
            anyhow::bail!(
                "{} has no {PROVENANCE_FILE}, so nona cannot tell how its input embeddings were made: it was saved before nona recorded that, or trained on an embeddings table from outside the pipeline ([train] input). Re-run the train stage (`nona run PIPELINE --stage train --force`) to predict on raw inputs, or pass an embeddings table to --input",
                dir.display()
            );
        }
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let provenance: Self = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a model provenance", path.display()))?;
        anyhow::ensure!(
            provenance.format_version == FORMAT_VERSION,
            "{}: format_version {} is not {FORMAT_VERSION}; re-run the train stage",
            path.display(),
            provenance.format_version
        );
        Ok(provenance)
    }

    /// Writes `provenance.json` into `dir`.
    pub(super) fn save(&self, dir: &Path) -> anyhow::Result<()> {
        let path = dir.join(PROVENANCE_FILE);
        std::fs::write(&path, serde_json::to_string_pretty(self)? + "\n")
            .with_context(|| format!("writing {}", path.display()))
    }
}

/// Writes `neighbours.parquet` into `dir`: the ids and labels (original units) of the neighbour
/// bank's rows, in bank order.
pub(super) fn save_neighbours(dir: &Path, ids: &[&str], labels: &[f64]) -> anyhow::Result<()> {
    let schema = nona_table::schemas::model_neighbours();
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from(ids.to_vec())),
            Arc::new(Float64Array::from(labels.to_vec())),
        ],
    )?;
    nona_table::write_part(
        &dir.join(NEIGHBOURS_FILE),
        schema,
        &[batch],
        &nona_table::Metadata::new(),
    )?;
    Ok(())
}

/// The ids and labels of the neighbour bank of the NONA model in `dir`, in bank order.
pub fn load_neighbours(dir: &Path) -> anyhow::Result<(Vec<String>, Vec<f64>)> {
    let path = dir.join(NEIGHBOURS_FILE);
    anyhow::ensure!(
        path.is_file(),
        "{} is missing; re-run the train stage (`nona run PIPELINE --stage train --force`)",
        path.display()
    );
    let (mut ids, mut labels) = (Vec::new(), Vec::new());
    for batch in nona_table::Dataset::open(&path)?.read_all()? {
        let id = nona_table::string_column(&batch, "id", &path)?;
        ids.extend((0..batch.num_rows()).map(|r| id.value(r).to_owned()));
        labels.extend(nona_table::f64_column(&batch, "label", &path)?.values());
    }
    Ok((ids, labels))
}
