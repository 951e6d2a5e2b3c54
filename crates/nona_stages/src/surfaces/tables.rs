//! The rows of the `surfaces` stage's tables, `metrics` (one per surface, seed and method) and
//! `predictions` (one per point, method and split), whose schemas are
//! [`nona_table::schemas::surfaces_metrics`] and [`nona_table::schemas::surfaces_predictions`].

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, anyhow};
use arrow::array::{Array, ArrayRef, Float64Array, Int64Array, StringArray};
use arrow::record_batch::RecordBatch;
use nona_table::schemas::{surfaces_metrics, surfaces_predictions};

/// One row of `metrics/`.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricRow {
    /// Surface name.
    pub surface: String,
    /// Seed of points, split and training.
    pub seed: u64,
    /// Method name.
    pub method: String,
    /// Points drawn.
    pub points: usize,
    /// Training rows.
    pub train_rows: usize,
    /// Validation rows.
    pub validation_rows: usize,
    /// Test rows.
    pub test_rows: usize,
    /// Test MSE × 10³ on the min-max scaled labels, predictions clipped to `[0, 1]`.
    pub test_mse_scaled_e3: f64,
    /// Test MSE in original units.
    pub test_mse: f64,
    /// Test MAE in original units.
    pub test_mae: f64,
    /// Validation MSE × 10³ on the scaled labels.
    pub validation_mse_scaled_e3: f64,
    /// NONA: the restored epoch.
    pub best_epoch: Option<usize>,
    /// NONA: epochs trained.
    pub epochs_run: Option<usize>,
    /// k-NN: the chosen k, p and weighting.
    pub knn: Option<(usize, u32, &'static str)>,
}

fn ints(values: impl IntoIterator<Item = Option<i64>>) -> ArrayRef {
    Arc::new(values.into_iter().collect::<Int64Array>())
}

fn floats(values: impl IntoIterator<Item = f64>) -> ArrayRef {
    Arc::new(values.into_iter().collect::<Float64Array>())
}

fn strings<'a>(values: impl IntoIterator<Item = Option<&'a str>>) -> ArrayRef {
    Arc::new(values.into_iter().collect::<StringArray>())
}

/// `rows` as one batch of the `metrics` table.
pub fn metrics_batch(rows: &[MetricRow]) -> anyhow::Result<RecordBatch> {
    let size = |f: fn(&MetricRow) -> usize| ints(rows.iter().map(|r| Some(f(r) as i64)));
    let optional = |f: fn(&MetricRow) -> Option<i64>| ints(rows.iter().map(f).collect::<Vec<_>>());
    let columns: Vec<ArrayRef> = vec![
        strings(rows.iter().map(|r| Some(r.surface.as_str()))),
        ints(rows.iter().map(|r| Some(r.seed as i64))),
        strings(rows.iter().map(|r| Some(r.method.as_str()))),
        size(|r| r.points),
        size(|r| r.train_rows),
        size(|r| r.validation_rows),
        size(|r| r.test_rows),
        floats(rows.iter().map(|r| r.test_mse_scaled_e3)),
        floats(rows.iter().map(|r| r.test_mse)),
        floats(rows.iter().map(|r| r.test_mae)),
        floats(rows.iter().map(|r| r.validation_mse_scaled_e3)),
        optional(|r| r.best_epoch.map(|v| v as i64)),
        optional(|r| r.epochs_run.map(|v| v as i64)),
        optional(|r| r.knn.map(|(k, _, _)| k as i64)),
        optional(|r| r.knn.map(|(_, p, _)| i64::from(p))),
        strings(rows.iter().map(|r| r.knn.map(|(_, _, w)| w))),
    ];
    Ok(RecordBatch::try_new(surfaces_metrics(), columns)?)
}

/// Reads the rows of a `metrics` part written by [`metrics_batch`].
pub fn read_metrics(path: &Path) -> anyhow::Result<Vec<MetricRow>> {
    let dataset = nona_table::Dataset::open(path)
        .with_context(|| format!("reading metrics {}", path.display()))?;
    let mut rows = Vec::new();
    for batch in dataset.read_all()? {
        let text = |name: &str| -> anyhow::Result<&StringArray> {
            batch
                .column_by_name(name)
                .and_then(|c| c.as_any().downcast_ref::<StringArray>())
                .ok_or_else(|| anyhow!("{}: no utf8 column `{name}`", path.display()))
        };
        let int = |name: &str| -> anyhow::Result<&Int64Array> {
            batch
                .column_by_name(name)
                .and_then(|c| c.as_any().downcast_ref::<Int64Array>())
                .ok_or_else(|| anyhow!("{}: no int64 column `{name}`", path.display()))
        };
        let float = |name: &str| -> anyhow::Result<&Float64Array> {
            batch
                .column_by_name(name)
                .and_then(|c| c.as_any().downcast_ref::<Float64Array>())
                .ok_or_else(|| anyhow!("{}: no float64 column `{name}`", path.display()))
        };
        let (surface, seed, method) = (text("surface")?, int("seed")?, text("method")?);
        let (points, train, validation, test) = (
            int("points")?,
            int("train_rows")?,
            int("validation_rows")?,
            int("test_rows")?,
        );
        let (test_scaled, test_mse, test_mae, validation_scaled) = (
            float("test_mse_scaled_e3")?,
            float("test_mse")?,
            float("test_mae")?,
            float("validation_mse_scaled_e3")?,
        );
        let (best_epoch, epochs_run) = (int("best_epoch")?, int("epochs_run")?);
        let (knn_k, knn_p, knn_weights) = (int("knn_k")?, int("knn_p")?, text("knn_weights")?);
        let optional = |array: &Int64Array, i: usize| array.is_valid(i).then(|| array.value(i));
        for i in 0..batch.num_rows() {
            let knn = match (optional(knn_k, i), optional(knn_p, i)) {
                (Some(k), Some(p)) if knn_weights.is_valid(i) => Some((
                    k as usize,
                    p as u32,
                    if knn_weights.value(i) == "distance" {
                        "distance"
                    } else {
                        "uniform"
                    },
                )),
                _ => None,
            };
            rows.push(MetricRow {
                surface: surface.value(i).to_owned(),
                seed: seed.value(i) as u64,
                method: method.value(i).to_owned(),
                points: points.value(i) as usize,
                train_rows: train.value(i) as usize,
                validation_rows: validation.value(i) as usize,
                test_rows: test.value(i) as usize,
                test_mse_scaled_e3: test_scaled.value(i),
                test_mse: test_mse.value(i),
                test_mae: test_mae.value(i),
                validation_mse_scaled_e3: validation_scaled.value(i),
                best_epoch: optional(best_epoch, i).map(|v| v as usize),
                epochs_run: optional(epochs_run, i).map(|v| v as usize),
                knn,
            });
        }
    }
    Ok(rows)
}

