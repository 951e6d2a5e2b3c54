//! Predicting with a trained model (`runs/<p>/train/models/cell-NNNNN`) for the rows of an
//! embeddings table, as `nona predict` does: the model runs here, the CLI parses and prints.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use arrow::array::{ArrayRef, Float64Array};
use arrow::record_batch::RecordBatch;
use nona_train::TrainedModel;

/// Column names of the table to predict for.
pub struct PredictColumns<'a> {
    /// Sample ids.
    pub id: &'a str,
    /// Embeddings, as the model's training table had them.
    pub embedding: &'a str,
    /// Copied to the output when the table has it.
    pub label: &'a str,
}

/// Predicts for every row of `input` with the model in `model_dir` and writes `output`
/// ([`nona_table::schemas::predict_output`]: id, prediction, prediction_scaled, and label when
/// the input has one). Returns the row count.
pub fn predict(
    model_dir: &Path,
    input: &Path,
    output: &Path,
    columns: &PredictColumns,
) -> anyhow::Result<usize> {
    let model = TrainedModel::load(model_dir)
        .with_context(|| format!("loading the model in {}", model_dir.display()))?;
    let table = nona_table::Dataset::open(input)?;
    let has_label = table.schema().index_of(columns.label).is_ok();
    let schema = nona_table::schemas::predict_output(has_label);
    let mut batches = Vec::new();
    for batch in table.batches() {
        let (batch, path) = batch?;
        let ids = nona_table::string_column(&batch, columns.id, path)?;
        let (features, dim) = nona_table::embedding_rows(&batch, columns.embedding, path)?;
        if batch.num_rows() == 0 {
            continue;
        }
        anyhow::ensure!(
            dim == model.input_dim(),
            "{}: column `{}` has width {dim}, but the model takes {} (was it trained on another backbone?)",
            path.display(),
            columns.embedding,
            model.input_dim()
        );
        let predictions = model
            .predict(&features)
            .with_context(|| format!("predicting for {}", path.display()))?;
        let mut arrays: Vec<ArrayRef> = vec![
            Arc::new(ids.clone()) as ArrayRef,
            Arc::new(Float64Array::from(predictions.original)),
            Arc::new(Float64Array::from(predictions.scaled)),
        ];
        if has_label {
            arrays.push(Arc::new(
                nona_table::f64_column(&batch, columns.label, path)?.clone(),
            ));
        }
        batches.push(RecordBatch::try_new(schema.clone(), arrays)?);
    }
    let mut metadata = nona_table::Metadata::new();
    metadata.insert("nona.model".to_owned(), model_dir.display().to_string());
    metadata.insert("nona.input".to_owned(), input.display().to_string());
    let rows = batches.iter().map(RecordBatch::num_rows).sum();
    nona_table::write_part(output, schema, &batches, &metadata)?;
    Ok(rows)
}
