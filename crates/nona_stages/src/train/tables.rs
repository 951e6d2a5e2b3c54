//! The train stage's tables, built from one trained cell.

use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int64Array, StringArray};
use arrow::record_batch::RecordBatch;
use nona_train::{CellConfig, HeadKind, SplitResult, TrainedCell};

use crate::explanation_rows::{Explained, ExplanationRows};

/// The samples of one split of one cell, in the order the cell saw them.
pub(super) struct SplitRows<'a> {
    /// `train`, `validation` or `test`.
    pub name: &'static str,
    /// Sample ids.
    pub ids: Vec<&'a str>,
    /// Labels in original units.
    pub labels: Vec<f64>,
}

/// Identifies a cell in every row it writes.
pub(super) struct CellKey<'a> {
    pub index: usize,
    pub config: &'a CellConfig,
}

impl CellKey<'_> {
    fn repeat_i64(&self, value: u64, rows: usize) -> ArrayRef {
        Arc::new(Int64Array::from(vec![value as i64; rows]))
    }

    fn head(&self, rows: usize) -> ArrayRef {
        Arc::new(StringArray::from(vec![self.config.model.head.name(); rows]))
    }

    /// A NONA setting, null for the dense head.
    fn nona_setting(&self, value: String, rows: usize) -> ArrayRef {
        let value = (self.config.model.head == HeadKind::Nona).then_some(value);
        Arc::new(StringArray::from(vec![value; rows]))
    }
}

fn strings(values: impl IntoIterator<Item = impl AsRef<str>>) -> ArrayRef {
    Arc::new(values.into_iter().map(Some).collect::<StringArray>())
}

fn floats(values: impl IntoIterator<Item = f64>) -> ArrayRef {
    Arc::new(values.into_iter().collect::<Float64Array>())
}

/// `predictions`: one row per sample of every split.
pub(super) fn predictions(
    key: &CellKey,
    cell: &TrainedCell,
    splits: &[SplitRows; 3],
) -> anyhow::Result<RecordBatch> {
    let results = split_results(cell);
    let rows: usize = splits.iter().map(|s| s.ids.len()).sum();
    let scaler = cell.model.scaler();
    let columns: Vec<ArrayRef> = vec![
        key.repeat_i64(key.index as u64, rows),
        key.repeat_i64(key.config.seed, rows),
        key.head(rows),
        strings(splits.iter().flat_map(|s| s.ids.iter().copied())),
        strings(splits.iter().flat_map(|s| vec![s.name; s.ids.len()])),
        floats(splits.iter().flat_map(|s| s.labels.iter().copied())),
        floats(
            results
                .iter()
                .flat_map(|r| r.predictions.original.iter().copied()),
        ),
        floats(
            splits
                .iter()
                .flat_map(|s| s.labels.iter().map(|&y| scaler.transform(y))),
        ),
        floats(
            results
                .iter()
                .flat_map(|r| r.predictions.scaled.iter().copied()),
        ),
    ];
    Ok(RecordBatch::try_new(
        nona_table::schemas::train_predictions(),
        columns,
    )?)
}

/// `embeddings`: the projector output of every sample of every split.
pub(super) fn embeddings(
    key: &CellKey,
    cell: &TrainedCell,
    splits: &[SplitRows; 3],
) -> anyhow::Result<RecordBatch> {
    let rows: usize = splits.iter().map(|s| s.ids.len()).sum();
    let values: Vec<f32> = split_results(cell)
        .iter()
        .flat_map(|r| r.embeddings.iter().copied())
        .collect();
    let columns: Vec<ArrayRef> = vec![
        key.repeat_i64(key.index as u64, rows),
        key.repeat_i64(key.config.seed, rows),
        key.head(rows),
        strings(splits.iter().flat_map(|s| s.ids.iter().copied())),
        strings(splits.iter().flat_map(|s| vec![s.name; s.ids.len()])),
        floats(splits.iter().flat_map(|s| s.labels.iter().copied())),
        Arc::new(nona_table::embedding_list_array(
            values,
            key.config.model.embedding_dim,
        )),
    ];
    Ok(RecordBatch::try_new(
        nona_table::schemas::head_embeddings(),
        columns,
    )?)
}

