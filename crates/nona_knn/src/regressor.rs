//! `KNeighborsRegressor(algorithm="brute")` prediction.

use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::distance::PackedRows;
use crate::neighbours::{Neighbours, map_neighbours};
use crate::summation::{numpy_mean, pairwise_sum};
use crate::{KnnError, Matrix, Metric};

/// How neighbour targets are averaged. Read and written by its scikit-learn name (`uniform`,
/// `distance`), in pipeline files too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "&'static str")]
pub enum Weights {
    /// Plain mean of the k targets.
    Uniform,
    /// Weights `1 / distance`; if any neighbour is at distance 0 (its inverse is infinite),
    /// only those neighbours count, with weight 1 each (scikit-learn's `_get_weights`).
    Distance,
}

impl Weights {
    /// scikit-learn's name for the setting.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Uniform => "uniform",
            Self::Distance => "distance",
        }
    }
}

impl FromStr for Weights {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, String> {
        match name {
            "uniform" => Ok(Self::Uniform),
            "distance" => Ok(Self::Distance),
            other => Err(format!(
                "unknown weights `{other}` (expected `uniform` or `distance`)"
            )),
        }
    }
}

impl TryFrom<String> for Weights {
    type Error = String;

    fn try_from(name: String) -> Result<Self, String> {
        name.parse()
    }
}

impl From<Weights> for &'static str {
    fn from(weights: Weights) -> Self {
        weights.as_str()
    }
}

/// Hyper-parameters of one k-NN regressor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KnnParams {
    /// Number of neighbours `k`.
    pub n_neighbors: usize,
    /// Distance (`p`).
    pub metric: Metric,
    /// Target weighting.
    pub weights: Weights,
}

/// Prediction from one query's sorted neighbours, with numpy's summation order.
pub fn predict_from_neighbours(neighbours: &Neighbours, targets: &[f64], weights: Weights) -> f64 {
    let values: Vec<f64> = neighbours.indices.iter().map(|&i| targets[i]).collect();
    match weights {
        Weights::Uniform => numpy_mean(&values),
        Weights::Distance => {
            let mut w: Vec<f64> = neighbours.distances.iter().map(|d| 1.0 / d).collect();
            if w.iter().any(|v| v.is_infinite()) {
                for v in &mut w {
                    *v = if v.is_infinite() { 1.0 } else { 0.0 };
                }
            }
            let weighted: Vec<f64> = values.iter().zip(&w).map(|(y, w)| y * w).collect();
            pairwise_sum(&weighted) / pairwise_sum(&w)
        }
    }
}

/// A fitted brute-force k-NN regressor.
pub struct KnnRegressor {
    train: PackedRows,
    features: usize,
    targets: Vec<f64>,
    params: KnnParams,
}

impl KnnRegressor {
    /// Stores the training rows (packed for the distance kernels) and targets.
    pub fn fit(x: &Matrix, y: &[f64], params: KnnParams) -> Result<Self, KnnError> {
        if y.len() != x.rows() {
            return Err(KnnError::SizeMismatch {
                what: "targets",
                expected: x.rows(),
                got: y.len(),
            });
        }
        if params.n_neighbors == 0 || params.n_neighbors > x.rows() {
            return Err(KnnError::TooFewTrainingRows {
                k: params.n_neighbors,
                n_train: x.rows(),
            });
        }
        Ok(Self {
            train: PackedRows::training(x),
            features: x.cols(),
            targets: y.to_vec(),
            params,
        })
    }

    /// The hyper-parameters.
    pub fn params(&self) -> KnnParams {
        self.params
    }

    /// The `k` nearest training rows of every query row (`kneighbors`).
    pub fn kneighbors(&self, x: &Matrix, k: usize) -> Result<Vec<Neighbours>, KnnError> {
        self.check_features(x)?;
        let queries = PackedRows::queries(x);
        map_neighbours(&self.train, &queries, self.params.metric, &[k], |per_k| {
            per_k[0].clone()
        })
    }

    /// Predicts every query row.
    pub fn predict(&self, x: &Matrix) -> Result<Vec<f64>, KnnError> {
        self.check_features(x)?;
        let queries = PackedRows::queries(x);
        let KnnParams {
            n_neighbors,
            metric,
            weights,
        } = self.params;
        map_neighbours(&self.train, &queries, metric, &[n_neighbors], |per_k| {
            predict_from_neighbours(&per_k[0], &self.targets, weights)
        })
    }

    fn check_features(&self, x: &Matrix) -> Result<(), KnnError> {
        if x.cols() != self.features {
            return Err(KnnError::SizeMismatch {
                what: "features",
                expected: self.features,
                got: x.cols(),
            });
        }
        Ok(())
    }
}
