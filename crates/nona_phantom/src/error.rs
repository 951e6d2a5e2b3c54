//! Errors reported by the phantom generator.

use std::path::PathBuf;

/// Why a phantom dataset could not be generated.
#[derive(Debug, thiserror::Error)]
pub enum PhantomError {
    /// A configuration value is out of range.
    #[error("invalid phantom config: {0}")]
    InvalidConfig(String),
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Encoding a PNG failed.
    #[error("{}: encoding PNG: {source}", path.display())]
    Png {
        /// The image being written.
        path: PathBuf,
        /// The underlying error.
        source: image::ImageError,
    },
    /// The directory holds a dataset this generator did not write (for example the real RSNA
    /// data): it is never overwritten.
    #[error(
        "{} holds boneage-training-dataset.csv or images but no GENERATED.txt written by nona_phantom; \
         refusing to overwrite what may be real data (choose an empty directory)",
        path.display()
    )]
    NotAPhantom {
        /// The output directory.
        path: PathBuf,
    },
}

impl PhantomError {
    /// Wraps an I/O error with the path it concerns.
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { path, source }
    }
}
