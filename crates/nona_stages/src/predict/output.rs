//! What `nona predict` writes: the predictions (`--output`), the evidence of a NONA model's
//! predictions beside it (the rows of the train stage's `explanations`, by the same
//! [`ExplanationRows`]), and the inputs that failed (the errors table's columns).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, StringArray};
use arrow::record_batch::RecordBatch;
use nona_heads::Evidence;
use nona_pipeline::RowError;
use nona_train::TrainedModel;

use crate::explanation_rows::{Explained, ExplanationRows};
use crate::train::provenance::{NEIGHBOURS_FILE, load_neighbours};

/// The rows to predict for.
pub(super) struct Rows {
    pub ids: Vec<String>,
    /// Labels in original units, when the input has them.
    pub labels: Option<Vec<f64>>,
    /// Backbone embeddings, row-major.
    pub features: Vec<f32>,
    /// Footer metadata to add (what embedded raw inputs).
    pub metadata: nona_table::Metadata,
}

/// What `nona predict` wrote.
#[derive(Debug)]
pub struct Predicted {
    /// Rows of the predictions file.
    pub rows: usize,
    /// The explanations file, when the model is NONA (and keeps neighbours).
    pub explanations: Option<PathBuf>,
    /// Why there is no explanations file, when there is none.
    pub no_explanations: Option<String>,
    /// Inputs that could not be predicted.
    pub errors: usize,
    /// The errors table that lists them, when there are any.
    pub errors_file: Option<PathBuf>,
}

/// `<output stem>.explanations.parquet` beside `output`.
pub fn explanations_path(output: &Path) -> PathBuf {
    sibling(output, "explanations")
}

/// `<output stem>.errors.parquet` beside `output`.
pub fn errors_path(output: &Path) -> PathBuf {
    sibling(output, "errors")
}

fn sibling(output: &Path, what: &str) -> PathBuf {
    let stem = output
        .file_stem()
        .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
    output.with_file_name(format!("{stem}.{what}.parquet"))
}

/// The model predicting and where its outputs go.
pub(super) struct Outputs<'a> {
    pub model_dir: &'a Path,
    pub model: &'a TrainedModel,
    /// The predictions file.
    pub path: &'a Path,
}

impl Outputs<'_> {
    /// Predicts for `rows` (from `input`, for the footers), keeping `top_k` neighbours per NONA
    /// prediction, and writes the predictions, explanations and `errors` files.
    pub fn write(
        &self,
        rows: &Rows,
        input: &str,
        top_k: usize,
        errors: &[RowError],
    ) -> anyhow::Result<Predicted> {
        let model = self.model;
        let (predictions, evidence) = if rows.ids.is_empty() {
            (nona_train::Predictions::default(), None)
        } else {
            let predictions = model.predict(&rows.features)?;
            let evidence = model.explain(&model.embed(&rows.features)?, top_k)?;
            (predictions, evidence)
        };
        let scale = model.scaler().scale();
        let spreads: Option<Vec<f64>> = evidence
            .as_ref()
            .map(|all| all.iter().map(|e| e.spread * scale).collect());
        let mut metadata = rows.metadata.clone();
        metadata.insert(
            "nona.model".to_owned(),
            self.model_dir.display().to_string(),
        );
        metadata.insert("nona.input".to_owned(), input.to_owned());

        let schema = nona_table::schemas::predict_output(rows.labels.is_some());
        let spread_column: Float64Array = match &spreads {
            Some(spreads) => spreads.iter().copied().map(Some).collect(),
            None => std::iter::repeat_n(None::<f64>, rows.ids.len()).collect(),
        };
        let mut columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from_iter_values(&rows.ids)),
            Arc::new(Float64Array::from(predictions.original.clone())),
            Arc::new(Float64Array::from(predictions.scaled)),
            Arc::new(spread_column),
        ];
        if let Some(labels) = &rows.labels {
            columns.push(Arc::new(Float64Array::from(labels.clone())));
        }
        let batch = RecordBatch::try_new(schema.clone(), columns)?;
        nona_table::write_part(self.path, schema, &[batch], &metadata)?;

        let mut predicted = Predicted {
            rows: rows.ids.len(),
            explanations: None,
            no_explanations: None,
            errors: errors.len(),
            errors_file: None,
        };
        let explanations = explanations_path(self.path);
        remove_stale(&explanations)?;
        match (&evidence, top_k) {
            (None, _) => {
                predicted.no_explanations =
                    Some("a dense head has no neighbours to show".to_owned());
            }
            (Some(_), 0) => predicted.no_explanations = Some("top-k is 0".to_owned()),
            (Some(_), _) if !self.model_dir.join(NEIGHBOURS_FILE).is_file() => {
                predicted.no_explanations = Some(format!(
                    "the model has no {NEIGHBOURS_FILE} (saved before nona kept it; re-run the train stage)"
                ));
            }
            (Some(evidence), _) => {
                let explained = Explanations {
                    rows,
                    predictions: &predictions.original,
                    spreads: spreads.as_deref().unwrap_or_default(),
                    evidence,
                };
                explained.write(self.model_dir, &explanations, &metadata)?;
                predicted.explanations = Some(explanations);
            }
        }
        let errors_file = errors_path(self.path);
        remove_stale(&errors_file)?;
        if !errors.is_empty() {
            write_errors(&errors_file, errors, &metadata)?;
            predicted.errors_file = Some(errors_file);
        }
        Ok(predicted)
    }
}