/// The points of one split with everything one method predicted for them.
pub struct PredictionRows<'a> {
    /// Surface name.
    pub surface: &'a str,
    /// Seed.
    pub seed: u64,
    /// Method name.
    pub method: &'a str,
    /// `train`, `validation` or `test`.
    pub split: &'a str,
    /// Row-major `(x₁, x₂)` per point.
    pub points: &'a [f32],
    /// Labels in original units.
    pub labels: &'a [f64],
    /// Predictions in original units.
    pub predictions: &'a [f64],
    /// Labels min-max scaled with the training split's range.
    pub labels_scaled: &'a [f64],
    /// Predictions on the scaled range, clipped to `[0, 1]`.
    pub predictions_scaled: &'a [f64],
}

/// One batch of the `predictions` table from several splits' rows.
pub fn predictions_batch(parts: &[PredictionRows]) -> anyhow::Result<RecordBatch> {
    let rows: usize = parts.iter().map(|p| p.labels.len()).sum();
    let repeat = |f: for<'b> fn(&'b PredictionRows<'b>) -> &'b str| {
        strings(
            parts
                .iter()
                .flat_map(|p| std::iter::repeat_n(Some(f(p)), p.labels.len())),
        )
    };
    let coordinate = |axis: usize| {
        floats(
            parts
                .iter()
                .flat_map(|p| p.points.iter().skip(axis).step_by(2).map(|&v| f64::from(v))),
        )
    };
    let values = |f: for<'b> fn(&'b PredictionRows<'b>) -> &'b [f64]| {
        floats(parts.iter().flat_map(|p| f(p).iter().copied()))
    };
    let columns: Vec<ArrayRef> = vec![
        repeat(|p| p.surface),
        ints(
            parts
                .iter()
                .flat_map(|p| std::iter::repeat_n(Some(p.seed as i64), p.labels.len())),
        ),
        repeat(|p| p.method),
        repeat(|p| p.split),
        coordinate(0),
        coordinate(1),
        values(|p| p.labels),
        values(|p| p.predictions),
        values(|p| p.labels_scaled),
        values(|p| p.predictions_scaled),
    ];
    let batch = RecordBatch::try_new(surfaces_predictions(), columns)?;
    debug_assert_eq!(batch.num_rows(), rows);
    Ok(batch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_round_trip_through_parquet() {
        let row = MetricRow {
            surface: "radial".into(),
            seed: 3,
            method: "knn".into(),
            points: 100,
            train_rows: 68,
            validation_rows: 12,
            test_rows: 20,
            test_mse_scaled_e3: 4.5,
            test_mse: 0.01,
            test_mae: 0.08,
            validation_mse_scaled_e3: 5.0,
            best_epoch: None,
            epochs_run: None,
            knn: Some((7, 2, "distance")),
        };
        let nona = MetricRow {
            method: "nona".into(),
            best_epoch: Some(12),
            epochs_run: Some(22),
            knn: None,
            ..row.clone()
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("part-00000.parquet");
        let batch = metrics_batch(&[row.clone(), nona.clone()]).unwrap();
        nona_table::write_part(
            &path,
            surfaces_metrics(),
            &[batch],
            &nona_table::Metadata::new(),
        )
        .unwrap();
        assert_eq!(read_metrics(&path).unwrap(), vec![row, nona]);
    }

    #[test]
    fn predictions_interleave_coordinates() {
        let rows = PredictionRows {
            surface: "linear",
            seed: 0,
            method: "linear",
            split: "test",
            points: &[0.5, -0.25, 1.0, 0.0],
            labels: &[0.4, 1.0],
            predictions: &[0.5, 0.9],
            labels_scaled: &[0.4, 1.0],
            predictions_scaled: &[0.5, 0.9],
        };
        let batch = predictions_batch(&[rows]).unwrap();
        assert_eq!(batch.num_rows(), 2);
        let x2 = batch
            .column_by_name("x2")
            .unwrap()
            .as_any()
            .downcast_ref::<Float64Array>()
            .unwrap();
        assert_eq!(x2.values().to_vec(), vec![-0.25, 0.0]);
    }
}
