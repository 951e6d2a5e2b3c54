//! What to generate.

use serde::Deserialize;

use crate::PhantomError;

/// How many phantoms, how large, from which seed.
///
/// Deserialises from e.g. a TOML table `{ count = 800, size = 256, seed = 0 }`; every key is
/// optional and unknown keys are rejected.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PhantomConfig {
    /// Number of images (rows of `boneage-training-dataset.csv`), 1..=1,000,000.
    pub count: usize,
    /// Side of the square PNGs in pixels, 32..=4096.
    pub size: u32,
    /// Seed of every random draw; the same config always gives byte-identical files.
    pub seed: u64,
}

impl Default for PhantomConfig {
    fn default() -> Self {
        Self {
            count: 800,
            size: 256,
            seed: 0,
        }
    }
}

impl PhantomConfig {
    /// Checks that every value is in range.
    pub fn validate(&self) -> Result<(), PhantomError> {
        if !(1..=1_000_000).contains(&self.count) {
            return Err(PhantomError::InvalidConfig(format!(
                "count = {} (expected 1..=1000000)",
                self.count
            )));
        }
        if !(32..=4096).contains(&self.size) {
            return Err(PhantomError::InvalidConfig(format!(
                "size = {} (expected 32..=4096)",
                self.size
            )));
        }
        Ok(())
    }
}
