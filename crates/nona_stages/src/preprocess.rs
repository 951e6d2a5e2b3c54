//! The `preprocess` stage: reads the manifest, checks every sample, and writes the `samples`
//! table (id, input, label, group, source_row).
//!
//! It also carries the per-modality options (`[preprocess.image]`, `[preprocess.text]`,
//! `[preprocess.audio]`); those are applied on the fly by the `embed` stage as it streams samples
//! into the backbone, so large decoded tensors are never written to disk. They are part of this
//! stage's fingerprint, hence of `embed`'s.
//!
//! Checks per modality: image files must exist and have a decodable header; audio files must
//! exist, be non-empty and have a container and codec this build decodes (headers only: a
//! truncated stream fails later, in `embed`); texts must not be blank (`source = "column"`), or
//! the named `.txt` file must be readable UTF-8 and not blank (`source = "file"`). A sample file
//! must be inside the dataset root ([`SampleRoot`]) unless `[dataset] allow_outside_root`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use arrow::array::{Float64Array, Int64Array, StringArray};
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use nona_datasets::{DatasetConfig, Layout, Modality, SampleRoot};
use nona_pipeline::config::{ConfigError, Pipeline, did_you_mean};
use nona_pipeline::{Plan, RowError, Stage, StageContext, UnitOutput, fingerprint};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::common::{OnError, default_shard_rows};

/// The `[preprocess]` section.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PreprocessConfig {
    /// What to do with a sample that cannot be used.
    #[serde(default)]
    pub on_error: OnError,
    /// Manifest rows per work unit and per Parquet part.
    #[serde(default = "default_shard_rows")]
    pub shard_rows: usize,
    /// Image transforms (`[preprocess.image]`), for image datasets.
    #[serde(default)]
    pub image: Option<ImageOptions>,
    /// Where texts come from and how long they may be (`[preprocess.text]`), for text datasets.
    #[serde(default)]
    pub text: Option<TextOptions>,
    /// How clips become backbone input (`[preprocess.audio]`), for audio datasets.
    #[serde(default)]
    pub audio: Option<AudioOptions>,
}

impl Default for PreprocessConfig {
    fn default() -> Self {
        Self {
            on_error: OnError::default(),
            shard_rows: default_shard_rows(),
            image: None,
            text: None,
            audio: None,
        }
    }
}

/// `[preprocess.text]`: where the text of a sample is and how much of it the backbone reads.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TextOptions {
    /// `column`: the input column holds the text; `file`: it names a UTF-8 text file (relative to
    /// `dataset.root`, through `input_template` when set).
    #[serde(default)]
    pub source: TextSource,
    /// Truncate every text to this many tokens, special tokens included (default: the
    /// backbone's maximum, e.g. 512 for BERT, 256 for MiniLM).
    #[serde(default)]
    pub max_tokens: Option<usize>,
}

/// Where a text sample's text is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TextSource {
    /// In the manifest's input column.
    #[default]
    Column,
    /// In a file the input column names.
    File,
}

/// `[preprocess.audio]`: decode → mono → resample to the backbone's rate (16 kHz) → optional
/// denoise → fixed-length window.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AudioOptions {
    /// Window length in seconds: longer clips are trimmed, shorter ones zero-padded (or rejected,
    /// see `short`). Default: the backbone's window (30 s for Whisper), else the whole clip.
    #[serde(default)]
    pub duration_s: Option<f64>,
    /// Where the window sits in a longer clip: `start` or `center`.
    #[serde(default)]
    pub anchor: AudioAnchor,
    /// Clips shorter than `duration_s`: `pad` with zeros, or `error` (an errors-table row).
    #[serde(default)]
    pub short: ShortClips,
    /// Stationary spectral gating as the `noisereduce` package (noise profile from the clip).
    #[serde(default)]
    pub denoise: bool,
    /// Silent clips (peak amplitude at most `silence_threshold`): `keep` them, or `error`.
    #[serde(default)]
    pub silence: SilentClips,
    /// Peak amplitude (full scale 1.0) at or below which a clip counts as silent.
    #[serde(default = "default_silence_threshold")]
    pub silence_threshold: f32,
}

