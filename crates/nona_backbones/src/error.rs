use std::path::PathBuf;

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while finding weights or running a backbone.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A tensor operation failed (shape mismatch, missing tensor in a weights file, device error).
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// No backbone of that name is registered.
    #[error("unknown backbone `{name}`; known backbones: {known}")]
    UnknownBackbone {
        /// The name asked for.
        name: String,
        /// The registered names, comma separated.
        known: String,
    },
    /// The weights file could not be found anywhere; the message says where to put it.
    #[error("{0}")]
    WeightsNotFound(String),
    /// A weights file exists but cannot be parsed.
    #[error("{path}: {message}")]
    BadWeightsFile {
        /// The file involved.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// Downloading weights failed.
    #[error("download of {url} failed: {message}")]
    Download {
        /// The URL fetched.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// The input given to a backbone does not fit it.
    #[error("bad input: {0}")]
    BadInput(String),
    /// The requested device is not available in this build or on this machine.
    #[error("device unavailable: {0}")]
    DeviceUnavailable(String),
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn bad_file(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Self::BadWeightsFile {
            path: path.into(),
            message: message.into(),
        }
    }
}
