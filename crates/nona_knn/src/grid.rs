//! `GridSearchCV` over k, p and weights with scikit-learn's folds, scores and tie-breaking.

use serde::{Deserialize, Serialize};

use crate::distance::PackedRows;
use crate::folds::{FoldOrder, kfold};
use crate::neighbours::map_neighbours;
use crate::regressor::predict_from_neighbours;
use crate::summation::numpy_mean;
use crate::{KnnError, KnnParams, Matrix, Metric, Weights};

/// The hyper-parameter grid, the number of CV folds and the row order they are cut from.
#[derive(Debug, Clone, PartialEq)]
pub struct GridSpec {
    /// Candidate neighbour counts.
    pub n_neighbors: Vec<usize>,
    /// Candidate Minkowski exponents (1 or 2).
    pub p: Vec<u32>,
    /// Candidate weightings.
    pub weights: Vec<Weights>,
    /// Number of `KFold` splits.
    pub folds: usize,
    /// Table order (`GridSearchCV(cv=folds)`) or shuffled with a seed.
    pub fold_order: FoldOrder,
}

impl Default for GridSpec {
    /// The reference code's grid: k in {3,5,7,9,11} (the paper's text says {3,5,7}), p in
    /// {1,2}, both weightings; 4 folds in table order.
    fn default() -> Self {
        Self {
            n_neighbors: vec![3, 5, 7, 9, 11],
            p: vec![1, 2],
            weights: vec![Weights::Uniform, Weights::Distance],
            folds: 4,
            fold_order: FoldOrder::Table,
        }
    }
}

/// The grid as a pipeline section writes it: a [`GridSpec`] whose folds are either shuffled with
/// each unit's seed or cut in table order. Defaults: [`GridSpec::default`], shuffled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GridConfig {
    /// Candidate neighbour counts.
    pub n_neighbors: Vec<usize>,
    /// Candidate Minkowski exponents (1 or 2).
    pub p: Vec<u32>,
    /// Candidate weightings (`uniform`, `distance`).
    pub weights: Vec<Weights>,
    /// Cross-validation folds.
    pub folds: usize,
    /// Shuffle the rows with the unit's seed before cutting the folds
    /// (`KFold(shuffle=True, random_state=seed)`); `false`: folds in table order.
    pub shuffle: bool,
}

impl Default for GridConfig {
    fn default() -> Self {
        let spec = GridSpec::default();
        Self {
            n_neighbors: spec.n_neighbors,
            p: spec.p,
            weights: spec.weights,
            folds: spec.folds,
            shuffle: true,
        }
    }
}

impl GridConfig {
    /// The fold order of the unit with `seed`.
    pub fn fold_order(&self, seed: u64) -> Result<FoldOrder, KnnError> {
        if self.shuffle {
            FoldOrder::shuffled(seed)
        } else {
            Ok(FoldOrder::Table)
        }
    }

    /// The grid as the unit with `seed` searches it.
    pub fn grid_spec(&self, seed: u64) -> Result<GridSpec, KnnError> {
        Ok(GridSpec {
            n_neighbors: self.n_neighbors.clone(),
            p: self.p.clone(),
            weights: self.weights.clone(),
            folds: self.folds,
            fold_order: self.fold_order(seed)?,
        })
    }
}

impl GridSpec {
    /// Grid points in `ParameterGrid` order: keys sorted (`n_neighbors`, `p`, `weights`),
    /// the last key varying fastest.
    pub fn points(&self) -> Result<Vec<KnnParams>, KnnError> {
        if self.n_neighbors.is_empty() || self.p.is_empty() || self.weights.is_empty() {
            return Err(KnnError::InvalidParameter(
                "every grid axis needs a value".into(),
            ));
        }
        let mut points = Vec::new();
        for &n_neighbors in &self.n_neighbors {
            for &p in &self.p {
                let metric = Metric::from_p(p)?;
                for &weights in &self.weights {
                    points.push(KnnParams {
                        n_neighbors,
                        metric,
                        weights,
                    });
                }
            }
        }
        Ok(points)
    }
}