/// `curves`: one row per epoch trained.
pub(super) fn curves(key: &CellKey, cell: &TrainedCell) -> anyhow::Result<RecordBatch> {
    let rows = cell.curves.len();
    let columns: Vec<ArrayRef> = vec![
        key.repeat_i64(key.index as u64, rows),
        Arc::new(Int64Array::from_iter_values(
            cell.curves.iter().map(|c| c.epoch as i64),
        )),
        floats(cell.curves.iter().map(|c| c.train_loss)),
        floats(cell.curves.iter().map(|c| c.validation_mse)),
    ];
    Ok(RecordBatch::try_new(
        nona_table::schemas::train_curves(),
        columns,
    )?)
}

/// `metrics`: one row per split.
pub(super) fn metrics(
    key: &CellKey,
    cell: &TrainedCell,
    splits: &[SplitRows; 3],
) -> anyhow::Result<RecordBatch> {
    let model = &key.config.model;
    let results = split_results(cell);
    let columns: Vec<ArrayRef> = vec![
        key.repeat_i64(key.index as u64, 3),
        key.repeat_i64(key.config.seed, 3),
        key.head(3),
        key.nona_setting(model.similarity.to_string(), 3),
        key.nona_setting(model.softstep.to_string(), 3),
        key.nona_setting(model.params.to_string(), 3),
        key.repeat_i64(key.config.optim.batch_size as u64, 3),
        key.repeat_i64(model.embedding_dim as u64, 3),
        strings(splits.iter().map(|s| s.name)),
        Arc::new(Int64Array::from_iter_values(
            splits.iter().map(|s| s.ids.len() as i64),
        )),
        floats(results.iter().map(|r| r.metrics.mse_scaled_e3)),
        floats(results.iter().map(|r| r.metrics.mse)),
        floats(results.iter().map(|r| r.metrics.mae)),
        key.repeat_i64(cell.best_epoch as u64, 3),
        key.repeat_i64(cell.epochs_run as u64, 3),
    ];
    Ok(RecordBatch::try_new(
        nona_table::schemas::train_metrics(),
        columns,
    )?)
}

/// `explanations`: the `top_k` neighbours of every validation and test prediction, one row per
/// (sample, rank); `None` for a dense cell. The neighbours are rows of the training split, the
/// cell's neighbour bank in the order of `splits[0]`.
pub(super) fn explanations(
    key: &CellKey,
    cell: &TrainedCell,
    splits: &[SplitRows; 3],
    top_k: usize,
) -> anyhow::Result<Option<RecordBatch>> {
    let [bank, validation, test] = splits;
    let scale = cell.model.scaler().scale();
    let mut rows = ExplanationRows::default();
    let mut split_names = Vec::new();
    for (split, result) in [(validation, &cell.validation), (test, &cell.test)] {
        let Some(evidence) = cell.model.explain(&result.embeddings, top_k)? else {
            return Ok(None);
        };
        for (row, evidence) in evidence.iter().enumerate() {
            let explained = Explained {
                id: split.ids[row],
                label: split.labels[row],
                prediction: result.predictions.original[row],
                spread: evidence.spread * scale,
            };
            let added = rows.push(&explained, evidence, |i| (bank.ids[i], bank.labels[i]));
            split_names.extend(std::iter::repeat_n(split.name, added));
        }
    }
    let count = rows.len();
    let (ids, rest) = rows.into_columns(true);
    let mut columns: Vec<ArrayRef> = vec![
        key.repeat_i64(key.index as u64, count),
        key.repeat_i64(key.config.seed, count),
        ids,
        strings(split_names),
    ];
    columns.extend(rest);
    Ok(Some(RecordBatch::try_new(
        nona_table::schemas::train_explanations(),
        columns,
    )?))
}

fn split_results(cell: &TrainedCell) -> [&SplitResult; 3] {
    [&cell.train, &cell.validation, &cell.test]
}