/// Removes `path`, a file an earlier `nona predict` to the same output wrote, so that what lies
/// beside the output is this run's.
fn remove_stale(path: &Path) -> anyhow::Result<()> {
    match std::fs::remove_file(path) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(anyhow::anyhow!(
            "removing the earlier {}: {error}",
            path.display()
        )),
        _ => Ok(()),
    }
}

/// The evidence of every prediction, to write as explanations rows.
struct Explanations<'a> {
    rows: &'a Rows,
    predictions: &'a [f64],
    /// In original units.
    spreads: &'a [f64],
    evidence: &'a [Evidence],
}

impl Explanations<'_> {
    fn write(
        &self,
        model_dir: &Path,
        path: &Path,
        metadata: &nona_table::Metadata,
    ) -> anyhow::Result<()> {
        let (neighbour_ids, neighbour_labels) = load_neighbours(model_dir)?;
        let rows = self.rows;
        let mut table = ExplanationRows::default();
        for (row, evidence) in self.evidence.iter().enumerate() {
            let explained = Explained {
                id: &rows.ids[row],
                label: rows.labels.as_ref().map_or(f64::NAN, |labels| labels[row]),
                prediction: self.predictions[row],
                spread: self.spreads[row],
            };
            table.push(&explained, evidence, |i| {
                (neighbour_ids[i].as_str(), neighbour_labels[i])
            });
        }
        let (ids, mut rest) = table.into_columns(true);
        if rows.labels.is_none() {
            // The first column after the id is the label.
            rest.remove(0);
        }
        let schema = nona_table::schemas::predict_explanations(rows.labels.is_some());
        let columns: Vec<ArrayRef> = std::iter::once(ids).chain(rest).collect();
        let batch = RecordBatch::try_new(schema.clone(), columns)?;
        nona_table::write_part(path, schema, &[batch], metadata)?;
        Ok(())
    }
}

/// Writes the inputs that failed as an errors table (stage `predict`).
fn write_errors(
    path: &Path,
    errors: &[RowError],
    metadata: &nona_table::Metadata,
) -> anyhow::Result<()> {
    let schema = nona_table::schemas::errors();
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(
                errors
                    .iter()
                    .map(|e| e.id.as_deref())
                    .collect::<StringArray>(),
            ),
            Arc::new(StringArray::from(vec!["predict"; errors.len()])),
            Arc::new(StringArray::from_iter_values(
                errors.iter().map(|e| &e.source),
            )),
            Arc::new(StringArray::from_iter_values(
                errors.iter().map(|e| &e.message),
            )),
        ],
    )?;
    nona_table::write_part(path, schema, &[batch], metadata)?;
    Ok(())
}
