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

impl Weights {
    /// The weights the prediction gives the neighbours at `distances`, normalised to sum to 1:
    /// `1/k` each (uniform), or `1/d` over their sum, only the neighbours whose `1/d` is
    /// infinite (distance 0) sharing the weight when there are some (distance). `Σ w y` is the prediction up to summation
    /// order ([`predict_from_neighbours`] keeps numpy's).
    pub fn normalised(self, distances: &[f64]) -> Vec<f64> {
        let mut raw: Vec<f64> = match self {
            Self::Uniform => vec![1.0; distances.len()],
            Self::Distance => distances.iter().map(|d| 1.0 / d).collect(),
        };
        if raw.iter().any(|w| w.is_infinite()) {
            for w in &mut raw {
                *w = if w.is_infinite() { 1.0 } else { 0.0 };
            }
        }
        let total: f64 = raw.iter().sum();
        raw.iter().map(|w| w / total).collect()
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

#[cfg(test)]
mod tests {
    use super::Weights;

    #[test]
    fn normalised_weights_by_hand() {
        assert_eq!(
            Weights::Uniform.normalised(&[1.0, 2.0, 4.0]),
            [1.0 / 3.0; 3]
        );
        // 1/d = 1, 1/2, 1/4 over their sum 7/4.
        assert_eq!(
            Weights::Distance.normalised(&[1.0, 2.0, 4.0]),
            [4.0 / 7.0, 2.0 / 7.0, 1.0 / 7.0]
        );
        // Neighbours at distance 0 share all the weight.
        assert_eq!(
            Weights::Distance.normalised(&[0.0, 0.0, 3.0]),
            [0.5, 0.5, 0.0]
        );
    }
}
