//! Parity with scikit-learn 1.9.1 on the committed fixtures (see
//! `tests/fixtures/knn/make_knn_fixtures.py`).

mod common;

use common::{Case, assert_close, load_case, params};
use nona_knn::folds::kfold_validation_ranges;
use nona_knn::summation::pairwise_sum;
use nona_knn::{GridSpec, KnnBaseline, KnnRegressor};
use serde::Deserialize;

const CASES: [&str; 3] = ["random", "ties", "wide"];

fn check_single_models(case: &Case) {
    let (x_train, x_test) = (case.x_train.matrix(), case.x_test.matrix());
    for model in &case.single_models {
        let what = format!(
            "{} k={} p={} {}",
            case.name, model.k, model.p, model.weights
        );
        let fitted = KnnRegressor::fit(&x_train, &case.y_train, model.params()).expect("fit");
        let predictions = fitted.predict(&x_test).expect("predict");
        assert_close(
            &predictions,
            &model.predictions,
            &format!("{what} predictions"),
        );
        let neighbours = fitted.kneighbors(&x_test, model.k).expect("kneighbors");
        for (q, n) in neighbours.iter().enumerate() {
            // Distances are bit-identical; rows at equal distance may be listed in another
            // order (scikit-learn re-heaps them), so compare the (distance, index) multiset.
            assert_eq!(
                n.distances, model.distances[q],
                "{what} distances of query {q}"
            );
            let sorted = |d: &[f64], i: &[usize]| {
                let mut pairs: Vec<(u64, usize)> = d
                    .iter()
                    .map(|v| v.to_bits())
                    .zip(i.iter().copied())
                    .collect();
                pairs.sort_unstable();
                pairs
            };
            assert_eq!(
                sorted(&n.distances, &n.indices),
                sorted(&model.distances[q], &model.indices[q]),
                "{what} neighbours of query {q}"
            );
        }
    }
}

#[test]
fn single_model_predictions_and_neighbours_match_sklearn() {
    for name in CASES {
        check_single_models(&load_case(name));
    }
}

#[test]
fn tie_fixture_exercises_boundary_ties_and_zero_distances() {
    // Guards the fixture itself: without ties at the k-th place the tie tests would be vacuous.
    let case = load_case("ties");
    let model = case
        .single_models
        .iter()
        .find(|m| m.k == 4 && m.p == 2)
        .expect("k=4, p=2");
    let boundary_ties = model
        .distances
        .iter()
        .filter(|d| d.iter().filter(|&&v| v == d[3]).count() > 1)
        .count();
    assert!(
        boundary_ties > 10,
        "only {boundary_ties} queries tie at the 4th neighbour"
    );
    assert!(model.distances.iter().any(|d| d[0] == 0.0 && d[1] == 0.0));
}

#[test]
fn zero_distance_neighbours_take_all_the_weight() {
    let case = load_case("ties");
    let x_train = case.x_train.matrix();
    let model = KnnRegressor::fit(&x_train, &case.y_train, params(11, 1, "distance")).expect("fit");
    let query = x_train.select_rows(&[0]);
    let neighbours = &model.kneighbors(&query, 11).expect("kneighbors")[0];
    let zero: Vec<f64> = neighbours
        .indices
        .iter()
        .zip(&neighbours.distances)
        .filter(|(_, d)| **d == 0.0)
        .map(|(&i, _)| case.y_train[i])
        .collect();
    assert!(
        !zero.is_empty() && zero.len() < 11,
        "fixture should mix zero and non-zero distances"
    );
    let expected = zero.iter().sum::<f64>() / zero.len() as f64;
    let predicted = model.predict(&query).expect("predict")[0];
    assert!((predicted - expected).abs() <= 1e-12 * expected.abs().max(1.0));
}

#[test]
fn baseline_matches_grid_search_cv() {
    for name in ["random", "ties"] {
        let case = load_case(name);
        let reference = case.baseline.as_ref().expect("baseline fixture");
        let x_train = case.x_train.matrix();
        let spec = GridSpec::default();
        let baseline = KnnBaseline::fit(&x_train, &case.y_train, &spec).expect("fit");

        assert_eq!(
            baseline.scaler.mean, reference.scaler_mean,
            "{name} scaler mean"
        );
        assert_eq!(
            baseline.scaler.scale, reference.scaler_scale,
            "{name} scaler scale"
        );
        let scaled_test = baseline
            .scaler
            .transform(&case.x_test.matrix())
            .expect("transform");
        assert_eq!(
            scaled_test.as_slice(),
            &reference.scaled_test.data[..],
            "{name} scaled test"
        );

        let search = &baseline.search;
        let folds: Vec<[usize; 2]> = search.folds.iter().map(|r| [r.start, r.end]).collect();
        assert_eq!(folds, reference.folds, "{name} folds");
        let points: Vec<_> = reference
            .points
            .iter()
            .map(|p| params(p.k, p.p, &p.weights))
            .collect();
        assert_eq!(search.points, points, "{name} ParameterGrid order");
        for (i, (ours, theirs)) in search
            .fold_scores
            .iter()
            .zip(&reference.fold_scores)
            .enumerate()
        {
            assert_close(ours, theirs, &format!("{name} fold scores of point {i}"));
        }
        assert_close(
            &search.mean_scores,
            &reference.mean_scores,
            &format!("{name} mean scores"),
        );
        assert_eq!(search.ranks, reference.ranks, "{name} ranks");
        assert_eq!(search.best_index, reference.best_index, "{name} best index");

        let predictions = baseline.predict(&case.x_test.matrix()).expect("predict");
        assert_close(
            &predictions,
            &reference.test_predictions,
            &format!("{name} test predictions"),
        );
    }
}

#[test]
fn kfold_ranges_give_the_first_folds_one_extra_row() {
    let ranges = kfold_validation_ranges(10, 4).expect("folds");
    assert_eq!(ranges, vec![0..3, 3..6, 6..8, 8..10]);
    assert!(kfold_validation_ranges(3, 4).is_err());
}

#[derive(Deserialize)]
struct SumCase {
    values: Vec<f64>,
    sum: f64,
}

#[derive(Deserialize)]
struct Sums {
    cases: Vec<SumCase>,
}

#[test]
fn pairwise_sum_is_bit_identical_to_numpy() {
    let text = std::fs::read_to_string(common::fixture_path("numpy_sums.json")).expect("fixture");
    let sums: Sums = serde_json::from_str(&text).expect("json");
    for case in &sums.cases {
        assert_eq!(
            pairwise_sum(&case.values).to_bits(),
            case.sum.to_bits(),
            "n = {}",
            case.values.len()
        );
    }
}
