//! The embedding-geometry estimators checked against scikit-dimension, NumPy and SciPy on the
//! generated data sets of `tests/fixtures/geometry/make_geometry_fixtures.py`.
//!
//! Tolerances, relative unless said otherwise (both sides compute in f64 from the same f32
//! rows; what is left is summation order):
//! - TwoNN: 1e-10 against scikit-dimension fed exact neighbour distances, 1e-9 against
//!   scikit-dimension on the rows with its own scikit-learn distances (measured: ≤ 2e-13);
//! - participation ratio: 1e-10 against `numpy.linalg.eigvalsh(numpy.cov(...))`;
//! - label smoothness (both gaps and the ratio): 1e-12;
//! - k-occurrence: 1e-12 absolute per row; hubness: 1e-10 absolute against `scipy.stats.skew`.

use nona_report::geometry::{GeometryDiagnostics, HUBNESS_NEIGHBOURS, Points, k_occurrence};
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Deserialize)]
struct Fixtures {
    k: usize,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    rows: Vec<Vec<f32>>,
    labels: Vec<f64>,
    distinct_rows: usize,
    twonn_dimension: Option<f64>,
    twonn_skdim_own_distances: Option<f64>,
    participation_ratio: Option<f64>,
    nearest_neighbour_gap: f64,
    random_pair_gap: f64,
    smoothness_ratio: Option<f64>,
    k_occurrence: Vec<f64>,
    hubness: Option<f64>,
    /// Known answers of the generated data: [low, high], or null for "undefined".
    known: BTreeMap<String, Option<[f64; 2]>>,
}

fn fixtures() -> Fixtures {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/geometry/geometry_fixtures.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture file"))
        .expect("fixture JSON")
}

/// `actual` within `tolerance` of `expected` (relative, or absolute when `relative` is false);
/// a null reference means NaN.
fn assert_close(
    case: &str,
    what: &str,
    actual: f64,
    expected: Option<f64>,
    tolerance: f64,
    relative: bool,
) {
    match expected {
        None => assert!(
            actual.is_nan(),
            "{case}: {what} = {actual}, reference undefined"
        ),
        Some(expected) => {
            let scale = if relative { expected.abs() } else { 1.0 };
            assert!(
                (actual - expected).abs() <= tolerance * scale,
                "{case}: {what} = {actual}, reference {expected}"
            );
        }
    }
}

#[test]
fn estimators_match_the_python_references_on_every_fixture() {
    let fixtures = fixtures();
    assert_eq!(fixtures.k, HUBNESS_NEIGHBOURS);
    for case in &fixtures.cases {
        let name = case.name.as_str();
        let points = Points::from_rows(&case.rows).unwrap();
        let as_f64: Vec<Vec<f64>> = case
            .rows
            .iter()
            .map(|row| row.iter().map(|&v| f64::from(v)).collect())
            .collect();
        assert_eq!(points, Points::from_rows(&as_f64).unwrap(), "{name}");

        let geometry =
            GeometryDiagnostics::compute(&points, &case.labels, HUBNESS_NEIGHBOURS, 0).unwrap();
        let observed = geometry.observed;
        assert_eq!(geometry.distinct_rows, case.distinct_rows, "{name}");
        let dimension = observed.intrinsic_dimension;
        assert_close(name, "TwoNN", dimension, case.twonn_dimension, 1e-10, true);
        assert_close(
            name,
            "TwoNN (skdim distances)",
            dimension,
            case.twonn_skdim_own_distances,
            1e-9,
            true,
        );
        let pr = observed.participation_ratio;
        assert_close(
            name,
            "participation ratio",
            pr,
            case.participation_ratio,
            1e-10,
            true,
        );
        let smoothness = observed.label_smoothness;
        assert_close(
            name,
            "nearest gap",
            smoothness.nearest_neighbour_gap,
            Some(case.nearest_neighbour_gap),
            1e-12,
            true,
        );
        assert_close(
            name,
            "pair gap",
            smoothness.random_pair_gap,
            Some(case.random_pair_gap),
            1e-12,
            true,
        );
        assert_close(
            name,
            "smoothness",
            smoothness.ratio,
            case.smoothness_ratio,
            1e-12,
            true,
        );
        assert_close(
            name,
            "hubness",
            observed.hubness,
            case.hubness,
            1e-10,
            false,
        );

        let occurrence = k_occurrence(&points, fixtures.k);
        assert_eq!(occurrence.len(), case.k_occurrence.len(), "{name}");
        for (row, (&actual, &expected)) in occurrence.iter().zip(&case.k_occurrence).enumerate() {
            assert_close(
                name,
                &format!("N_k of row {row}"),
                actual,
                Some(expected),
                1e-12,
                false,
            );
        }
    }
}

#[test]
fn generated_data_sets_give_their_known_answers() {
    for case in fixtures().cases {
        let points = Points::from_rows(&case.rows).unwrap();
        let observed = GeometryDiagnostics::compute(&points, &case.labels, HUBNESS_NEIGHBOURS, 0)
            .unwrap()
            .observed;
        for (key, bounds) in &case.known {
            let value = match key.as_str() {
                "intrinsic_dimension" => observed.intrinsic_dimension,
                "participation_ratio" => observed.participation_ratio,
                "smoothness_ratio" => observed.label_smoothness.ratio,
                "hubness" => observed.hubness,
                other => panic!("{}: unknown known answer {other}", case.name),
            };
            match bounds {
                None => assert!(value.is_nan(), "{}: {key} = {value}", case.name),
                Some([low, high]) => assert!(
                    (*low..=*high).contains(&value),
                    "{}: {key} = {value} outside [{low}, {high}]",
                    case.name
                ),
            }
        }
    }
}

#[test]
fn controls_are_baselines_on_the_generated_data_sets() {
    // Label-shuffled smoothness sits near 1 wherever the observed labels are smooth, and the
    // feature-permuted control of a low-dimensional subspace has a higher dimension.
    for case in fixtures().cases {
        let points = Points::from_rows(&case.rows).unwrap();
        let geometry =
            GeometryDiagnostics::compute(&points, &case.labels, HUBNESS_NEIGHBOURS, 3).unwrap();
        let (observed, control) = (geometry.observed, geometry.control);
        if case.name.starts_with("linear_subspace") || case.name == "noisy_curve" {
            assert!(
                observed.label_smoothness.ratio < 0.2,
                "{}: {observed:?}",
                case.name
            );
            let shuffled = control.label_smoothness.ratio;
            assert!(
                (0.8..=1.2).contains(&shuffled),
                "{}: control smoothness {shuffled}",
                case.name
            );
            assert!(
                control.intrinsic_dimension > observed.intrinsic_dimension + 1.0,
                "{}: {geometry:?}",
                case.name
            );
            assert!(
                control.participation_ratio > observed.participation_ratio,
                "{}: {geometry:?}",
                case.name
            );
        }
    }
}
