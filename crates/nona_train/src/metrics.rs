//! Error metrics of predictions.

use nona_heads::MinMaxScaler;
use serde::{Deserialize, Serialize};

use crate::model::Predictions;

/// Errors of one split's predictions.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SplitMetrics {
    /// MSE × 10³ on min-max scaled labels (the paper's unit), of the predictions as the model
    /// gives them (clipped to `[0, 1]` when it clips).
    pub mse_scaled_e3: f64,
    /// MSE in original label units.
    pub mse: f64,
    /// MAE in original label units.
    pub mae: f64,
}

impl SplitMetrics {
    /// Metrics of `predictions` against `labels` in original units, scaled with `scaler`.
    pub fn new(predictions: &Predictions, labels: &[f64], scaler: &MinMaxScaler) -> Self {
        let scaled_labels = scaler.transform_all(labels);
        Self {
            mse_scaled_e3: mse(&predictions.scaled, &scaled_labels) * 1e3,
            mse: mse(&predictions.original, labels),
            mae: mae(&predictions.original, labels),
        }
    }
}

/// Mean squared error (NaN for empty input).
pub fn mse(predictions: &[f64], labels: &[f64]) -> f64 {
    mean(predictions.iter().zip(labels).map(|(p, y)| (p - y).powi(2)))
}

/// Mean absolute error (NaN for empty input).
pub fn mae(predictions: &[f64], labels: &[f64]) -> f64 {
    mean(predictions.iter().zip(labels).map(|(p, y)| (p - y).abs()))
}

fn mean(values: impl ExactSizeIterator<Item = f64>) -> f64 {
    let count = values.len();
    values.sum::<f64>() / count as f64
}
