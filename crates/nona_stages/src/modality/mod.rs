//! One module per modality, each with its `[preprocess.<modality>]` options and their checks, its
//! probe (what `preprocess` checks in a sample file) and its preparation (how `embed` turns
//! samples into backbone input, a window of them at a time).
//!
//! The stages reach a modality only through this file, which dispatches on [`Modality`]. A new
//! modality is:
//! - a variant of [`Modality`] (`nona_datasets`), and the backbones that read it (an
//!   [`InputKind`] and a [`BackboneInput`] in `nona_backbones`);
//! - a module here: its options type, `check_options`, `probe`, a config built from the options,
//!   and the [`Prepare`] it makes for a built backbone;
//! - here, its field and key in [`ModalityOptions`], and an arm or row in [`input_kind`],
//!   [`input_is_file`], [`check_options`], [`check_layout_options`], [`probe_file`],
//!   [`ModalityConfig`], [`Inputs`] and their methods.
//!
//! Nothing in the `preprocess` and `embed` stages changes.

pub(crate) mod audio;
pub(crate) mod image;
pub(crate) mod text;

use std::path::Path;

use anyhow::anyhow;
use candle_core::{Device, Tensor};
use nona_backbones::registry::RegistryEntry;
use nona_backbones::{BackboneInput, InputKind, InputSpec, ResolvedTokenizer};
use nona_datasets::Modality;
use nona_pipeline::config::{ConfigError, Pipeline};

use serde::Serialize;
use serde::de::MapAccess;

use audio::AudioOptions;
use image::ImageOptions;
use text::TextOptions;

/// One row of the `samples` table, as `embed` reads it.
#[derive(Debug, Clone)]
pub(crate) struct Sample {
    pub(crate) id: String,
    /// A file path, or the text itself (text with `source = "column"`).
    pub(crate) input: String,
    pub(crate) label: f64,
    pub(crate) group: Option<String>,
    pub(crate) source_row: i64,
}

/// The modalities' tables in `[preprocess]`, each for datasets of its modality.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub(crate) struct ModalityOptions {
    /// Image transforms (`[preprocess.image]`).
    image: Option<ImageOptions>,
    /// Where texts come from and how long they may be (`[preprocess.text]`).
    text: Option<TextOptions>,
    /// How clips become backbone input (`[preprocess.audio]`).
    audio: Option<AudioOptions>,
}

impl ModalityOptions {
    /// Their keys in `[preprocess]`.
    pub(crate) const KEYS: [&'static str; 3] = ["image", "text", "audio"];

    /// Reads the table of `key` from `map`; `false` when `key` is no modality's.
    pub(crate) fn read_value<'de, A: MapAccess<'de>>(
        &mut self,
        key: &str,
        map: &mut A,
    ) -> Result<bool, A::Error> {
        match key {
            "image" => self.image = map.next_value()?,
            "text" => self.text = map.next_value()?,
            "audio" => self.audio = map.next_value()?,
            _ => return Ok(false),
        }
        Ok(true)
    }
}

/// What a backbone must read to embed samples of `modality`.
pub(crate) fn input_kind(modality: Modality) -> InputKind {
    match modality {
        Modality::Image => InputKind::Image,
        Modality::Text => InputKind::Text,
        Modality::Audio => InputKind::Audio,
    }
}

/// Whether a sample's input names a file (images, audio, texts with `source = "file"`) rather
/// than being the text itself.
pub(crate) fn input_is_file(modality: Modality, options: &ModalityOptions) -> bool {
    match modality {
        Modality::Image | Modality::Audio => true,
        Modality::Text => text::input_is_file(options.text.as_ref()),
    }
}

/// Checks the `[preprocess.<modality>]` options of a `modality` dataset, for the preprocess
/// stage: options for another modality are errors, then each module checks its own values.
pub(crate) fn check_options(
    pipeline: &Pipeline,
    options: &ModalityOptions,
    modality: Modality,
    errors: &mut Vec<ConfigError>,
) {
    for (key, present, wanted) in [
        ("image", options.image.is_some(), Modality::Image),
        ("text", options.text.is_some(), Modality::Text),
        ("audio", options.audio.is_some(), Modality::Audio),
    ] {
        if present && modality != wanted {
            errors.push(pipeline.error_at(
                &format!("preprocess.{key}"),
                format!(
                    "`[preprocess.{key}]` is for {key} datasets, but `dataset.modality` is {modality:?}"
                ),
            ));
        }
    }
    if let Some(text) = &options.text {
        text::check_options(pipeline, text, errors);
    }
    if let Some(audio) = &options.audio {
        audio::check_options(pipeline, audio, errors);
    }
    if let Some(image) = &options.image {
        image::check_options(pipeline, image, errors);
    }
}

/// Checks the options of a `modality` dataset read by the layout `name`, which gives each
/// sample's input in its own form (a text layout: the texts themselves).
pub(crate) fn check_layout_options(
    pipeline: &Pipeline,
    name: &str,
    modality: Modality,
    options: &ModalityOptions,
    errors: &mut Vec<ConfigError>,
) {
    match modality {
        Modality::Text => text::check_layout_options(pipeline, name, options.text.as_ref(), errors),
        Modality::Image | Modality::Audio => {}
    }
}

/// Checks that a sample file exists, is a non-empty regular file, and that `modality` can read
/// it (see each modality's `probe`).
pub(crate) fn probe_file(path: &Path, modality: Modality) -> Result<(), String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read file: {e}"))?;
    if !meta.is_file() {
        return Err("not a regular file".to_owned());
    }
    if meta.len() == 0 {
        return Err("file is empty (0 bytes)".to_owned());
    }
    match modality {
        Modality::Image => image::probe(path),
        Modality::Text => text::probe(path),
        Modality::Audio => audio::probe(path),
    }
}

