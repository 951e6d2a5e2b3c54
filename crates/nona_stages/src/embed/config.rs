//! The `[embed]` section.

use nona_backbones::PoolingOption;
use serde::{Deserialize, Serialize};

use crate::common::OnError;

/// `weights = "synthetic"`: deterministic pseudo-random weights, for tests and demos; every output
/// says so.
pub(crate) const SYNTHETIC_WEIGHTS: &str = "synthetic";

/// The `[embed]` section.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EmbedConfig {
    /// Backbone name (`resnet18`, …, `minilm_l6`, `whisper_tiny_en`, `hubert_base`).
    pub backbone: String,
    /// A weights file (relative to this pipeline file), or `"synthetic"`; by default the weights
    /// are looked up in `$NONA_WEIGHTS_DIR` (default `weights/`), then the Hugging Face cache.
    #[serde(default)]
    pub weights: Option<String>,
    /// Text backbones: a `tokenizer.json` or `vocab.txt` (relative to this pipeline file); by
    /// default the one next to the weights, then in the weights directory, then the Hugging Face
    /// cache.
    #[serde(default)]
    pub tokenizer: Option<String>,
    /// How hidden states are pooled (`cls`, `mean`, `mean_all`, `first`; which ones depends on the
    /// backbone). Default: the backbone's (CLS for BERT/DistilBERT, mean for MiniLM, Whisper and
    /// HuBERT).
    #[serde(default)]
    pub pooling: Option<PoolingOption>,
    /// L2-normalise every embedding. Default: the backbone's (true for MiniLM, else false).
    #[serde(default)]
    pub normalize: Option<bool>,
    /// `cpu` or `cuda` (needs a build with the `cuda` feature).
    #[serde(default = "default_device")]
    pub device: String,
    /// Samples per backbone call.
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// Samples per work unit and per Parquet part.
    #[serde(default = "default_shard_rows")]
    pub shard_rows: usize,
    /// Threads that decode and transform inputs (default: all cores).
    #[serde(default)]
    pub decode_threads: Option<usize>,
    /// What to do with a sample that cannot be decoded.
    #[serde(default)]
    pub on_error: OnError,
}

fn default_device() -> String {
    "cpu".to_owned()
}
fn default_batch_size() -> usize {
    16
}
fn default_shard_rows() -> usize {
    256
}