impl Default for AudioOptions {
    fn default() -> Self {
        Self {
            duration_s: None,
            anchor: AudioAnchor::default(),
            short: ShortClips::default(),
            denoise: false,
            silence: SilentClips::default(),
            silence_threshold: default_silence_threshold(),
        }
    }
}

fn default_silence_threshold() -> f32 {
    1e-4
}

/// Where a window is taken from a clip longer than it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AudioAnchor {
    /// The first samples.
    #[default]
    Start,
    /// The middle samples.
    Center,
}

/// What to do with a clip shorter than the window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ShortClips {
    /// Zero-pad it at the end.
    #[default]
    Pad,
    /// Record it in the errors table.
    Error,
}

/// What to do with a silent clip.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SilentClips {
    /// Embed it like any other.
    #[default]
    Keep,
    /// Record it in the errors table.
    Error,
}

impl AudioOptions {
    /// How `nona_audio` loads a clip for a backbone reading `sample_rate` Hz with its own window
    /// of `backbone_window` samples (`None`: any length).
    pub fn load_options(
        &self,
        sample_rate: u32,
        backbone_window: Option<usize>,
    ) -> nona_audio::LoadOptions {
        let mut options = nona_audio::LoadOptions::new(sample_rate);
        options.window = match self.duration_s {
            Some(seconds) => Some((seconds * f64::from(sample_rate)).round() as usize),
            None => backbone_window,
        };
        options.anchor = match self.anchor {
            AudioAnchor::Start => nona_audio::WindowAnchor::Start,
            AudioAnchor::Center => nona_audio::WindowAnchor::Center,
        };
        options.short = match self.short {
            ShortClips::Pad => nona_audio::ShortPolicy::Pad,
            ShortClips::Error => nona_audio::ShortPolicy::Error,
        };
        options.reject_silence_below =
            (self.silence == SilentClips::Error).then_some(self.silence_threshold);
        options.denoise = self.denoise.then(nona_audio::DenoiseParams::default);
        options
    }

    /// Problems with the values, as (key under `preprocess.audio`, message).
    fn problems(&self) -> Vec<(&'static str, String)> {
        let mut problems = Vec::new();
        if let Some(seconds) = self.duration_s
            && !(seconds.is_finite() && seconds > 0.0)
        {
            problems.push((
                "duration_s",
                format!("`duration_s` must be a positive number of seconds, got {seconds}"),
            ));
        }
        if !(self.silence_threshold.is_finite() && self.silence_threshold >= 0.0) {
            problems.push((
                "silence_threshold",
                format!(
                    "`silence_threshold` must be a peak amplitude >= 0 (full scale 1.0), got {}",
                    self.silence_threshold
                ),
            ));
        }
        if self.duration_s.is_none() && self.short == ShortClips::Error {
            problems.push((
                "short",
                "`short = \"error\"` needs a `duration_s` to compare clips with".to_owned(),
            ));
        }
        problems
    }
}

/// The fewest tokens a text can be truncated to: `[CLS]`, one token, `[SEP]`.
pub const MIN_TOKENS: usize = 3;

/// `[preprocess.image]`: how images become backbone input.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ImageOptions {
    /// `rgb` (grayscale replicated to 3 channels) or `gray`.
    #[serde(default)]
    pub channels: Channels,
    /// Applied in order, e.g. `[{ resize = 256 }, { center_crop = 224 }, { normalize = "imagenet" }]`.
    #[serde(default)]
    pub transforms: Vec<Transform>,
}

/// Colour channels fed to the backbone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Channels {
    /// Three channels; grayscale is replicated.
    #[default]
    Rgb,
    /// One channel.
    Gray,
}

