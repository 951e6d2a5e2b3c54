//! Small synthetic datasets shared by the integration tests.
#![allow(dead_code)]

use nona_train::{SplitData, Surface, TrainData, sample_surface};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Owned rows of one split.
pub struct OwnedSplit {
    pub features: Vec<f32>,
    pub labels: Vec<f64>,
}

impl OwnedSplit {
    pub fn view(&self) -> SplitData<'_> {
        SplitData {
            features: &self.features,
            labels: &self.labels,
        }
    }
}

/// Owned train/validation/test data.
pub struct OwnedData {
    pub dim: usize,
    pub train: OwnedSplit,
    pub validation: OwnedSplit,
    pub test: OwnedSplit,
}

impl OwnedData {
    pub fn view(&self) -> TrainData<'_> {
        TrainData {
            dim: self.dim,
            train: self.train.view(),
            validation: self.validation.view(),
            test: self.test.view(),
        }
    }
}

/// `n` rows of `dim` features whose label is a smooth non-linear function of the first two
/// features (in units around 100, to exercise the label scaling).
pub fn feature_split(n: usize, dim: usize, seed: u64) -> OwnedSplit {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut features = Vec::with_capacity(n * dim);
    let mut labels = Vec::with_capacity(n);
    for _ in 0..n {
        let row: Vec<f32> = (0..dim).map(|_| rng.random_range(-1.0..1.0)).collect();
        let (a, b) = (f64::from(row[0]), f64::from(row[1]));
        labels.push(100.0 + 20.0 * (2.0 * a).sin() + 10.0 * b * b);
        features.extend(row);
    }
    OwnedSplit { features, labels }
}

/// Train/validation/test drawn independently from [`feature_split`].
pub fn feature_data(train: usize, validation: usize, test: usize, dim: usize) -> OwnedData {
    OwnedData {
        dim,
        train: feature_split(train, dim, 1),
        validation: feature_split(validation, dim, 2),
        test: feature_split(test, dim, 3),
    }
}

/// Train/validation/test points of a synthetic surface.
pub fn surface_data(surface: Surface, train: usize, validation: usize, test: usize) -> OwnedData {
    let split = |n, seed| {
        let samples = sample_surface(surface, n, 0.05, seed);
        OwnedSplit {
            features: samples.points,
            labels: samples.labels,
        }
    };
    OwnedData {
        dim: 2,
        train: split(train, 11),
        validation: split(validation, 12),
        test: split(test, 13),
    }
}
