//! Predicting with a trained model (`runs/<p>/train/models/cell-NNNNN`), as `nona predict` does:
//! the model runs here, the CLI parses and prints.
//!
//! The input is an embeddings table, or raw inputs ([`raw`]: a manifest with the training
//! pipeline's columns, or a glob of files) that go through the preprocessing and backbone the
//! model's `provenance.json` records, by the embed stage's own code ([`record`] rebuilds the
//! stage and refuses weights, a tokenizer, a backbone or preprocessing other than the record's).
//! Every prediction of a NONA model comes with its evidence ([`output`]).

mod output;
mod raw;
mod record;

use std::path::{Path, PathBuf};

use anyhow::Context;
use nona_train::TrainedModel;

use crate::train::provenance::Provenance;
pub use output::Predicted;
use output::{Outputs, Rows};

/// Column names of an embeddings table to predict for.
pub struct PredictColumns<'a> {
    /// Sample ids.
    pub id: &'a str,
    /// Embeddings, as the model's training table had them.
    pub embedding: &'a str,
    /// Copied to the output when the table has it.
    pub label: &'a str,
}

/// What to predict for.
pub enum PredictInput<'a> {
    /// The rows of an embeddings table (a Parquet file or a directory of parts).
    Embeddings {
        /// The table.
        table: &'a Path,
        /// Its columns.
        columns: PredictColumns<'a>,
    },
    /// The rows of a manifest (`.csv` or `.parquet`) with the training pipeline's columns (the
    /// label column optional); relative sample paths are relative to the manifest's folder.
    Manifest(&'a Path),
    /// The files a glob matches (`photos/*.jpg`, `clips/**/*.wav`); a sample's id is its path
    /// relative to the glob's base (the folder before the first wildcard).
    Files(&'a str),
}

/// Whether `--input` names an embeddings table (a directory of parts, or a `.parquet` file
/// without wildcards) rather than a glob of raw files.
pub fn is_table(input: &str) -> bool {
    let path = Path::new(input);
    !input.contains(['*', '?', '['])
        && (path.is_dir()
            || path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("parquet")))
}

/// Where raw inputs' weights and settings come from, when not from the model's record.
#[derive(Default)]
pub struct RawOptions {
    /// The backbone's weights file (default: where the training pipeline found them).
    pub weights: Option<PathBuf>,
    /// A text backbone's tokenizer (default: where the training pipeline found it).
    pub tokenizer: Option<PathBuf>,
    /// A pipeline file whose `[dataset]`, `[preprocess]` and `[embed]` are used instead of the
    /// recorded ones; refused when they would embed differently.
    pub pipeline: Option<PathBuf>,
}

/// Predicts for `input` with the model in `model_dir` and writes `output`
/// ([`nona_table::schemas::predict_output`]), the evidence of a NONA model's predictions beside
/// it ([`output::explanations_path`]) and, for raw inputs that failed, an errors table
/// ([`output::errors_path`]). `top_k`: neighbours kept per prediction (default: the train
/// stage's `explain_top_k`, else 5).
pub fn predict(
    model_dir: &Path,
    input: &PredictInput,
    output: &Path,
    raw_options: &RawOptions,
    top_k: Option<usize>,
) -> anyhow::Result<Predicted> {
    let model = TrainedModel::load(model_dir)
        .with_context(|| format!("loading the model in {}", model_dir.display()))?;
    let outputs = Outputs {
        model_dir,
        model: &model,
        path: output,
    };
    let raw = match input {
        PredictInput::Embeddings { table, columns } => {
            let provenance = Provenance::load(model_dir).ok();
            let top_k = top_k.unwrap_or(provenance.map_or(DEFAULT_TOP_K, |p| p.explain_top_k));
            let rows = rows_of_table(table, columns, model.input_dim())?;
            return outputs.write(&rows, &table.display().to_string(), top_k, &[]);
        }
        PredictInput::Manifest(path) => raw::RawInput::Manifest(path),
        PredictInput::Files(pattern) => raw::RawInput::Files(pattern),
    };
    let provenance = Provenance::load(model_dir)?;
    anyhow::ensure!(
        provenance.embedding_dim == model.input_dim(),
        "{}: provenance.json records {}-wide embeddings, but the model takes {}",
        model_dir.display(),
        provenance.embedding_dim,
        model.input_dim()
    );
    let top_k = top_k.unwrap_or(provenance.explain_top_k);
    raw::predict(&provenance, &raw, raw_options, &outputs, top_k)
}

/// Neighbours kept per prediction when neither the caller nor the model's record says.
const DEFAULT_TOP_K: usize = 5;

/// The rows of an embeddings table, checked against the model's input width.
fn rows_of_table(input: &Path, columns: &PredictColumns, input_dim: usize) -> anyhow::Result<Rows> {
    let table = nona_table::Dataset::open(input)?;
    let has_label = table.schema().index_of(columns.label).is_ok();
    let mut rows = Rows {
        ids: Vec::new(),
        labels: has_label.then(Vec::new),
        features: Vec::new(),
        metadata: nona_table::Metadata::new(),
    };
    for batch in table.batches() {
        let (batch, path) = batch?;
        let ids = nona_table::string_column(&batch, columns.id, path)?;
        let (features, dim) = nona_table::embedding_rows(&batch, columns.embedding, path)?;
        if batch.num_rows() == 0 {
            continue;
        }
        anyhow::ensure!(
            dim == input_dim,
            "{}: column `{}` has width {dim}, but the model takes {input_dim} (was it trained on another backbone?)",
            path.display(),
            columns.embedding,
        );
        rows.ids
            .extend((0..batch.num_rows()).map(|r| ids.value(r).to_owned()));
        rows.features.extend(features);
        if let Some(labels) = &mut rows.labels {
            labels.extend(nona_table::f64_column(&batch, columns.label, path)?.values());
        }
    }
    Ok(rows)
}