/// One image transform.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Transform {
    /// `N`: shorter side to N keeping the aspect ratio; `[h, w]`: exact size. Bilinear with
    /// antialiasing, as PIL/torchvision.
    Resize(Size),
    /// `N` or `[h, w]`, taken from the centre.
    CenterCrop(Size),
    /// `"imagenet"`, `"half"` (mean = std = 0.5) or `{ mean = [...], std = [...] }`.
    Normalize(Normalize),
}

/// A size: one number or `[height, width]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum Size {
    /// One side.
    Side(u32),
    /// Height and width.
    Exact([u32; 2]),
}

/// Per-channel normalisation.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum Normalize {
    /// A named preset.
    Preset(NormalizePreset),
    /// Explicit values, one per channel.
    Custom {
        /// Per-channel mean.
        mean: Vec<f32>,
        /// Per-channel standard deviation.
        std: Vec<f32>,
    },
}

/// Named normalisations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NormalizePreset {
    /// ImageNet mean (0.485, 0.456, 0.406) and std (0.229, 0.224, 0.225).
    Imagenet,
    /// mean = std = 0.5, as the paper uses for RSNA.
    Half,
}

impl ImageOptions {
    /// The transforms as `nona_image` runs them.
    pub fn to_image_transforms(&self) -> Vec<nona_image::Transform> {
        let pair = |size: &Size| match *size {
            Size::Side(side) => (side as usize, side as usize),
            Size::Exact([h, w]) => (h as usize, w as usize),
        };
        self.transforms
            .iter()
            .map(|transform| match transform {
                Transform::Resize(Size::Side(side)) => {
                    nona_image::Transform::Resize(nona_image::Resize::ShorterSide(*side as usize))
                }
                Transform::Resize(size) => {
                    let (height, width) = pair(size);
                    nona_image::Transform::Resize(nona_image::Resize::Exact { height, width })
                }
                Transform::CenterCrop(size) => {
                    let (height, width) = pair(size);
                    nona_image::Transform::CenterCrop { height, width }
                }
                Transform::Normalize(normalize) => {
                    nona_image::Transform::Normalize(match normalize {
                        Normalize::Preset(NormalizePreset::Imagenet) => {
                            nona_image::Normalize::imagenet()
                        }
                        Normalize::Preset(NormalizePreset::Half) => nona_image::Normalize::half(),
                        Normalize::Custom { mean, std } => nona_image::Normalize {
                            mean: mean.clone(),
                            std: std.clone(),
                        },
                    })
                }
            })
            .collect()
    }

    /// Whether every image leaves the transforms with the same size (needed for batching).
    pub fn has_fixed_size(&self) -> bool {
        self.transforms.iter().rev().find_map(|t| match t {
            Transform::Resize(Size::Exact(_)) | Transform::CenterCrop(_) => Some(true),
            Transform::Resize(Size::Side(_)) => Some(false),
            Transform::Normalize(_) => None,
        }) == Some(true)
    }

    fn channels(&self) -> nona_image::Channels {
        match self.channels {
            Channels::Rgb => nona_image::Channels::Rgb,
            Channels::Gray => nona_image::Channels::Gray,
        }
    }
}

/// The preprocess stage.
pub struct PreprocessStage {
    config: PreprocessConfig,
    dataset: DatasetConfig,
    manifest: PathBuf,
    /// The adapter of `dataset.layout`; `None`: a plain manifest.
    layout: Option<&'static dyn Layout>,
    /// Where sample files may be (the root; with a layout, also the files it derives).
    sample_root: SampleRoot,
    rows: Vec<ManifestRow>,
}

#[derive(Debug, Clone)]
struct ManifestRow {
    id: Option<String>,
    input: Option<String>,
    label: Option<String>,
    group: Option<String>,
    origin: String,
    /// Line/row of an earlier row with the same id.
    duplicate_of: Option<String>,
    /// Why a layout adapter could not use the row.
    problem: Option<String>,
}

