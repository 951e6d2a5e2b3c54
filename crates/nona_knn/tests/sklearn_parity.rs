//! Parity with scikit-learn 1.9.1 on the committed fixtures (see
//! `tests/fixtures/knn/make_knn_fixtures.py`), with the CV folds in table order and shuffled.

mod common;

use common::{Baseline, Case, assert_close, load_case, params};
use nona_knn::folds::kfold;
use nona_knn::summation::pairwise_sum;
use nona_knn::{FoldOrder, GridSpec, KnnBaseline, KnnRegressor, Neighbours, Weights};
use serde::Deserialize;

const CASES: [&str; 4] = ["random", "ties", "wide", "sorted"];

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
        // The normalised weights of the neighbours reproduce scikit-learn's predictions.
        let voted: Vec<f64> = neighbours
            .iter()
            .map(|n| vote(n, model.params().weights, &case.y_train))
            .collect();
        assert_close(
            &voted,
            &model.predictions,
            &format!("{what} weighted votes"),
        );
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

/// `Σ w y` over one query's neighbours with their normalised weights.
fn vote(neighbours: &Neighbours, weights: Weights, y_train: &[f64]) -> f64 {
    let products: Vec<f64> = neighbours
        .indices
        .iter()
        .zip(&weights.normalised(&neighbours.distances))
        .map(|(&i, w)| w * y_train[i])
        .collect();
    pairwise_sum(&products)
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

fn check_baseline(case: &Case, reference: &Baseline) {
    let name = format!("{} (shuffle seed {:?})", case.name, reference.shuffle_seed);
    let x_train = case.x_train.matrix();
    let spec = GridSpec {
        fold_order: reference.fold_order(),
        ..GridSpec::default()
    };
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
    assert_eq!(search.folds, reference.folds, "{name} folds");
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
    let best = baseline.model.params();
    let neighbours = baseline
        .kneighbors(&case.x_test.matrix())
        .expect("kneighbors");
    for (n, prediction) in neighbours.iter().zip(&predictions) {
        assert_eq!(n.indices.len(), best.n_neighbors, "{name}: the tuned k");
        assert_close(
            &[vote(n, best.weights, &case.y_train)],
            &[*prediction],
            &format!("{name} weighted vote"),
        );
    }
}

/// The baselines of `case`: in table order first, then shuffled with each fixture seed.
fn baselines(case: &Case) -> (&Baseline, Vec<&Baseline>) {
    let (table, shuffled): (Vec<_>, Vec<_>) = case
        .baselines
        .iter()
        .partition(|b| b.shuffle_seed.is_none());
    assert_eq!(table.len(), 1, "{}: one table-order baseline", case.name);
    assert!(shuffled.len() >= 2, "{}: shuffled baselines", case.name);
    (table[0], shuffled)
}

#[test]
fn baseline_in_table_order_matches_grid_search_cv() {
    for name in ["random", "ties", "sorted"] {
        let case = load_case(name);
        check_baseline(&case, baselines(&case).0);
    }
}

#[test]
fn baseline_with_shuffled_folds_matches_grid_search_cv_with_shuffled_kfold() {
    for name in ["random", "ties", "sorted"] {
        let case = load_case(name);
        for reference in baselines(&case).1 {
            check_baseline(&case, reference);
        }
    }
}

#[test]
fn sorted_fixture_picks_other_hyper_parameters_in_table_order() {
    // Guards the fixture: rows sorted by label give contiguous folds whose choice differs from
    // every shuffled one, so the shuffled parity test checks what an ordered manifest changes.
    let case = load_case("sorted");
    let (table, shuffled) = baselines(&case);
    let cv_mse = |b: &Baseline| -b.mean_scores[b.best_index];
    for reference in shuffled {
        let seed = reference.shuffle_seed;
        assert_ne!(table.best_index, reference.best_index, "seed {seed:?}");
        assert!(cv_mse(reference) < 0.5 * cv_mse(table), "seed {seed:?}");
    }
}

#[test]
fn kfold_gives_the_first_folds_one_extra_row() {
    let folds = kfold(10, 4, FoldOrder::Table).expect("folds");
    let validation: Vec<Vec<usize>> = folds.iter().map(|f| f.validation.clone()).collect();
    assert_eq!(
        validation,
        vec![vec![0, 1, 2], vec![3, 4, 5], vec![6, 7], vec![8, 9]]
    );
    assert_eq!(folds[1].train, vec![0, 1, 2, 6, 7, 8, 9]);
    assert!(kfold(3, 4, FoldOrder::Table).is_err());
}

#[test]
fn shuffled_kfold_matches_sklearn_and_keeps_rows_ascending() {
    // KFold(4, shuffle=True, random_state=5).split(range(10)) in scikit-learn 1.9.1.
    let folds = kfold(10, 4, FoldOrder::Shuffled { seed: 5 }).expect("folds");
    let validation: Vec<Vec<usize>> = folds.iter().map(|f| f.validation.clone()).collect();
    assert_eq!(
        validation,
        vec![vec![2, 5, 9], vec![1, 4, 7], vec![0, 8], vec![3, 6]]
    );
    assert_eq!(folds[0].train, vec![0, 1, 3, 4, 6, 7, 8]);
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
