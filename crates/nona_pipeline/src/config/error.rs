//! Configuration errors that point at a file, line and key.

use std::path::Path;

use super::source::Origin;

/// One problem in a pipeline file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", origin.as_ref().map(|o| format!("{o}: ")).unwrap_or_default())]
pub struct ConfigError {
    /// Where the offending key was written, when known.
    pub origin: Option<Origin>,
    /// What is wrong and, where possible, how to fix it.
    pub message: String,
}

impl ConfigError {
    /// An error at `origin`.
    pub fn new(origin: Option<Origin>, message: String) -> Self {
        Self { origin, message }
    }

    /// An error about a whole file (line 1).
    pub fn at_file(file: &Path, message: String) -> Self {
        Self::new(
            Some(Origin {
                file: file.to_path_buf(),
                line: 1,
                column: 1,
            }),
            message,
        )
    }
}

/// Every problem found in a pipeline, reported together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
pub struct ConfigErrors {
    /// The problems, in file order where known.
    pub errors: Vec<ConfigError>,
}

impl From<ConfigError> for ConfigErrors {
    fn from(error: ConfigError) -> Self {
        Self {
            errors: vec![error],
        }
    }
}

/// The closest candidate to `word`, if any is close enough to be a plausible typo.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|candidate| (strsim::jaro_winkler(word, candidate), candidate))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, candidate)| candidate)
}

#[cfg(test)]
mod tests {
    use super::did_you_mean;

    #[test]
    fn suggests_close_keys_only() {
        let keys = ["batch_size", "backbone", "weights", "device"];
        assert_eq!(did_you_mean("batch_sise", keys), Some("batch_size"));
        assert_eq!(did_you_mean("backbon", keys), Some("backbone"));
        assert_eq!(did_you_mean("zzz", keys), None);
    }
}
