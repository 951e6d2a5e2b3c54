//! Embedding-geometry diagnostics: four numbers that describe how a set of embedding rows
//! (n × d, f32 or f64) with one label per row is shaped, each beside a randomised control
//! computed by the same code, so every number has a baseline.
//!
//! | number | what it measures | reading it against its control |
//! |---|---|---|
//! | [`twonn_dimension`] | intrinsic dimension: how many directions the rows vary along *locally* (TwoNN, Facco et al. 2017, scikit-dimension's linear fit with 10 % discarded) | control: every feature permuted on its own ([`Points::feature_permuted`]), which fills the product of the marginals. Far below the control: the rows lie near a low-dimensional manifold |
//! | [`participation_ratio`] | linear dimension: over how many principal axes the variance is spread, (Σλ)² / Σλ², from 1 to min(d, n − 1) | same feature-permuted control, whose covariance is diagonal (Horn's parallel analysis). Below the control: correlated features concentrate the variance on few axes |
//! | [`label_smoothness`] | mean label gap to the nearest neighbour over that of a random pair: 0 = neighbours share labels, 1 = unrelated | control: labels shuffled over the rows ([`shuffled_labels`]), about 1. The further below 1, the more a neighbour vote (k-NN, NONA) has to go on |
//! | [`hubness`] | skewness of the k-occurrence distribution (k = 10, the row itself excluded): large = a few rows are everybody's neighbours | the feature-permuted control: hubness grows with intrinsic dimension, so the control shows what independent features of this size give |
//!
//! [`GeometryDiagnostics::compute`] gives all four for one embedding source and its controls.
//! Neighbours are exact (all pairs, Euclidean, f64 coordinate differences), ties are shared
//! so no observed number depends on row order beyond rounding (see the `neighbours` module),
//! and every control is deterministic for its seed and the row order (ChaCha8). Cost: about 2 n² d operations for the neighbours of
//! the rows and of their control (4 n² d when there are duplicate rows), parallel over rows,
//! plus n · min(n, d)² for the participation ratios.
//!
//! Bad input (no rows, rows of different lengths, NaN or infinite values, a label count that
//! is not the row count, a non-finite label) is an error naming the row. A number that is
//! undefined for valid input is NaN, never a panic: TwoNN with fewer than 3 distinct rows or
//! when every point's two nearest neighbours are equidistant; the participation ratio with
//! one row or no variance; label smoothness with one row or constant labels; hubness when
//! every row occurs equally often (n ≤ k, or all rows equal).
//!
//! ```
//! use nona_report::geometry::{GeometryDiagnostics, Points};
//!
//! // A noiseless line in 3-d, the label running along it.
//! let rows: Vec<[f32; 3]> = (0..40).map(|i| { let t = i as f32 * 0.1; [t, 2.0 * t, -t] }).collect();
//! let labels: Vec<f64> = (0..40).map(|i| f64::from(i) * 0.1).collect();
//! let geometry = GeometryDiagnostics::compute(&Points::from_rows(&rows)?, &labels, HUBNESS_NEIGHBOURS, 0)?;
//! assert!((geometry.observed.participation_ratio - 1.0).abs() < 1e-9);
//! assert!(geometry.observed.label_smoothness.ratio < 0.1);
//! assert!(geometry.control.label_smoothness.ratio > 0.5);
//! # Ok::<(), nona_report::ReportError>(())
//! ```

mod hubness;
mod labels;
mod neighbours;
mod points;
mod section;
mod spectrum;
mod twonn;

pub use hubness::HUBNESS_NEIGHBOURS;
pub use labels::LabelSmoothness;
pub use points::{Points, shuffled_labels};
pub use section::{GeometryRecord, SHOWN_DIAGNOSTICS, render_geometry};
pub use spectrum::participation_ratio;
pub use twonn::DISCARD_FRACTION;

use crate::ReportError;
use neighbours::{Scan, scan};

/// The four numbers of one set of rows (the embeddings as they are, or a control).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GeometryEstimates {
    /// TwoNN intrinsic dimension of the distinct rows ([`twonn_dimension`]).
    pub intrinsic_dimension: f64,
    /// Participation ratio of the covariance spectrum ([`participation_ratio`]).
    pub participation_ratio: f64,
    /// Nearest-neighbour label gap against a random pair's ([`label_smoothness`]).
    pub label_smoothness: LabelSmoothness,
    /// Skewness of the k-occurrence distribution ([`hubness`]; k = [`HUBNESS_NEIGHBOURS`]
    /// unless the caller chose another).
    pub hubness: f64,
}

/// One embedding source's geometry and its controls.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GeometryDiagnostics {
    /// Rows n.
    pub rows: usize,
    /// Distinct rows, those TwoNN uses.
    pub distinct_rows: usize,
    /// Embedding width d.
    pub columns: usize,
    /// Seed of both controls.
    pub seed: u64,
    /// The rows and labels as given.
    pub observed: GeometryEstimates,
    /// The controls: label smoothness of the rows with their labels shuffled
    /// ([`shuffled_labels`]); intrinsic dimension, participation ratio and hubness of the rows
    /// with every feature permuted on its own ([`Points::feature_permuted`]). Both with `seed`.
    pub control: GeometryEstimates,
}

