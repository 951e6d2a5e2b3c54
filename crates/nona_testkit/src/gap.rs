//! How far a result is from its reference: the one tolerance measure of the parity tests.

use std::fmt;

use candle_core::{DType, Device, Tensor};

/// The largest absolute difference between a result and its reference, where it is, and the
/// reference's largest magnitude (the scale of the relative error `max |a − b| / max |b|`).
/// A NaN or infinite difference counts as infinitely large.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gap {
    /// `max |actual − expected|`.
    pub max_abs: f64,
    /// Flat (row-major) index of the largest difference.
    pub worst: usize,
    /// The result there.
    pub actual: f64,
    /// The reference there.
    pub expected: f64,
    /// `max |expected|`.
    pub scale: f64,
}

impl Gap {
    /// The gap between two equally long slices (of `f64` or `f32`).
    pub fn between<T: Copy + Into<f64>>(actual: &[T], expected: &[T]) -> Self {
        assert_eq!(actual.len(), expected.len(), "length mismatch");
        let actual: Vec<f64> = actual.iter().map(|&a| a.into()).collect();
        let expected: Vec<f64> = expected.iter().map(|&b| b.into()).collect();
        let mut gap = Self {
            max_abs: 0.0,
            worst: 0,
            actual: actual.first().copied().unwrap_or_default(),
            expected: expected.first().copied().unwrap_or_default(),
            scale: expected.iter().fold(0.0, |scale, b| scale.max(b.abs())),
        };
        for (index, (&a, &b)) in actual.iter().zip(&expected).enumerate() {
            let diff = (a - b).abs();
            let diff = if diff.is_finite() {
                diff
            } else {
                f64::INFINITY
            };
            if diff > gap.max_abs {
                (gap.max_abs, gap.worst, gap.actual, gap.expected) = (diff, index, a, b);
            }
        }
        gap
    }

    /// The gap between two tensors of the same shape, on any device and of any float dtype.
    pub fn of_tensors(actual: &Tensor, expected: &Tensor) -> Self {
        assert_eq!(actual.dims(), expected.dims(), "shape mismatch");
        Self::between(&values(actual), &values(expected))
    }

    /// `max |actual − expected| / max |expected|`.
    pub fn relative(&self) -> f64 {
        self.max_abs / self.scale
    }
}

impl fmt::Display for Gap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "max |a − b| {:e} (relative {:e}) at flat index {}: {} against {}",
            self.max_abs,
            self.relative(),
            self.worst,
            self.actual,
            self.expected
        )
    }
}

/// A tensor's values as `f64` on the CPU, flattened.
fn values(tensor: &Tensor) -> Vec<f64> {
    tensor
        .to_device(&Device::Cpu)
        .and_then(|t| t.to_dtype(DType::F64))
        .and_then(|t| t.flatten_all())
        .and_then(|t| t.to_vec1())
        .expect("a float tensor")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_worst_index_and_the_scale() {
        let gap = Gap::between(&[1.0, 2.5, -3.0], &[1.0, 2.0, -4.0]);
        assert_eq!((gap.max_abs, gap.worst, gap.scale), (1.0, 2, 4.0));
        assert_eq!(gap.relative(), 0.25);
        assert!(gap.to_string().contains("at flat index 2: -3 against -4"));
    }

    #[test]
    fn a_nan_is_the_worst_difference() {
        let gap = Gap::between(&[1.0, f64::NAN], &[1.5, 2.0]);
        assert_eq!((gap.max_abs, gap.worst), (f64::INFINITY, 1));
        assert!(gap.relative().is_infinite());
    }
}
