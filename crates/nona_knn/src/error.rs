//! Errors reported by the k-NN crate.

/// Why a k-NN computation could not run.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KnnError {
    /// A matrix's data length does not equal `rows * cols`.
    #[error("matrix data has {len} values, expected {rows} x {cols}")]
    BadMatrixShape {
        /// Number of values supplied.
        len: usize,
        /// Declared rows.
        rows: usize,
        /// Declared columns.
        cols: usize,
    },
    /// Two inputs that must agree in size do not.
    #[error("{what}: expected {expected}, got {got}")]
    SizeMismatch {
        /// Which quantity disagrees.
        what: &'static str,
        /// The size required.
        expected: usize,
        /// The size found.
        got: usize,
    },
    /// More neighbours were requested than there are training rows (as in scikit-learn).
    #[error("n_neighbors = {k} exceeds the {n_train} training rows")]
    TooFewTrainingRows {
        /// Requested neighbours.
        k: usize,
        /// Available training rows.
        n_train: usize,
    },
    /// A grid or parameter value is unusable.
    #[error("invalid parameter: {0}")]
    InvalidParameter(String),
}
