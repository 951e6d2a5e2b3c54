//! The paper's k-NN baseline: scale, tune by grid search, refit, predict.

use crate::{
    GridSearchResult, GridSpec, KnnError, KnnRegressor, Matrix, Neighbours, StandardScaler,
    grid_search_cv,
};

/// A `StandardScaler` + `GridSearchCV(KNeighborsRegressor)` model refitted on all training rows.
pub struct KnnBaseline {
    /// Scaler fitted on the training rows.
    pub scaler: StandardScaler,
    /// Cross-validation results on the scaled training rows.
    pub search: GridSearchResult,
    /// The best grid point refitted on all scaled training rows.
    pub model: KnnRegressor,
}

impl KnnBaseline {
    /// Fits the scaler on `x_train`, grid-searches on the scaled rows and refits the best point.
    pub fn fit(x_train: &Matrix, y_train: &[f64], spec: &GridSpec) -> Result<Self, KnnError> {
        let scaler = StandardScaler::fit(x_train)?;
        let scaled = scaler.transform(x_train)?;
        let search = grid_search_cv(&scaled, y_train, spec)?;
        let model = KnnRegressor::fit(&scaled, y_train, search.best())?;
        Ok(Self {
            scaler,
            search,
            model,
        })
    }

    /// Scales `x` with the training scaler and predicts with the refitted model.
    pub fn predict(&self, x: &Matrix) -> Result<Vec<f64>, KnnError> {
        self.model.predict(&self.scaler.transform(x)?)
    }

    /// The neighbours the refitted model predicts `x` from: its tuned `k` nearest training rows
    /// (on the scaled rows), nearest first.
    pub fn kneighbors(&self, x: &Matrix) -> Result<Vec<Neighbours>, KnnError> {
        let k = self.model.params().n_neighbors;
        self.model.kneighbors(&self.scaler.transform(x)?, k)
    }
}
