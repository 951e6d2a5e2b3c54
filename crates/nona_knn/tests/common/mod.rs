//! Loading the scikit-learn fixtures written by `tests/fixtures/knn/make_knn_fixtures.py`.
#![allow(dead_code)]

use nona_knn::{FoldOrder, KnnParams, Matrix, Metric, Weights};
use serde::Deserialize;

#[derive(Deserialize)]
pub struct MatrixJson {
    pub rows: usize,
    pub cols: usize,
    pub data: Vec<f64>,
}

impl MatrixJson {
    pub fn matrix(&self) -> Matrix {
        Matrix::new(self.data.clone(), self.rows, self.cols).expect("fixture shape")
    }
}

#[derive(Deserialize)]
pub struct SingleModel {
    pub k: usize,
    pub p: u32,
    pub weights: String,
    pub predictions: Vec<f64>,
    pub distances: Vec<Vec<f64>>,
    pub indices: Vec<Vec<usize>>,
}

impl SingleModel {
    pub fn params(&self) -> KnnParams {
        params(self.k, self.p, &self.weights)
    }
}

#[derive(Deserialize)]
pub struct GridPointJson {
    pub k: usize,
    pub p: u32,
    pub weights: String,
}

#[derive(Deserialize)]
pub struct Baseline {
    /// `None`: `KFold(4)`; a seed: `KFold(4, shuffle=True, random_state=seed)`.
    pub shuffle_seed: Option<u32>,
    pub scaler_mean: Vec<f64>,
    pub scaler_scale: Vec<f64>,
    pub scaled_test: MatrixJson,
    /// Validation rows of each fold.
    pub folds: Vec<Vec<usize>>,
    pub points: Vec<GridPointJson>,
    pub fold_scores: Vec<Vec<f64>>,
    pub mean_scores: Vec<f64>,
    pub ranks: Vec<usize>,
    pub best_index: usize,
    pub test_predictions: Vec<f64>,
}

impl Baseline {
    pub fn fold_order(&self) -> FoldOrder {
        self.shuffle_seed
            .map_or(FoldOrder::Table, |seed| FoldOrder::Shuffled { seed })
    }
}

#[derive(Deserialize)]
pub struct Case {
    pub name: String,
    pub x_train: MatrixJson,
    pub y_train: Vec<f64>,
    pub x_test: MatrixJson,
    pub single_models: Vec<SingleModel>,
    /// One per fold order (none for cases without a grid search).
    #[serde(default)]
    pub baselines: Vec<Baseline>,
}

pub fn params(k: usize, p: u32, weights: &str) -> KnnParams {
    let weights = match weights {
        "uniform" => Weights::Uniform,
        "distance" => Weights::Distance,
        other => panic!("unknown weights {other}"),
    };
    KnnParams {
        n_neighbors: k,
        metric: Metric::from_p(p).expect("p"),
        weights,
    }
}

pub fn fixture_path(file: &str) -> String {
    format!(
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/knn/{}"),
        file
    )
}

pub fn load_case(name: &str) -> Case {
    let text =
        std::fs::read_to_string(fixture_path(&format!("{name}.json"))).expect("fixture file");
    serde_json::from_str(&text).expect("fixture json")
}

/// Asserts `|a - b| <= 1e-9 * max(|a|, |b|, 1e-300)` element-wise.
pub fn assert_close(actual: &[f64], expected: &[f64], what: &str) {
    assert_eq!(actual.len(), expected.len(), "{what}: length");
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        let tolerance = 1e-9 * a.abs().max(e.abs()).max(1e-300);
        assert!(
            (a - e).abs() <= tolerance,
            "{what}[{i}]: got {a:e}, sklearn {e:e}"
        );
    }
}
