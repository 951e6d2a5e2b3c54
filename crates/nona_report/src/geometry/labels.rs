//! Label smoothness: how much closer in label a row's nearest neighbour is than a random row.

use crate::ReportError;

/// Mean absolute label gap to the nearest neighbour against that of a random pair.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LabelSmoothness {
    /// Mean over rows of |yᵢ − y_nn(i)|, nn(i) the nearest other row by Euclidean distance (an
    /// exact duplicate, at distance 0, when there is one); when several rows tie for nearest,
    /// the mean gap to all of them (in label units).
    pub nearest_neighbour_gap: f64,
    /// Mean of |yᵢ − yⱼ| over all n(n − 1)/2 pairs, exact (in label units).
    pub random_pair_gap: f64,
    /// `nearest_neighbour_gap / random_pair_gap`: 0 when every nearest neighbour has the same
    /// label, about 1 when labels are unrelated to the geometry (the label-shuffled control's
    /// value), above 1 when neighbours differ more than random pairs. NaN with fewer than 2
    /// rows or constant labels.
    pub ratio: f64,
}

impl LabelSmoothness {
    /// Combines the nearest-neighbour gap of `labels` with their exact random-pair gap.
    pub(super) fn new(nearest_neighbour_gap: f64, labels: &[f64]) -> Self {
        let random_pair_gap = mean_pair_gap(labels);
        Self {
            nearest_neighbour_gap,
            random_pair_gap,
            ratio: if random_pair_gap == 0.0 {
                f64::NAN
            } else {
                nearest_neighbour_gap / random_pair_gap
            },
        }
    }
}

/// Checks that there is one finite label per row.
pub(super) fn check_labels(labels: &[f64], rows: usize) -> Result<(), ReportError> {
    if labels.len() != rows {
        return Err(ReportError::InvalidInput(format!(
            "{} labels for {rows} embedding rows",
            labels.len()
        )));
    }
    match labels.iter().position(|label| !label.is_finite()) {
        Some(row) => Err(ReportError::InvalidInput(format!(
            "label of embedding row {row} is {}",
            labels[row]
        ))),
        None => Ok(()),
    }
}

/// Mean |yᵢ − yⱼ| over all pairs i < j in O(n log n): with y sorted ascending (0-based),
/// Σ_{i<j} |yᵢ − yⱼ| = Σᵢ (2i − n + 1) yᵢ. Labels are shifted by their minimum first, so the
/// sum has no large offset to cancel. NaN with fewer than 2 labels.
fn mean_pair_gap(labels: &[f64]) -> f64 {
    let n = labels.len();
    if n < 2 {
        return f64::NAN;
    }
    let mut sorted = labels.to_vec();
    sorted.sort_by(f64::total_cmp);
    let lowest = sorted[0];
    let total: f64 = sorted
        .iter()
        .enumerate()
        .map(|(i, y)| (2.0 * i as f64 - (n - 1) as f64) * (y - lowest))
        .sum();
    total / (n as f64 * (n - 1) as f64 / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pair_gap_matches_all_pairs() {
        let labels = [3.0, -1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0, 5.0];
        let mut total = 0.0;
        for i in 0..labels.len() {
            for j in i + 1..labels.len() {
                total += f64::abs(labels[i] - labels[j]);
            }
        }
        let expected = total / 36.0;
        assert!((mean_pair_gap(&labels) - expected).abs() < 1e-14);
        assert!(mean_pair_gap(&[1.0]).is_nan());
    }

    #[test]
    fn constant_labels_have_no_ratio() {
        let smoothness = LabelSmoothness::new(0.0, &[2.0; 5]);
        assert_eq!(smoothness.random_pair_gap, 0.0);
        assert!(smoothness.ratio.is_nan());
    }

    #[test]
    fn labels_must_match_rows_and_be_finite() {
        let count = check_labels(&[1.0], 2).unwrap_err();
        assert!(count.to_string().contains("1 labels for 2 embedding rows"));
        let nan = check_labels(&[1.0, f64::INFINITY], 2).unwrap_err();
        assert!(nan.to_string().contains("label of embedding row 1 is inf"));
        assert!(check_labels(&[1.0, 2.0], 2).is_ok());
    }
}