impl GeometryDiagnostics {
    /// All four numbers of `points` with one `labels` entry per row, hubness with `k`
    /// neighbours (usually [`HUBNESS_NEIGHBOURS`]), and of the controls drawn with `seed`; each
    /// equals what the single-number function gives for the same input.
    pub fn compute(
        points: &Points,
        labels: &[f64],
        k: usize,
        seed: u64,
    ) -> Result<Self, ReportError> {
        labels::check_labels(labels, points.rows())?;
        let shuffled = shuffled_labels(labels, seed);
        let observed = scan(points, &[labels, &shuffled], k);
        let (intrinsic_dimension, distinct_rows) = twonn_reusing(points, &observed);
        let permuted = points.feature_permuted(seed);
        let permuted_scan = scan(&permuted, &[], k);
        let (control_dimension, _) = twonn_reusing(&permuted, &permuted_scan);
        let nearest_gap = |set: usize| observed.nearest_label_gaps[set];
        Ok(Self {
            rows: points.rows(),
            distinct_rows,
            columns: points.columns(),
            seed,
            observed: GeometryEstimates {
                intrinsic_dimension,
                participation_ratio: participation_ratio(points),
                label_smoothness: LabelSmoothness::new(nearest_gap(0), labels),
                hubness: hubness::skewness(&observed.k_occurrence),
            },
            control: GeometryEstimates {
                intrinsic_dimension: control_dimension,
                participation_ratio: participation_ratio(&permuted),
                label_smoothness: LabelSmoothness::new(nearest_gap(1), &shuffled),
                hubness: hubness::skewness(&permuted_scan.k_occurrence),
            },
        })
    }
}

/// TwoNN intrinsic dimension of the distinct rows of `points` (exact duplicates merged first:
/// a zero distance has no ratio, and the estimate is of the set of distinct points, as DADApy's
/// `remove_identical_points` does before its TwoNN). See the `twonn` module for the fit.
pub fn twonn_dimension(points: &Points) -> f64 {
    let distinct = points.distinct();
    let rows = distinct.as_ref().unwrap_or(points);
    twonn::twonn_from_scan(&scan(rows, &[], 0))
}

/// TwoNN of `points` from `points_scan` when all rows are distinct, else from a scan of the
/// distinct rows; with the number of distinct rows.
fn twonn_reusing(points: &Points, points_scan: &Scan) -> (f64, usize) {
    match points.distinct() {
        None => (twonn::twonn_from_scan(points_scan), points.rows()),
        Some(distinct) => (
            twonn::twonn_from_scan(&scan(&distinct, &[], 0)),
            distinct.rows(),
        ),
    }
}

/// Label smoothness of `labels` (one finite value per row) on `points`.
pub fn label_smoothness(points: &Points, labels: &[f64]) -> Result<LabelSmoothness, ReportError> {
    labels::check_labels(labels, points.rows())?;
    let gaps = scan(points, &[labels], 0).nearest_label_gaps;
    Ok(LabelSmoothness::new(gaps[0], labels))
}

/// N_k of every row: how many other rows count it among their `k` nearest neighbours, rows
/// tied at the k-th distance sharing the places left equally (so the values sum to
/// n · min(k, n − 1)).
pub fn k_occurrence(points: &Points, k: usize) -> Vec<f64> {
    scan(points, &[], k).k_occurrence
}

