//! Min-max label scaling (fit on training labels) and prediction clipping.

use candle_core::Tensor;

use crate::error::{HeadsError, Result};

/// Maps labels linearly so that the training minimum becomes 0 and the maximum 1.
///
/// All-equal training labels (zero range) map every label to `label − min` (range taken as 1),
/// so nothing becomes NaN.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MinMaxScaler {
    /// Smallest training label.
    pub min: f64,
    /// Largest training label.
    pub max: f64,
}

impl MinMaxScaler {
    /// Fits on training labels; errors on an empty slice or non-finite values.
    pub fn fit(labels: &[f64]) -> Result<Self> {
        if labels.is_empty() {
            return Err(HeadsError::InvalidLabels("no labels to fit on".into()));
        }
        if let Some(bad) = labels.iter().find(|v| !v.is_finite()) {
            return Err(HeadsError::InvalidLabels(format!("non-finite label {bad}")));
        }
        let min = labels.iter().copied().fold(f64::INFINITY, f64::min);
        let max = labels.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        Ok(Self { min, max })
    }

    /// Divisor of the transform: the range, or 1 for all-equal labels. Also the factor that
    /// takes a spread (a standard deviation) from the scaled range back to original units.
    pub fn scale(&self) -> f64 {
        let range = self.max - self.min;
        if range > 0.0 { range } else { 1.0 }
    }

    /// Label → scaled label.
    pub fn transform(&self, label: f64) -> f64 {
        (label - self.min) / self.scale()
    }

    /// Scaled label → original units.
    pub fn inverse(&self, scaled: f64) -> f64 {
        scaled * self.scale() + self.min
    }

    /// [`Self::transform`] over a slice.
    pub fn transform_all(&self, labels: &[f64]) -> Vec<f64> {
        labels.iter().map(|&v| self.transform(v)).collect()
    }
}

/// Clips predictions to `[0, 1]` (evaluation on the scaled label range).
pub fn clip_unit(predictions: &Tensor) -> Result<Tensor> {
    Ok(predictions.clamp(0.0, 1.0)?)
}
