use std::path::PathBuf;

/// Everything that can go wrong while building a report.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The input does not have the shape or values a computation needs.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// Drawing a plot failed.
    #[error("plot {path}: {message}")]
    Plot {
        /// The PNG that was being written.
        path: PathBuf,
        /// What the drawing or encoding backend said.
        message: String,
    },
}
