use std::path::PathBuf;

use parquet::errors::ParquetError;

/// An error reading or writing a table, naming the file involved.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    /// The file or directory could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file is not valid Parquet, or Arrow could not decode it.
    #[error("{path}: not a readable Parquet file: {message}")]
    Parquet {
        /// The file involved.
        path: PathBuf,
        /// What the Parquet/Arrow reader reported.
        message: String,
    },
    /// The Parquet writer refused the data (an I/O failure while writing is [`Self::Io`]).
    #[error("{path}: cannot write Parquet: {message}")]
    ParquetWrite {
        /// The file being written.
        path: PathBuf,
        /// What the Parquet/Arrow writer reported.
        message: String,
    },
    /// A CSV manifest could not be parsed.
    #[error("{path}: {message}")]
    Csv {
        /// The file involved.
        path: PathBuf,
        /// What went wrong, with the row where known.
        message: String,
    },
    /// A table lacks a column, or the column has an unexpected type.
    #[error("{path}: {message}")]
    Column {
        /// The file or dataset involved.
        path: PathBuf,
        /// Which column and what was expected.
        message: String,
    },
    /// The parts of a dataset disagree on their schema.
    #[error("{path}: schema differs from the dataset's first part: {message}")]
    SchemaMismatch {
        /// The offending part.
        path: PathBuf,
        /// The difference.
        message: String,
    },
}

impl TableError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn parquet(path: impl Into<PathBuf>, err: impl std::fmt::Display) -> Self {
        Self::Parquet {
            path: path.into(),
            message: err.to_string(),
        }
    }

    /// A Parquet error while reading `path`: an I/O failure underneath stays an I/O error (a
    /// file that cannot be read is not a malformed file).
    pub(crate) fn reading(path: impl Into<PathBuf>, err: ParquetError) -> Self {
        match io_cause(err) {
            Ok(source) => Self::io(path, source),
            Err(err) => Self::parquet(path, err),
        }
    }

    /// A Parquet error while writing `path`: an I/O failure underneath (e.g. no space left on
    /// device) stays an I/O error.
    pub(crate) fn writing(path: impl Into<PathBuf>, err: ParquetError) -> Self {
        match io_cause(err) {
            Ok(source) => Self::io(path, source),
            Err(err) => Self::ParquetWrite {
                path: path.into(),
                message: err.to_string(),
            },
        }
    }

    pub(crate) fn column(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Self::Column {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// The I/O error a Parquet error wraps, or the Parquet error itself.
fn io_cause(err: ParquetError) -> Result<std::io::Error, ParquetError> {
    match err {
        ParquetError::External(inner) => inner
            .downcast::<std::io::Error>()
            .map(|io| *io)
            .map_err(ParquetError::External),
        other => Err(other),
    }
}
