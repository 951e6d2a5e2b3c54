//! Config pieces shared by several stages.

use serde::{Deserialize, Serialize};

/// What a stage does with a sample it cannot process.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OnError {
    /// Record it in the stage's errors table and go on (the default).
    #[default]
    Skip,
    /// Stop the stage at the first failure.
    Fail,
}

/// Default rows per work unit (and per Parquet part).
pub(crate) fn default_shard_rows() -> usize {
    1024
}