/// Hubness: skewness of [`k_occurrence`] with neighbourhood size `k` (the diagnostics use
/// [`HUBNESS_NEIGHBOURS`]). NaN when every row occurs equally often.
pub fn hubness(points: &Points, k: usize) -> f64 {
    hubness::skewness(&k_occurrence(points, k))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 60 rows drawn on a slightly noisy 2-d sheet in 6-d with a smooth label, and 4
    /// duplicated rows (with other labels).
    fn sheet() -> (Points, Vec<f64>) {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let mut rows = Vec::new();
        let mut labels = Vec::new();
        for _ in 0..60 {
            let (u, v): (f64, f64) = (rng.random_range(0.0..3.0), rng.random_range(0.0..4.0));
            let wobble = rng.random_range(-0.01..0.01);
            rows.push(vec![u, v, u + v, u - v + wobble, 0.5 * u, wobble]);
            labels.push(u + 2.0 * v);
        }
        for i in [3, 17, 17, 42] {
            rows.push(rows[i].clone());
            labels.push(labels[i] + 0.5);
        }
        (Points::from_rows(&rows).unwrap(), labels)
    }

    #[test]
    fn diagnostics_equal_the_single_number_functions_on_the_same_inputs() {
        let (points, labels) = sheet();
        let seed = 11;
        let geometry =
            GeometryDiagnostics::compute(&points, &labels, HUBNESS_NEIGHBOURS, seed).unwrap();
        let permuted = points.feature_permuted(seed);
        let shuffled = shuffled_labels(&labels, seed);
        let expected_observed = GeometryEstimates {
            intrinsic_dimension: twonn_dimension(&points),
            participation_ratio: participation_ratio(&points),
            label_smoothness: label_smoothness(&points, &labels).unwrap(),
            hubness: hubness(&points, HUBNESS_NEIGHBOURS),
        };
        let expected_control = GeometryEstimates {
            intrinsic_dimension: twonn_dimension(&permuted),
            participation_ratio: participation_ratio(&permuted),
            label_smoothness: label_smoothness(&points, &shuffled).unwrap(),
            hubness: hubness(&permuted, HUBNESS_NEIGHBOURS),
        };
        assert_eq!(geometry.observed, expected_observed);
        assert_eq!(geometry.control, expected_control);
        assert_eq!(
            (geometry.rows, geometry.distinct_rows, geometry.columns),
            (64, 60, 6)
        );
        assert_eq!(
            geometry,
            GeometryDiagnostics::compute(&points, &labels, HUBNESS_NEIGHBOURS, seed).unwrap()
        );
    }

    #[test]
    fn controls_sit_where_the_documentation_says() {
        let (points, labels) = sheet();
        let geometry =
            GeometryDiagnostics::compute(&points, &labels, HUBNESS_NEIGHBOURS, 5).unwrap();
        let (observed, control) = (geometry.observed, geometry.control);
        assert!(observed.label_smoothness.ratio < 0.3, "{observed:?}");
        assert!(
            (control.label_smoothness.ratio - 1.0).abs() < 0.3,
            "{control:?}"
        );
        // Same label distribution: the random-pair gap does not change under the shuffle.
        let pair_gaps = (
            observed.label_smoothness.random_pair_gap,
            control.label_smoothness.random_pair_gap,
        );
        assert!((pair_gaps.0 - pair_gaps.1).abs() < 1e-12);
        assert!(
            observed.intrinsic_dimension < control.intrinsic_dimension,
            "{geometry:?}"
        );
        assert!(
            observed.participation_ratio < control.participation_ratio,
            "{geometry:?}"
        );
    }

    #[test]
    fn edge_cases_are_errors_or_documented_nan_never_panics() {
        let two = Points::from_rows(&[[0.0f32, 1.0], [1.0, 0.0]]).unwrap();
        let geometry =
            GeometryDiagnostics::compute(&two, &[1.0, 2.0], HUBNESS_NEIGHBOURS, 0).unwrap();
        assert!(geometry.observed.intrinsic_dimension.is_nan());
        assert!(geometry.observed.hubness.is_nan());
        assert_eq!(geometry.observed.label_smoothness.ratio, 1.0);
        assert!(geometry.observed.participation_ratio.is_finite());

        let one = Points::from_rows(&[[0.5f32, 1.0]]).unwrap();
        let geometry = GeometryDiagnostics::compute(&one, &[3.0], HUBNESS_NEIGHBOURS, 0).unwrap();
        assert!(geometry.observed.intrinsic_dimension.is_nan());
        assert!(geometry.observed.participation_ratio.is_nan());
        assert!(geometry.observed.label_smoothness.ratio.is_nan());
        assert!(geometry.observed.hubness.is_nan());

        let equal = Points::from_rows(&[[0.1f32, 0.7, 0.3]; 20]).unwrap();
        let labels: Vec<f64> = (0..20).map(f64::from).collect();
        let geometry =
            GeometryDiagnostics::compute(&equal, &labels, HUBNESS_NEIGHBOURS, 0).unwrap();
        assert_eq!(geometry.distinct_rows, 1);
        for estimates in [geometry.observed, geometry.control] {
            assert!(estimates.intrinsic_dimension.is_nan());
            assert!(estimates.participation_ratio.is_nan());
            assert!(estimates.hubness.is_nan());
            // Every other row ties for nearest: the gap is the mean gap to all of them.
            assert!((estimates.label_smoothness.ratio - 1.0).abs() < 1e-12);
        }

        let (points, _) = sheet();
        let constant = vec![4.0; points.rows()];
        let geometry =
            GeometryDiagnostics::compute(&points, &constant, HUBNESS_NEIGHBOURS, 0).unwrap();
        assert_eq!(
            geometry.observed.label_smoothness.nearest_neighbour_gap,
            0.0
        );
        assert!(geometry.observed.label_smoothness.ratio.is_nan());
        assert!(geometry.observed.intrinsic_dimension.is_finite());

        let error = GeometryDiagnostics::compute(&points, &constant[1..], HUBNESS_NEIGHBOURS, 0)
            .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("63 labels for 64 embedding rows"),
            "{error}"
        );
    }
}
