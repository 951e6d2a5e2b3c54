//! The knn stage's tables, built from one unit's fitted model and test predictions.

use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int64Array, StringArray};
use arrow::record_batch::RecordBatch;
use nona_heads::{Evidence, MinMaxScaler};
use nona_knn::{KnnBaseline, Neighbours};

use crate::explanation_rows::{Explained, ExplanationRows};
use crate::train_sources::SourceKey;

/// `predictions`: one row per test sample.
pub(super) fn predictions_batch(
    key: &SourceKey,
    ids: &[&str],
    labels: &[f64],
    predicted: &[f64],
    scaler: &MinMaxScaler,
) -> anyhow::Result<RecordBatch> {
    let mut columns = key.columns(ids.len());
    columns.extend([
        Arc::new(StringArray::from(ids.to_vec())) as ArrayRef,
        Arc::new(StringArray::from(vec!["test"; ids.len()])),
        Arc::new(Float64Array::from(labels.to_vec())),
        Arc::new(Float64Array::from(predicted.to_vec())),
        Arc::new(Float64Array::from(scaler.transform_all(labels))),
        Arc::new(Float64Array::from(scaler.transform_all(predicted))),
    ]);
    Ok(RecordBatch::try_new(
        nona_table::schemas::knn_predictions(),
        columns,
    )?)
}

/// `metrics`: the tuned setting and the test errors.
pub(super) fn metrics_batch(
    key: &SourceKey,
    model: &KnnBaseline,
    train_rows: usize,
    labels: &[f64],
    predicted: &[f64],
    scaler: &MinMaxScaler,
) -> anyhow::Result<RecordBatch> {
    let best = model.search.best();
    let scaled_labels = scaler.transform_all(labels);
    let scaled_predicted = scaler.transform_all(predicted);
    let mut columns = key.columns(1);
    columns.extend([
        Arc::new(Int64Array::from(vec![best.n_neighbors as i64])) as ArrayRef,
        Arc::new(Int64Array::from(vec![best.metric.p() as i64])),
        Arc::new(StringArray::from(vec![best.weights.as_str()])),
        Arc::new(Float64Array::from(vec![
            -model.search.mean_scores[model.search.best_index],
        ])),
        Arc::new(Int64Array::from(vec![train_rows as i64])),
        Arc::new(Int64Array::from(vec![labels.len() as i64])),
        Arc::new(Float64Array::from(vec![
            nona_train::metrics::mse(&scaled_predicted, &scaled_labels) * 1e3,
        ])),
        Arc::new(Float64Array::from(vec![nona_train::metrics::mse(
            predicted, labels,
        )])),
        Arc::new(Float64Array::from(vec![nona_train::metrics::mae(
            predicted, labels,
        )])),
    ]);
    Ok(RecordBatch::try_new(
        nona_table::schemas::knn_metrics(),
        columns,
    )?)
}

/// The training rows a unit's k-NN was fitted on: their ids and labels, in fitting order.
pub(super) struct TrainRows<'a> {
    pub ids: Vec<&'a str>,
    pub labels: Vec<f64>,
}

/// `explanations`: the tuned `k` neighbours of every test prediction with the weights the
/// prediction gave them (normalised to sum to 1), one row per (sample, rank).
pub(super) fn explanations_batch(
    key: &SourceKey,
    model: &KnnBaseline,
    ids: &[&str],
    labels: &[f64],
    neighbours: &[Neighbours],
    train: &TrainRows,
) -> anyhow::Result<RecordBatch> {
    let weighting = model.model.params().weights;
    let mut rows = ExplanationRows::default();
    for ((&id, &label), found) in ids.iter().zip(labels).zip(neighbours) {
        let weights = weighting.normalised(&found.distances);
        let neighbour_labels: Vec<f64> = found.indices.iter().map(|&i| train.labels[i]).collect();
        let similarities: Vec<f64> = found.distances.iter().map(|d| -d).collect();
        let evidence = Evidence::of(&weights, &neighbour_labels, &similarities, weights.len());
        let explained = Explained {
            id,
            label,
            prediction: evidence.mean,
            spread: evidence.spread,
        };
        rows.push(&explained, &evidence, |i| {
            let row = found.indices[i];
            (train.ids[row], train.labels[row])
        });
    }
    let count = rows.len();
    let (ids, rest) = rows.into_columns(false);
    let mut columns = key.columns(count);
    columns.extend([ids, Arc::new(StringArray::from(vec!["test"; count]))]);
    columns.extend(rest);
    Ok(RecordBatch::try_new(
        nona_table::schemas::knn_explanations(),
        columns,
    )?)
}