impl PreprocessStage {
    /// Reads and checks `[preprocess]` (and the dataset it reads); `None` if absent.
    pub fn from_pipeline(pipeline: &Pipeline) -> Result<Option<Self>, Vec<ConfigError>> {
        let config = match pipeline.section::<PreprocessConfig>("preprocess") {
            Ok(Some(config)) => config,
            Ok(None) => return Ok(None),
            Err(error) => return Err(vec![error]),
        };
        let mut errors = Vec::new();
        if config.shard_rows == 0 {
            errors.push(
                pipeline.error_at("preprocess.shard_rows", "`shard_rows` must be at least 1"),
            );
        }
        let dataset = &crate::dataset::require(pipeline, "preprocess").map_err(|e| vec![e])?;
        if config.image.is_some() && dataset.modality != Modality::Image {
            errors.push(pipeline.error_at(
                "preprocess.image",
                format!(
                    "`[preprocess.image]` is for image datasets, but `dataset.modality` is {:?}",
                    dataset.modality
                ),
            ));
        }
        for (key, present, wanted) in [
            ("text", config.text.is_some(), Modality::Text),
            ("audio", config.audio.is_some(), Modality::Audio),
        ] {
            if present && dataset.modality != wanted {
                errors.push(pipeline.error_at(
                    &format!("preprocess.{key}"),
                    format!(
                        "`[preprocess.{key}]` is for {key} datasets, but `dataset.modality` is {:?}",
                        dataset.modality
                    ),
                ));
            }
        }
        if let Some(max) = config.text.as_ref().and_then(|t| t.max_tokens)
            && max < MIN_TOKENS
        {
            errors.push(pipeline.error_at(
                "preprocess.text.max_tokens",
                format!(
                    "`max_tokens` must be at least {MIN_TOKENS} (two special tokens and one of the text), got {max}"
                ),
            ));
        }
        for (key, message) in config.audio.iter().flat_map(AudioOptions::problems) {
            errors.push(pipeline.error_at(&format!("preprocess.audio.{key}"), message));
        }
        let invalid = config.image.as_ref().and_then(|image| {
            nona_image::Preprocessor::new(image.channels(), image.to_image_transforms()).err()
        });
        if let Some(error) = invalid {
            errors.push(pipeline.error_at("preprocess.image.transforms", error.to_string()));
        }
        let layout = check_layout(pipeline, dataset, config.text.as_ref());
        let layout_ok = layout.is_ok();
        let layout = layout.unwrap_or_else(|mut problems| {
            errors.append(&mut problems);
            None
        });
        if !dataset.root.is_dir() {
            errors.push(pipeline.error_at(
                "dataset.root",
                format!("dataset root {} is not a directory", dataset.root.display()),
            ));
        } else if !dataset.manifest_path().exists() {
            errors.push(pipeline.error_at(
                "dataset.manifest",
                format!(
                    "manifest {} does not exist",
                    dataset.manifest_path().display()
                ),
            ));
        } else if let Some(layout) = layout {
            if let Err(error) = layout.check(&dataset.layout_source(None)) {
                errors.push(pipeline.error_at(
                    "dataset.manifest",
                    format!("not the `{}` layout: {error}", layout.name()),
                ));
            }
        } else if layout_ok
            && let Err(error) = nona_table::read_manifest_columns(
                &dataset.manifest_path(),
                &dataset.manifest_columns(),
            )
        {
            errors.push(pipeline.error_at("dataset.manifest", error.to_string()));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Some(Self {
            config,
            dataset: dataset.clone(),
            manifest: dataset.manifest_path(),
            layout,
            sample_root: dataset.sample_root(),
            rows: Vec::new(),
        }))
    }