/// The modality's options as `embed` checked them when the pipeline was read.
pub(crate) enum ModalityConfig {
    Image(image::ImageConfig),
    Text(text::TextConfig),
    Audio(audio::AudioConfig),
}

impl ModalityConfig {
    /// Checks the `[preprocess]` options of a `modality` dataset against the backbone of
    /// `entry`, for the embed stage (without a dataset, as an image one); `None` (with `errors`
    /// filled) when they cannot be used.
    pub(crate) fn from_pipeline(
        pipeline: &Pipeline,
        options: &ModalityOptions,
        modality: Option<Modality>,
        entry: Option<&RegistryEntry>,
        errors: &mut Vec<ConfigError>,
    ) -> Option<Self> {
        match modality.unwrap_or(Modality::Image) {
            Modality::Image => {
                image::ImageConfig::from_pipeline(pipeline, options.image.as_ref(), errors)
                    .map(Self::Image)
            }
            Modality::Text => Some(Self::Text(text::TextConfig::from_pipeline(
                pipeline,
                options.text.as_ref(),
                entry,
                errors,
            ))),
            Modality::Audio => Some(Self::Audio(audio::AudioConfig::new(options.audio.as_ref()))),
        }
    }

    /// The input preparation for the built backbone `name` (which reads `spec`; a text backbone
    /// brings its `tokenizer`). `manifest` names text rows in errors.
    pub(crate) fn inputs(
        &self,
        name: &str,
        spec: &InputSpec,
        tokenizer: Option<&ResolvedTokenizer>,
        manifest: &Path,
    ) -> anyhow::Result<Inputs> {
        Ok(match self {
            Self::Image(image) => Inputs::Image(image.inputs()),
            Self::Text(text) => {
                let tokenizer =
                    tokenizer.ok_or_else(|| anyhow!("text backbone `{name}` has no tokenizer"))?;
                Inputs::Text(Box::new(text.inputs(tokenizer, spec, manifest)?))
            }
            Self::Audio(audio) => Inputs::Audio(audio.inputs(spec)?),
        })
    }
}

/// The modality's input preparation, ready to run.
pub(crate) enum Inputs {
    Image(image::ImageInputs),
    Text(Box<text::TextInputs>),
    Audio(audio::AudioInputs),
}

impl Inputs {
    /// Calls `visitor` with this modality's [`Prepare`].
    pub(crate) fn with<V: WithPrepare>(&self, visitor: V) -> V::Output {
        match self {
            Self::Image(image) => visitor.call(image),
            Self::Text(text) => visitor.call(text.as_ref()),
            Self::Audio(audio) => visitor.call(audio),
        }
    }

    /// The options in effect, as JSON for the `nona.preprocess` metadata.
    pub(crate) fn json(&self) -> String {
        match self {
            Self::Image(image) => image.json(),
            Self::Text(text) => text.json(),
            Self::Audio(audio) => audio.json(),
        }
    }
}

/// Work generic over the modality's [`Prepare`], run by [`Inputs::with`].
pub(crate) trait WithPrepare {
    /// What the work gives back.
    type Output;

    /// Does the work with `prepare`.
    fn call<P: Prepare>(self, prepare: &P) -> Self::Output;
}

/// How one modality turns samples into backbone input.
pub(crate) trait Prepare: Sync {
    /// A prepared sample (decoded image, token ids, audio clip).
    type Item: Send;

    /// How many samples are prepared together, one such window ahead of the backbone.
    fn window(&self, batch_size: usize, unit_len: usize) -> usize;

    /// Prepares `samples` on the decode `pool`: one result per sample, in order; an error is the
    /// message of the sample's errors-table row.
    fn prepare(
        &self,
        samples: &[Sample],
        pool: &rayon::ThreadPool,
    ) -> Vec<Result<Self::Item, String>>;

    /// Groups prepared items (indices into `items`) into backbone batches of at most
    /// `batch_size`; every index appears once.
    fn batches(&self, items: &[&Self::Item], batch_size: usize) -> Vec<Vec<usize>>;

    /// The backbone input of one batch.
    fn input(&self, items: &[&Self::Item], device: &Device) -> anyhow::Result<BackboneInput>;

    /// The errors-table `source` of a sample that failed.
    fn source(&self, sample: &Sample) -> String {
        sample.input.clone()
    }
}

/// Stacks equally sized `f32` rows into one tensor of `shape` (first dimension: the rows).
fn stack_rows(rows: &[&[f32]], shape: &[usize], device: &Device) -> anyhow::Result<Tensor> {
    let mut data = Vec::with_capacity(shape.iter().product());
    for row in rows {
        data.extend_from_slice(row);
    }
    Ok(Tensor::from_vec(data, shape, device)?)
}
