//! Error type of the crate.

/// Result alias with [`HeadsError`].
pub type Result<T> = std::result::Result<T, HeadsError>;

/// Errors raised by the heads.
#[derive(Debug, thiserror::Error)]
pub enum HeadsError {
    /// A tensor operation failed (shape mismatch, dtype, device, I/O of safetensors, ...).
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
    /// Training-mode NONA (and BatchNorm) needs at least two samples: with one, the only
    /// neighbour is the sample itself, which is masked out.
    #[error("training batch of size {size} is too small: at least {min} samples are needed")]
    TrainBatchTooSmall {
        /// Size of the offending batch.
        size: usize,
        /// Smallest accepted size.
        min: usize,
    },
    /// Inputs whose shapes do not fit together.
    #[error("shape mismatch: {0}")]
    Shape(String),
    /// Labels given to a scaler were empty or not finite.
    #[error("invalid labels: {0}")]
    InvalidLabels(String),
}

/// A configuration name (`l2`, `s2`, `pointwise`, ...) that is not known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} `{given}`, expected one of: {expected}")]
pub struct ParseNameError {
    /// What was parsed (e.g. "similarity").
    pub kind: &'static str,
    /// The string that was given.
    pub given: String,
    /// The accepted names, comma separated.
    pub expected: &'static str,
}
