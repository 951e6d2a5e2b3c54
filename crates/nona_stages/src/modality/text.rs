//! Text: `[preprocess.text]` (where the text is, how many tokens are read); the probe reads a
//! `.txt` sample as UTF-8; preparation tokenises with the backbone's own tokenizer, truncated to
//! the model's maximum (or `max_tokens`), and batches texts of similar length within a unit.

use std::path::{Path, PathBuf};

use candle_core::Device;
use nona_backbones::registry::RegistryEntry;
use nona_backbones::{BackboneInput, InputSpec, ResolvedTokenizer, TokenizerFormat};
use nona_pipeline::config::{ConfigError, Pipeline};
use nona_text::{Encoded, TextTokenizer, TokenBatch, plan_batches};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Prepare, Sample};

/// `[preprocess.text]`: where the text of a sample is and how much of it the backbone reads.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TextOptions {
    /// `column`: the input column holds the text; `file`: it names a UTF-8 text file (relative to
    /// `dataset.root`, through `input_template` when set).
    #[serde(default)]
    source: TextSource,
    /// Truncate every text to this many tokens, special tokens included (default: the
    /// backbone's maximum, e.g. 512 for BERT, 256 for MiniLM).
    #[serde(default)]
    max_tokens: Option<usize>,
}

/// Where a text sample's text is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
enum TextSource {
    /// In the manifest's input column.
    #[default]
    Column,
    /// In a file the input column names.
    File,
}

/// The fewest tokens a text can be truncated to: `[CLS]`, one token, `[SEP]`.
const MIN_TOKENS: usize = 3;

/// Checks the `[preprocess.text]` values.
pub(super) fn check_options(
    pipeline: &Pipeline,
    options: &TextOptions,
    errors: &mut Vec<ConfigError>,
) {
    if let Some(max) = options.max_tokens
        && max < MIN_TOKENS
    {
        errors.push(pipeline.error_at(
            "preprocess.text.max_tokens",
            format!(
                "`max_tokens` must be at least {MIN_TOKENS} (two special tokens and one of the text), got {max}"
            ),
        ));
    }
}

/// Checks the `[preprocess.text]` options of a dataset read by the layout `name`, which gives the
/// texts themselves.
pub(super) fn check_layout_options(
    pipeline: &Pipeline,
    name: &str,
    options: Option<&TextOptions>,
    errors: &mut Vec<ConfigError>,
) {
    if input_is_file(options) {
        errors.push(pipeline.error_at(
            "preprocess.text.source",
            format!("the `{name}` layout gives the texts themselves: use `source = \"column\"`"),
        ));
    }
}

/// Whether the samples name UTF-8 files (`source = "file"`) rather than being the texts.
pub(super) fn input_is_file(options: Option<&TextOptions>) -> bool {
    options.is_some_and(|t| t.source == TextSource::File)
}

/// Checks that a text sample's file is UTF-8 and not blank.
pub(super) fn probe(path: &Path) -> Result<(), String> {
    let text = read_text_file(path)?;
    if text.trim().is_empty() {
        return Err("empty or whitespace-only text".to_owned());
    }
    Ok(())
}

/// Reads a text sample's file as UTF-8.
fn read_text_file(path: &Path) -> Result<String, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read file: {e}"))?;
    String::from_utf8(bytes).map_err(|e| format!("not UTF-8 text: {e}"))
}

/// The checked `[preprocess.text]` options.
pub(crate) struct TextConfig {
    options: TextOptions,
}