    fn check_row(&self, row: &ManifestRow) -> Result<(String, String, f64), RowError> {
        let source = format!("{}:{}", self.manifest.display(), row.origin);
        let fail = |message: String| RowError {
            id: row.id.clone(),
            source: source.clone(),
            message,
        };
        let dataset = &self.dataset;
        if let Some(problem) = &row.problem {
            return Err(fail(problem.clone()));
        }
        // A layout's fields have fixed meanings; a plain manifest's are the configured columns.
        let field = |what: &str, column: &str| match self.layout {
            Some(layout) => format!("the `{}` layout's {what}", layout.name()),
            None => format!("column `{column}`"),
        };
        let label_field = field("label", &dataset.label_column);
        let input_field = field("input", &dataset.input_column);
        let id = row
            .id
            .clone()
            .ok_or_else(|| fail(format!("empty id ({})", field("id", &dataset.id_column))))?;
        if let Some(first) = &row.duplicate_of {
            return Err(fail(format!("duplicate id `{id}` (first seen at {first})")));
        }
        let label_text = row
            .label
            .as_deref()
            .ok_or_else(|| fail(format!("missing label ({label_field})")))?;
        let mut label = label_text
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| {
                fail(format!(
                    "label `{label_text}` ({label_field}) is not a finite number"
                ))
            })?;
        if let Some(transform) = dataset.label_transform {
            label = transform
                .apply(label)
                .map_err(|message| fail(format!("{message} ({label_field})")))?;
        }
        let raw = row
            .input
            .as_deref()
            .ok_or_else(|| fail(format!("empty input ({input_field})")))?;
        let text_source = self
            .config
            .text
            .as_ref()
            .map(|t| t.source)
            .unwrap_or_default();
        let input = match (self.dataset.modality, text_source) {
            (Modality::Text, TextSource::Column) => {
                if raw.trim().is_empty() {
                    return Err(fail(format!(
                        "empty or whitespace-only text ({input_field})"
                    )));
                }
                raw.to_owned()
            }
            (Modality::Text, TextSource::File) | (Modality::Image | Modality::Audio, _) => {
                let relative = match &dataset.input_template {
                    Some(template) if self.layout.is_none() => template.replace("{}", raw),
                    _ => raw.to_owned(),
                };
                let path = self.sample_root.sample_path(&relative).map_err(fail)?;
                probe_file(&path, self.dataset.modality).map_err(|message| RowError {
                    id: row.id.clone(),
                    source: path.display().to_string(),
                    message: match same_stem(&path) {
                        Some(other) => format!(
                            "{message}; {other} is there: a file in another format (convert it, see README \"Datasets of the paper\") or another `input_template` extension?"
                        ),
                        None => message,
                    },
                })?;
                path.display().to_string()
            }
        };
        Ok((id, input, label))
    }
}

/// Checks that a sample file exists and is not empty; for images, that its header decodes to a
/// non-empty image; for audio, that its container and codec can be decoded; for text, that it is
/// UTF-8 and not blank.
fn probe_file(path: &Path, modality: Modality) -> Result<(), String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read file: {e}"))?;
    if !meta.is_file() {
        return Err("not a regular file".to_owned());
    }
    if meta.len() == 0 {
        return Err("file is empty (0 bytes)".to_owned());
    }
    if modality == Modality::Image {
        let (width, height) = image::ImageReader::open(path)
            .and_then(|r| r.with_guessed_format())
            .map_err(|e| format!("cannot open image: {e}"))?
            .into_dimensions()
            .map_err(|e| format!("not a decodable image: {e}"))?;
        if width == 0 || height == 0 {
            return Err(format!("image has zero size ({width}×{height})"));
        }
    }
    if modality == Modality::Audio {
        nona_audio::probe_file(path).map_err(|e| audio_message(&e, path))?;
    }
    if modality == Modality::Text {
        let text = read_text_file(path)?;
        if text.trim().is_empty() {
            return Err("empty or whitespace-only text".to_owned());
        }
    }
    Ok(())
}

/// For a missing file, the name of one beside it with the same stem (`<uuid>.webm` for a missing
/// `<uuid>.wav`), if any.
fn same_stem(path: &Path) -> Option<String> {
    if path.exists() {
        return None;
    }
    // A few stat calls, not a directory listing: a folder may hold tens of thousands of samples.
    const EXTENSIONS: [&str; 14] = [
        "webm", "ogg", "opus", "wav", "flac", "mp3", "m4a", "png", "jpg", "jpeg", "bmp", "tif",
        "tiff", "txt",
    ];
    EXTENSIONS
        .iter()
        .map(|extension| path.with_extension(extension))
        .find(|other| other.is_file())
        .and_then(|other| Some(other.file_name()?.to_string_lossy().into_owned()))
}

