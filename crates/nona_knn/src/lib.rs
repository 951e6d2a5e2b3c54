//! Exact k-NN regression with scikit-learn-identical grid-search tuning.
//!
//! Reproduces the NONA paper's k-NN baseline: `StandardScaler` fitted on the training rows, then
//! `GridSearchCV(KNeighborsRegressor(algorithm="brute"), {n_neighbors, p, weights}, cv=4,
//! scoring="neg_mean_squared_error")`, refit on all training rows, predict the test rows. The
//! folds are cut in table order (`cv=4`) or, as [`FoldOrder::Shuffled`], from rows shuffled as
//! `KFold(4, shuffle=True, random_state=seed)` shuffles them ([`numpy_random`] replays numpy).
//!
//! # Matching scikit-learn exactly
//! Inputs are `f64` (convert `f32` embeddings with [`Matrix::from_f32`], as numpy does).
//! - Distances replicate scikit-learn's arithmetic bit for bit: Manhattan
//!   summed feature by feature; Euclidean through the `|x|^2 - 2x.y + |y|^2` trick with
//!   OpenBLAS' (Haswell kernel) `ddot` and `dgemm` summation orders, clipped at 0, then `sqrt`.
//!   Exact-duplicate rows therefore get the same tiny non-zero distances scikit-learn gets.
//! - Neighbour selection replays scikit-learn's bounded max-heap, so ties
//!   between equidistant training rows keep the same rows. This equals scikit-learn whenever
//!   its `ArgKmin` scans training rows in order: always for `parallel_on_X` (more queries than
//!   `4 * 256 * threads`, or fewer training than query rows) and for `parallel_on_Y` with one
//!   OpenMP thread or at most 256 training rows; with several threads `parallel_on_Y` merges
//!   per-thread heaps and boundary ties may then resolve differently (thread-count dependent).
//! - Predictions, MSE and fold means use numpy's pairwise summation,
//!   so equal CV scores tie exactly and the best point is chosen as `GridSearchCV` does.
//! - Other BLAS builds (MKL, OpenBLAS on AVX-512 or ARM kernels) may round distances
//!   differently by a few ulps: predictions still agree to ~1e-15 except where such ulps
//!   decide a tie.

mod baseline;
mod distance;
mod error;
pub mod folds;
mod grid;
mod matrix;
mod neighbours;
pub mod numpy_random;
mod regressor;
mod scaler;
mod select;
pub mod summation;

pub use baseline::KnnBaseline;
pub use distance::Metric;
pub use error::KnnError;
pub use folds::FoldOrder;
pub use grid::{GridConfig, GridSearchResult, GridSpec, grid_search_cv};
pub use matrix::Matrix;
pub use neighbours::Neighbours;
pub use regressor::{KnnParams, KnnRegressor, Weights, predict_from_neighbours};
pub use scaler::StandardScaler;