/// Outcome of a grid search, like `GridSearchCV.cv_results_` reduced to what reports need.
#[derive(Debug, Clone, PartialEq)]
pub struct GridSearchResult {
    /// Grid points in `ParameterGrid` order.
    pub points: Vec<KnnParams>,
    /// Validation rows of each fold, ascending.
    pub folds: Vec<Vec<usize>>,
    /// `split{i}_test_score`: negative MSE per point (outer) and fold (inner).
    pub fold_scores: Vec<Vec<f64>>,
    /// `mean_test_score` per point.
    pub mean_scores: Vec<f64>,
    /// `rank_test_score` per point (`rankdata(-mean, method="min")`).
    pub ranks: Vec<usize>,
    /// `best_index_`: the first point with rank 1.
    pub best_index: usize,
}

impl GridSearchResult {
    /// `best_params_`.
    pub fn best(&self) -> KnnParams {
        self.points[self.best_index]
    }
}

/// Runs the grid search on (already scaled) `x` and targets `y`.
///
/// Each fold's neighbours are found once per metric for the largest k, with one heap per
/// distinct k, and every (k, weights) point is predicted from them.
pub fn grid_search_cv(
    x: &Matrix,
    y: &[f64],
    spec: &GridSpec,
) -> Result<GridSearchResult, KnnError> {
    if y.len() != x.rows() {
        return Err(KnnError::SizeMismatch {
            what: "targets",
            expected: x.rows(),
            got: y.len(),
        });
    }
    let points = spec.points()?;
    let folds = kfold(x.rows(), spec.folds, spec.fold_order)?;
    let mut ks = spec.n_neighbors.clone();
    ks.sort_unstable();
    ks.dedup();
    let mut metrics: Vec<Metric> = points.iter().map(|p| p.metric).collect();
    metrics.dedup();
    metrics.sort_by_key(|m| m.p());
    metrics.dedup();

    let mut fold_scores = vec![Vec::with_capacity(folds.len()); points.len()];
    for fold in &folds {
        let train = PackedRows::training(&x.select_rows(&fold.train));
        let train_y: Vec<f64> = fold.train.iter().map(|&i| y[i]).collect();
        let queries = PackedRows::queries(&x.select_rows(&fold.validation));
        let validation_y: Vec<f64> = fold.validation.iter().map(|&i| y[i]).collect();
        for &metric in &metrics {
            let point_ids: Vec<usize> = (0..points.len())
                .filter(|&i| points[i].metric == metric)
                .collect();
            let heap_of_point: Vec<usize> = point_ids
                .iter()
                .map(|&i| ks.binary_search(&points[i].n_neighbors).unwrap_or_default())
                .collect();
            let predictions = map_neighbours(&train, &queries, metric, &ks, |per_k| {
                point_ids
                    .iter()
                    .zip(&heap_of_point)
                    .map(|(&i, &h)| predict_from_neighbours(&per_k[h], &train_y, points[i].weights))
                    .collect::<Vec<f64>>()
            })?;
            for (column, &i) in point_ids.iter().enumerate() {
                let squared_errors: Vec<f64> = validation_y
                    .iter()
                    .zip(&predictions)
                    .map(|(t, row)| {
                        let e = t - row[column];
                        e * e
                    })
                    .collect();
                fold_scores[i].push(-numpy_mean(&squared_errors));
            }
        }
    }
    let mean_scores: Vec<f64> = fold_scores.iter().map(|s| numpy_mean(s)).collect();
    let ranks: Vec<usize> = mean_scores
        .iter()
        .map(|&m| 1 + mean_scores.iter().filter(|&&other| other > m).count())
        .collect();
    let best_index = ranks.iter().position(|&r| r == 1).unwrap_or_default();
    Ok(GridSearchResult {
        points,
        folds: folds.into_iter().map(|fold| fold.validation).collect(),
        fold_scores,
        mean_scores,
        ranks,
        best_index,
    })
}