/// Reads a text sample's file as UTF-8.
pub(crate) fn read_text_file(path: &Path) -> Result<String, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read file: {e}"))?;
    String::from_utf8(bytes).map_err(|e| format!("not UTF-8 text: {e}"))
}

/// An audio error's message without the leading `path: ` (the errors table has the path in its
/// `source` column).
pub(crate) fn audio_message(error: &nona_audio::AudioError, path: &Path) -> String {
    let text = error.to_string();
    text.strip_prefix(&format!("{}: ", path.display()))
        .map_or_else(|| text.clone(), str::to_owned)
}

/// The adapter `dataset.layout` names (`None`: a plain manifest), checked against the modality,
/// the text source and the column keys, which a layout does not read.
fn check_layout(
    pipeline: &Pipeline,
    dataset: &DatasetConfig,
    text: Option<&TextOptions>,
) -> Result<Option<&'static dyn Layout>, Vec<ConfigError>> {
    let Some(name) = &dataset.layout else {
        return Ok(None);
    };
    let Some(layout) = nona_datasets::layout(name) else {
        let names = nona_datasets::layouts().iter().map(|l| l.name());
        let hint = did_you_mean(name, names.clone())
            .map(|s| format!("; did you mean `{s}`?"))
            .unwrap_or_default();
        let all: Vec<String> = names.map(|n| format!("`{n}`")).collect();
        return Err(vec![pipeline.error_at(
            "dataset.layout",
            format!(
                "unknown layout `{name}`{hint} (known: {}; leave `layout` out for a plain CSV/Parquet manifest)",
                all.join(", ")
            ),
        )]);
    };
    let mut errors = Vec::new();
    let modality = layout.modality();
    if dataset.modality != modality {
        errors.push(pipeline.error_at(
            "dataset.modality",
            format!(
                "the `{name}` layout holds {} samples, but `dataset.modality` is {:?}",
                format!("{modality:?}").to_lowercase(),
                dataset.modality
            ),
        ));
    }
    if modality == Modality::Text && text.is_some_and(|t| t.source == TextSource::File) {
        errors.push(pipeline.error_at(
            "preprocess.text.source",
            format!("the `{name}` layout gives the texts themselves: use `source = \"column\"`"),
        ));
    }
    for key in [
        "id_column",
        "input_column",
        "input_template",
        "label_column",
        "group_column",
    ] {
        if pipeline.is_set(&format!("dataset.{key}")) {
            errors.push(pipeline.error_at(
                &format!("dataset.{key}"),
                format!(
                    "`{key}` is for plain manifests; the `{name}` layout knows its own fields (see README \"Datasets of the paper\")"
                ),
            ));
        }
    }
    if errors.is_empty() {
        Ok(Some(layout))
    } else {
        Err(errors)
    }
}

