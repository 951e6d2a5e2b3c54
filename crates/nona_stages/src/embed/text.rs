//! Text: the input column's text (or the `.txt` file it names) → the backbone's own tokenizer,
//! truncated to the model's maximum (or `max_tokens`) → batches of similar length within a unit.

use std::path::{Path, PathBuf};

use candle_core::Device;
use nona_backbones::registry::RegistryEntry;
use nona_backbones::{BackboneInput, InputSpec, ResolvedTokenizer, TokenizerFormat};
use nona_pipeline::config::{ConfigError, Pipeline};
use nona_text::{Encoded, TextTokenizer, TokenBatch, plan_batches};
use rayon::prelude::*;
use serde_json::json;

use super::{Prepare, Sample, manifest_row};
use crate::preprocess::{PreprocessConfig, TextOptions, TextSource, read_text_file};

/// The checked `[preprocess.text]` options.
pub(super) struct TextConfig {
    options: TextOptions,
}

impl TextConfig {
    /// Checks `max_tokens` against the backbone's maximum.
    pub(super) fn from_pipeline(
        pipeline: &Pipeline,
        preprocess: &PreprocessConfig,
        entry: Option<&RegistryEntry>,
        errors: &mut Vec<ConfigError>,
    ) -> Self {
        let options = preprocess.text.clone().unwrap_or_default();
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
pub(super) struct TextInputs {
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

    fn source(&self, sample: &Sample) -> String {
        match self.source {
            TextSource::Column => manifest_row(&self.manifest, sample.source_row),
            TextSource::File => sample.input.clone(),
        }
    }
}