impl TextConfig {
    /// Checks `max_tokens` against the backbone's maximum.
    pub(crate) fn from_pipeline(
        pipeline: &Pipeline,
        options: Option<&TextOptions>,
        entry: Option<&RegistryEntry>,
        errors: &mut Vec<ConfigError>,
    ) -> Self {
        let options = options.cloned().unwrap_or_default();
        let model_max = entry
            .and_then(|e| nona_backbones::text::registered_config(e.name))
            .map(|c| c.max_tokens);
        if let (Some(max), Some(model_max)) = (options.max_tokens, model_max)
            && max > model_max
        {
            errors.push(pipeline.error_at(
                "preprocess.text.max_tokens",
                format!(
                    "`max_tokens` = {max} exceeds the {model_max} tokens backbone `{}` reads",
                    entry.map_or("", |e| e.name)
                ),
            ));
        }
        Self { options }
    }

    /// Loads the tokenizer, truncating to `max_tokens` or the backbone's maximum.
    pub(super) fn inputs(
        &self,
        tokenizer: &ResolvedTokenizer,
        spec: &InputSpec,
        manifest: &Path,
    ) -> anyhow::Result<TextInputs> {
        let InputSpec::Text { max_tokens, .. } = spec else {
            anyhow::bail!("the backbone does not read text ({spec:?})");
        };
        let max_length = self
            .options
            .max_tokens
            .unwrap_or(*max_tokens)
            .min(*max_tokens);
        let loaded = match tokenizer.format {
            TokenizerFormat::Json => TextTokenizer::from_file(&tokenizer.path, max_length),
            TokenizerFormat::Vocab => {
                TextTokenizer::from_vocab(&tokenizer.path, tokenizer.lowercase, max_length)
            }
        }?;
        Ok(TextInputs {
            tokenizer: loaded,
            source: self.options.source,
            manifest: manifest.to_owned(),
        })
    }
}

/// Tokenises texts and pads batches of similar length.
pub(crate) struct TextInputs {
    tokenizer: TextTokenizer,
    source: TextSource,
    manifest: PathBuf,
}

impl TextInputs {
    /// The text options in effect, for the `nona.preprocess` metadata.
    pub(super) fn json(&self) -> String {
        json!({
            "source": self.source,
            "max_tokens": self.tokenizer.max_length(),
        })
        .to_string()
    }

    fn encode(&self, sample: &Sample) -> Result<Encoded, String> {
        let text = match self.source {
            TextSource::Column => std::borrow::Cow::Borrowed(sample.input.as_str()),
            TextSource::File => read_text_file(Path::new(&sample.input))?.into(),
        };
        self.tokenizer.encode(&text).map_err(|e| e.to_string())
    }
}

impl Prepare for TextInputs {
    type Item = Encoded;

    /// Tokenising is cheap next to the encoder: the whole unit at once, so that its texts can be
    /// sorted by length before batching.
    fn window(&self, _batch_size: usize, unit_len: usize) -> usize {
        unit_len
    }

    fn prepare(
        &self,
        samples: &[Sample],
        pool: &rayon::ThreadPool,
    ) -> Vec<Result<Encoded, String>> {
        pool.install(|| samples.par_iter().map(|s| self.encode(s)).collect())
    }

    fn batches(&self, items: &[&Encoded], batch_size: usize) -> Vec<Vec<usize>> {
        let lengths: Vec<usize> = items.iter().map(|e| e.len()).collect();
        plan_batches(&lengths, batch_size, items.len())
    }

    fn input(&self, items: &[&Encoded], device: &Device) -> anyhow::Result<BackboneInput> {
        let rows: Vec<(usize, &Encoded)> = items.iter().copied().enumerate().collect();
        let batch = TokenBatch::collate(&rows, self.tokenizer.pad_id());
        let (input_ids, attention_mask, token_type_ids) = batch.tensors(device)?;
        Ok(BackboneInput::Tokens {
            input_ids,
            attention_mask,
            token_type_ids: Some(token_type_ids),
        })
    }

    /// A text from the manifest is named by its row there (`manifest:row N`).
    fn source(&self, sample: &Sample) -> String {
        match self.source {
            TextSource::Column => format!("{}:row {}", self.manifest.display(), sample.source_row),
            TextSource::File => sample.input.clone(),
        }
    }
}