impl Stage for PreprocessStage {
    fn name(&self) -> &'static str {
        "preprocess"
    }

    fn depends_on(&self) -> &'static [&'static str] {
        &[]
    }

    /// 2: sample files outside the dataset root, ragged or non-UTF-8 CSV lines are errors-table
    /// rows, and CSV lines are numbered right after `\r\n` endings.
    fn version(&self) -> u32 {
        2
    }

    fn fingerprint_inputs(&mut self, _pipeline: &Pipeline) -> anyhow::Result<serde_json::Value> {
        let digest = fingerprint::of_file(&self.manifest)
            .with_context(|| format!("reading {}", self.manifest.display()))?;
        Ok(json!({
            "preprocess": self.config,
            "dataset": self.dataset,
            "manifest_sha256": digest,
        }))
    }

    fn fail_on_error(&self) -> bool {
        self.config.on_error == OnError::Fail
    }

    fn schema(&self) -> SchemaRef {
        nona_table::schemas::samples()
    }

    fn metadata(&self) -> nona_table::Metadata {
        let mut metadata = nona_table::Metadata::new();
        metadata.insert(
            "nona.modality".to_owned(),
            format!("{:?}", self.dataset.modality).to_lowercase(),
        );
        metadata.insert(
            "nona.manifest".to_owned(),
            self.manifest.display().to_string(),
        );
        metadata.insert(
            "nona.preprocess".to_owned(),
            serde_json::to_string(&self.config).unwrap_or_default(),
        );
        metadata
    }

    fn plan(&mut self, ctx: &StageContext) -> anyhow::Result<Plan> {
        let rows = match self.layout {
            Some(layout) => {
                // Absolute, since sample paths are joined to the dataset root.
                let files = std::path::absolute(ctx.dir_path().join("files"))?;
                self.sample_root = self.sample_root.clone().also_allow(&files);
                let source = self.dataset.layout_source(Some(files));
                layout.read(&source)?
            }
            None => {
                let names = self.dataset.manifest_columns();
                let table = nona_table::read_manifest_columns(&self.manifest, &names)?;
                let group_index = self.dataset.group_column.as_ref().map(|_| 3);
                (0..table.row_origin.len())
                    .map(|r| nona_datasets::Row {
                        id: table.columns[0][r].clone(),
                        input: table.columns[1][r].clone(),
                        label: table.columns[2][r].clone(),
                        group: group_index.and_then(|g| table.columns[g][r].clone()),
                        origin: table.row_origin[r].clone(),
                        problem: table.row_problem[r].clone(),
                    })
                    .collect()
            }
        };
        let mut first_seen: HashMap<String, String> = HashMap::new();
        self.rows = rows
            .into_iter()
            .map(|row| {
                let duplicate_of = row.id.as_ref().and_then(|id| match first_seen.get(id) {
                    Some(first) => Some(first.clone()),
                    None => {
                        first_seen.insert(id.clone(), row.origin.clone());
                        None
                    }
                });
                ManifestRow {
                    id: row.id,
                    input: row.input,
                    label: row.label,
                    group: row.group,
                    origin: row.origin,
                    duplicate_of,
                    problem: row.problem,
                }
            })
            .collect();
        let chunk = self.config.shard_rows as u64;
        let total = self.rows.len() as u64;
        let units = total.div_ceil(chunk).max(1);
        Ok(Plan {
            unit_items: (0..units)
                .map(|u| chunk.min(total - (u * chunk).min(total)))
                .collect(),
        })
    }

    fn run_unit(&self, ctx: &StageContext, unit: usize) -> anyhow::Result<UnitOutput> {
        let start = unit * self.config.shard_rows;
        let end = (start + self.config.shard_rows).min(self.rows.len());
        let rows = &self.rows[start.min(end)..end];
        let checked: Vec<_> = rows.par_iter().map(|row| self.check_row(row)).collect();
        ctx.progress.advance(rows.len() as u64);
        let mut ids = Vec::new();
        let mut inputs = Vec::new();
        let mut labels = Vec::new();
        let mut groups = Vec::new();
        let mut source_rows = Vec::new();
        let mut errors = Vec::new();
        for (offset, (row, result)) in rows.iter().zip(checked).enumerate() {
            match result {
                Ok((id, input, label)) => {
                    ids.push(id);
                    inputs.push(input);
                    labels.push(label);
                    groups.push(row.group.clone());
                    source_rows.push((start + offset) as i64);
                }
                Err(error) => errors.push(error),
            }
        }
        let batch = RecordBatch::try_new(
            self.schema(),
            vec![
                Arc::new(StringArray::from(ids)),
                Arc::new(StringArray::from(inputs)),
                Arc::new(Float64Array::from(labels)),
                Arc::new(StringArray::from(groups)),
                Arc::new(Int64Array::from(source_rows)),
            ],
        )?;
        Ok(UnitOutput {
            rows: vec![batch],
            errors,
            ..UnitOutput::default()
        })
    }
}
