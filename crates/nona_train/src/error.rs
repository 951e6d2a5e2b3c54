//! Error type of the crate.

/// Result alias with [`TrainError`].
pub type Result<T> = std::result::Result<T, TrainError>;

/// Errors raised while splitting, training, saving or loading.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// A head, projector, optimiser or scaler failed.
    #[error(transparent)]
    Heads(#[from] nona_heads::HeadsError),
    /// A tensor operation or safetensors I/O failed.
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
    /// Reading or writing a model file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A model's JSON description could not be read or written.
    #[error("{path}: {source}")]
    Json {
        /// The file.
        path: String,
        /// The underlying error.
        source: serde_json::Error,
    },
    /// The data cannot be split as asked (too few samples or groups, mismatched lengths, ...).
    #[error("cannot split: {0}")]
    Split(String),
    /// Inputs that do not fit together (row counts, feature dimensions, non-finite values).
    #[error("invalid input: {0}")]
    Input(String),
    /// Training produced a non-finite validation MSE at the epoch that would be kept.
    #[error("training diverged: validation MSE is not finite at epoch {epoch}")]
    Diverged {
        /// The epoch that would have been restored.
        epoch: usize,
    },
    /// A configuration value outside its valid range.
    #[error("invalid configuration: {0}")]
    Config(String),
}
