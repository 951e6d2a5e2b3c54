//! The `embed` stage: streams the `samples` table through the modality's input preparation and a
//! pretrained backbone, writing the `embeddings` table (id, label, group, embedding).
//!
//! Per modality ([`Prepare`]): images are decoded and transformed (`image.rs`), texts tokenised
//! with the backbone's own tokenizer and batched by similar length (`text.rs`), audio clips
//! decoded, downmixed, resampled, optionally denoised and windowed (`audio.rs`).
//!
//! Preparation runs on a dedicated rayon pool (candle's matmuls use the global one), one window
//! of samples ahead of the backbone, so memory stays bounded by two windows whatever the dataset
//! size. A sample that fails to prepare becomes an errors-table row; the others are written in
//! the order of the samples table.

mod audio;
mod image;
mod text;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{Context, anyhow};
use arrow::array::{Float64Array, StringArray};
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use candle_core::{Device, Tensor};
use nona_backbones::registry::{RegistryEntry, registry_entry};
use nona_backbones::{
    Backbone, BackboneInput, BuildOptions, DeviceKind, InputKind, PoolingOption, ResolvedTokenizer,
    ResolvedWeights, WeightsLocator, backbone_names,
};
use nona_datasets::SampleRoot;
use nona_pipeline::config::{ConfigError, Modality, Pipeline, did_you_mean};
use nona_pipeline::{Plan, RowError, Stage, StageContext, UnitOutput};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::common::OnError;
use crate::preprocess::{PreprocessConfig, TextSource};

/// `weights = "synthetic"`: deterministic pseudo-random weights, for tests and demos; every output
/// says so.
pub const SYNTHETIC_WEIGHTS: &str = "synthetic";

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
    pub pooling: Option<PoolingName>,
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

/// The poolings a pipeline can name (see [`PoolingOption`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PoolingName {
    /// Text: the `[CLS]` token.
    Cls,
    /// Text: mean over real tokens; audio: mean over the frames that carry audio.
    Mean,
    /// Whisper: mean over all frames of the 30 s window.
    MeanAll,
    /// HuBERT: the first frame.
    First,
}

impl PoolingName {
    fn option(self) -> PoolingOption {
        match self {
            Self::Cls => PoolingOption::Cls,
            Self::Mean => PoolingOption::Mean,
            Self::MeanAll => PoolingOption::MeanAll,
            Self::First => PoolingOption::First,
        }
    }
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

/// Where the backbone's weights come from.
#[derive(Debug, Clone)]
enum WeightsSource {
    Synthetic,
    Locator(WeightsLocator),
}

/// One sample of the `samples` table.
#[derive(Debug, Clone)]
struct Sample {
    id: String,
    input: String,
    label: f64,
    group: Option<String>,
    source_row: i64,
}

/// The modality's options, checked when the pipeline is read.
enum ModalityConfig {
    Image(image::ImageConfig),
    Text(text::TextConfig),
    Audio(audio::AudioConfig),
}

/// The modality's input preparation, ready to run (after the backbone is built).
enum Inputs {
    Image(image::ImageInputs),
    Text(Box<text::TextInputs>),
    Audio(audio::AudioInputs),
}

/// How one modality turns samples into backbone input.
trait Prepare: Sync {
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

/// The embed stage.
pub struct EmbedStage {
    config: EmbedConfig,
    entry: &'static RegistryEntry,
    options: BuildOptions,
    device: DeviceKind,
    weights: WeightsSource,
    tokenizer_file: Option<PathBuf>,
    modality: ModalityConfig,
    manifest: PathBuf,
    /// Where sample files may be read from; `None` when the samples are texts, not files.
    sample_root: Option<SampleRoot>,
    preprocess_json: String,
    resolved: Option<ResolvedWeights>,
    tokenizer: Option<ResolvedTokenizer>,
    state: Option<Loaded>,
}

struct Loaded {
    backbone: Mutex<Box<dyn Backbone>>,
    dim: usize,
    device: Device,
    pool: rayon::ThreadPool,
    samples: Vec<Sample>,
    inputs: Inputs,
    /// Where sample files may be read from (the dataset root and files preprocess derived).
    sample_root: Option<SampleRoot>,
}

impl EmbedStage {
    /// Reads and checks `[embed]` (and the `[preprocess]` options it applies); `None` if absent.
    pub fn from_pipeline(pipeline: &Pipeline) -> Result<Option<Self>, Vec<ConfigError>> {
        let config = match pipeline.section::<EmbedConfig>("embed") {
            Ok(Some(config)) => config,
            Ok(None) => return Ok(None),
            Err(error) => return Err(vec![error]),
        };
        let mut errors = Vec::new();
        let entry = match registry_entry(&config.backbone) {
            Ok(entry) => Some(entry),
            Err(_) => {
                let hint = did_you_mean(&config.backbone, backbone_names())
                    .map(|s| format!("; did you mean `{s}`?"))
                    .unwrap_or_default();
                let known: Vec<&str> = backbone_names().collect();
                errors.push(pipeline.error_at(
                    "embed.backbone",
                    format!(
                        "unknown backbone `{}`{hint} (known: {})",
                        config.backbone,
                        known.join(", ")
                    ),
                ));
                None
            }
        };
        let device = config.device.parse::<DeviceKind>().unwrap_or_else(|e| {
            errors.push(pipeline.error_at("embed.device", e.to_string()));
            DeviceKind::Cpu
        });
        for (key, value) in [
            ("batch_size", config.batch_size),
            ("shard_rows", config.shard_rows),
        ] {
            if value == 0 {
                errors.push(pipeline.error_at(
                    &format!("embed.{key}"),
                    format!("`{key}` must be at least 1"),
                ));
            }
        }
        if config.decode_threads == Some(0) {
            errors.push(pipeline.error_at(
                "embed.decode_threads",
                "`decode_threads` must be at least 1",
            ));
        }
        let weights = match config.weights.as_deref() {
            Some(SYNTHETIC_WEIGHTS) => WeightsSource::Synthetic,
            Some(file) => {
                let path = pipeline.resolve_path("embed.weights", &PathBuf::from(file));
                if !path.is_file() {
                    errors.push(pipeline.error_at(
                        "embed.weights",
                        format!("weights file {} does not exist", path.display()),
                    ));
                }
                let mut locator = WeightsLocator::from_env();
                locator.file = Some(path);
                WeightsSource::Locator(locator)
            }
            None => WeightsSource::Locator(WeightsLocator::from_env()),
        };
        let options = BuildOptions {
            pooling: config.pooling.map(PoolingName::option),
            normalize: config.normalize,
        };
        if let Some(entry) = entry
            && let Err(error) = entry.resolve(&options)
        {
            let message = error.to_string();
            let message = message.strip_prefix("bad input: ").unwrap_or(&message);
            errors.push(pipeline.error_at("embed.pooling", message));
        }
        let tokenizer_file = config.tokenizer.as_deref().map(|file| {
            let path = pipeline.resolve_path("embed.tokenizer", &PathBuf::from(file));
            if !path.is_file() {
                errors.push(pipeline.error_at(
                    "embed.tokenizer",
                    format!("tokenizer file {} does not exist", path.display()),
                ));
            }
            path
        });
        if tokenizer_file.is_some() && entry.is_some_and(|e| e.tokenizer.is_none()) {
            errors.push(pipeline.error_at(
                "embed.tokenizer",
                format!(
                    "`tokenizer` is for text backbones; `{}` reads {}",
                    config.backbone,
                    entry.map_or("", |e| e.input.name())
                ),
            ));
        }
        let dataset = match pipeline.require_dataset("embed") {
            Ok(dataset) => Some(dataset),
            Err(error) => {
                errors.push(error);
                None
            }
        };
        if let (Some(dataset), Some(entry)) = (dataset, entry)
            && input_kind(dataset.modality) != entry.input
        {
            errors.push(pipeline.error_at(
                "embed.backbone",
                format!(
                    "backbone `{}` reads {}, but `dataset.modality` is {}",
                    entry.name,
                    entry.input.name(),
                    input_kind(dataset.modality).name()
                ),
            ));
        }
        // A `[preprocess]` that does not parse is the preprocess stage's error, reported there
        // once; its options are then unknown, so nothing is checked against them here.
        let Ok(preprocess) = pipeline.section::<PreprocessConfig>("preprocess") else {
            return Err(errors);
        };
        let preprocess = preprocess.unwrap_or_default();
        let modality = match dataset.map_or(Modality::Image, |d| d.modality) {
            Modality::Image => {
                image::ImageConfig::from_pipeline(pipeline, &preprocess, &mut errors)
                    .map(ModalityConfig::Image)
            }
            Modality::Text => Some(ModalityConfig::Text(text::TextConfig::from_pipeline(
                pipeline,
                &preprocess,
                entry,
                &mut errors,
            ))),
            Modality::Audio => Some(ModalityConfig::Audio(audio::AudioConfig::new(&preprocess))),
        };
        let (Some(entry), Some(modality), Some(dataset), true) =
            (entry, modality, dataset, errors.is_empty())
        else {
            return Err(errors);
        };
        let reads_files = dataset.modality != Modality::Text
            || preprocess
                .text
                .as_ref()
                .is_some_and(|t| t.source == TextSource::File);
        Ok(Some(Self {
            sample_root: reads_files
                .then(|| SampleRoot::new(&dataset.root, dataset.allow_outside_root)),
            preprocess_json: match &modality {
                ModalityConfig::Image(image) => image.json(),
                ModalityConfig::Text(_) | ModalityConfig::Audio(_) => String::new(),
            },
            manifest: dataset.manifest_path(),
            config,
            entry,
            options,
            device,
            weights,
            tokenizer_file,
            modality,
            resolved: None,
            tokenizer: None,
            state: None,
        }))
    }

    fn resolve_weights(&mut self) -> anyhow::Result<Option<&ResolvedWeights>> {
        if let (None, WeightsSource::Locator(locator)) = (&self.resolved, &self.weights) {
            self.resolved = Some(locator.resolve(self.entry.name, &self.entry.weights)?);
        }
        Ok(self.resolved.as_ref())
    }

    /// Finds the tokenizer of a text backbone (after the weights, which it may sit next to).
    fn resolve_tokenizer(&mut self) -> anyhow::Result<()> {
        let Some(spec) = &self.entry.tokenizer else {
            return Ok(());
        };
        if self.tokenizer.is_none() {
            let weights_path = self.resolved.as_ref().map(|r| r.path.clone());
            let locator = match &self.weights {
                WeightsSource::Locator(locator) => locator.clone(),
                WeightsSource::Synthetic => WeightsLocator::from_env(),
            };
            self.tokenizer = Some(locator.resolve_tokenizer(
                self.entry.name,
                spec,
                self.tokenizer_file.as_deref(),
                weights_path.as_deref(),
            )?);
        }
        Ok(())
    }

    fn weights_label(&self) -> String {
        match &self.resolved {
            Some(resolved) => resolved.sha256.clone(),
            None => SYNTHETIC_WEIGHTS.to_owned(),
        }
    }

    /// The pooling and normalisation in effect.
    fn pooling(&self) -> (Option<PoolingOption>, bool) {
        self.entry
            .resolve(&self.options)
            .map_or((None, false), |r| (r.pooling, r.normalize))
    }

    fn load(&mut self, ctx: &StageContext) -> anyhow::Result<()> {
        let device = self.device.device()?;
        let vb = match self.resolve_weights()? {
            Some(resolved) => {
                let tensors = resolved
                    .load(&device)
                    .with_context(|| format!("loading {}", resolved.path.display()))?;
                candle_nn::VarBuilder::from_tensors(tensors, candle_core::DType::F32, &device)
            }
            None => candle_nn::VarBuilder::from_backend(
                Box::new(nona_backbones::weights::SyntheticWeights),
                candle_core::DType::F32,
                device.clone(),
            ),
        };
        let backbone =
            nona_backbones::build_backbone_with(&self.config.backbone, vb, &self.options)?;
        self.resolve_tokenizer()?;
        let dim = backbone.dim();
        let spec = backbone.input();
        let inputs = match &self.modality {
            ModalityConfig::Image(image) => Inputs::Image(image.inputs()),
            ModalityConfig::Text(text) => {
                let tokenizer = self.tokenizer.as_ref().ok_or_else(|| {
                    anyhow!("text backbone `{}` has no tokenizer", self.entry.name)
                })?;
                Inputs::Text(Box::new(text.inputs(tokenizer, &spec, &self.manifest)?))
            }
            ModalityConfig::Audio(audio) => Inputs::Audio(audio.inputs(&spec)?),
        };
        self.preprocess_json = match &inputs {
            Inputs::Image(_) => self.preprocess_json.clone(),
            Inputs::Text(text) => text.json(),
            Inputs::Audio(audio) => audio.json(),
        };
        let threads = self
            .config
            .decode_threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("nona-decode-{i}"))
            .build()?;
        let samples = read_samples(ctx)?;
        let derived_files = ctx.input("preprocess").join("files");
        let sample_root = self
            .sample_root
            .clone()
            .map(|r| r.also_allow(&derived_files));
        self.state = Some(Loaded {
            sample_root,
            backbone: Mutex::new(backbone),
            dim,
            device,
            pool,
            samples,
            inputs,
        });
        Ok(())
    }
}

fn input_kind(modality: Modality) -> InputKind {
    match modality {
        Modality::Image => InputKind::Image,
        Modality::Text => InputKind::Text,
        Modality::Audio => InputKind::Audio,
    }
}

fn read_samples(ctx: &StageContext) -> anyhow::Result<Vec<Sample>> {
    let dir = ctx.input("preprocess");
    let dataset = nona_table::Dataset::open(dir)?;
    let mut samples = Vec::with_capacity(dataset.num_rows());
    for batch in dataset.read_all()? {
        let ids = nona_table::string_column(&batch, "id", dir)?;
        let inputs = nona_table::string_column(&batch, "input", dir)?;
        let labels = nona_table::f64_column(&batch, "label", dir)?;
        let groups = nona_table::optional_string_column(&batch, "group", dir)?;
        let source_rows = nona_table::i64_column(&batch, "source_row", dir)?;
        for row in 0..batch.num_rows() {
            samples.push(Sample {
                id: ids.value(row).to_owned(),
                input: inputs.value(row).to_owned(),
                label: labels.value(row),
                group: groups.and_then(|g| {
                    (!arrow::array::Array::is_null(g, row)).then(|| g.value(row).to_owned())
                }),
                source_row: source_rows.value(row),
            });
        }
    }
    Ok(samples)
}

impl Stage for EmbedStage {
    fn name(&self) -> &'static str {
        "embed"
    }

    fn depends_on(&self) -> &'static [&'static str] {
        &["preprocess"]
    }

    fn version(&self) -> u32 {
        1
    }

    fn fingerprint_inputs(&mut self, _pipeline: &Pipeline) -> anyhow::Result<serde_json::Value> {
        self.resolve_weights()?;
        let mut inputs = json!({
            "backbone": self.config.backbone,
            "weights_sha256": self.weights_label(),
            "device": self.config.device,
            "batch_size": self.config.batch_size,
            "shard_rows": self.config.shard_rows,
            "on_error": self.config.on_error,
        });
        // Image pipelines keep the fingerprint they always had.
        if self.entry.input != InputKind::Image {
            self.resolve_tokenizer()?;
            let (pooling, normalize) = self.pooling();
            inputs["pooling"] = json!(pooling.map(PoolingOption::name));
            inputs["normalize"] = json!(normalize);
            inputs["tokenizer_sha256"] = json!(self.tokenizer.as_ref().map(|t| &t.sha256));
        }
        Ok(inputs)
    }

    fn fail_on_error(&self) -> bool {
        self.config.on_error == OnError::Fail
    }

    fn schema(&self) -> SchemaRef {
        nona_table::schemas::embeddings(self.state.as_ref().map_or(0, |s| s.dim))
    }

    fn metadata(&self) -> nona_table::Metadata {
        let mut metadata = nona_table::Metadata::new();
        metadata.insert("nona.model_id".to_owned(), self.config.backbone.clone());
        metadata.insert("nona.weights_sha256".to_owned(), self.weights_label());
        if let Some(resolved) = &self.resolved {
            metadata.insert(
                "nona.weights_path".to_owned(),
                resolved.path.display().to_string(),
            );
        }
        metadata.insert("nona.device".to_owned(), self.config.device.clone());
        metadata.insert("nona.preprocess".to_owned(), self.preprocess_json.clone());
        if let Some(state) = &self.state {
            metadata.insert("nona.embedding_dim".to_owned(), state.dim.to_string());
        }
        if self.entry.input != InputKind::Image {
            let (pooling, normalize) = self.pooling();
            metadata.insert(
                "nona.modality".to_owned(),
                self.entry.input.name().to_owned(),
            );
            if let Some(pooling) = pooling {
                metadata.insert("nona.pooling".to_owned(), pooling.name().to_owned());
            }
            metadata.insert("nona.normalize".to_owned(), normalize.to_string());
        }
        if let Some(tokenizer) = &self.tokenizer {
            metadata.insert(
                "nona.tokenizer_path".to_owned(),
                tokenizer.path.display().to_string(),
            );
            metadata.insert("nona.tokenizer_sha256".to_owned(), tokenizer.sha256.clone());
        }
        metadata
    }

    fn plan(&mut self, ctx: &StageContext) -> anyhow::Result<Plan> {
        self.load(ctx)?;
        let total = self.state.as_ref().map_or(0, |s| s.samples.len()) as u64;
        let chunk = self.config.shard_rows as u64;
        let units = total.div_ceil(chunk).max(1);
        Ok(Plan {
            unit_items: (0..units)
                .map(|u| chunk.min(total.saturating_sub(u * chunk)))
                .collect(),
        })
    }

    fn run_unit(&self, ctx: &StageContext, unit: usize) -> anyhow::Result<UnitOutput> {
        let state = self
            .state
            .as_ref()
            .ok_or_else(|| anyhow!("embed stage used before plan"))?;
        let start = (unit * self.config.shard_rows).min(state.samples.len());
        let end = (start + self.config.shard_rows).min(state.samples.len());
        let samples = &state.samples[start..end];
        let batch_size = self.config.batch_size;
        let embedded = match &state.inputs {
            Inputs::Image(inputs) => embed_unit(inputs, state, samples, batch_size, ctx)?,
            Inputs::Text(inputs) => embed_unit(inputs.as_ref(), state, samples, batch_size, ctx)?,
            Inputs::Audio(inputs) => embed_unit(inputs, state, samples, batch_size, ctx)?,
        };
        let Embedded {
            kept,
            values,
            errors,
        } = embedded;
        let ids: StringArray = kept.iter().map(|s| Some(s.id.as_str())).collect();
        let labels: Float64Array = kept.iter().map(|s| Some(s.label)).collect();
        let groups: StringArray = kept.iter().map(|s| s.group.as_deref()).collect();
        let batch = RecordBatch::try_new(
            self.schema(),
            vec![
                Arc::new(ids),
                Arc::new(labels),
                Arc::new(groups),
                Arc::new(nona_table::embedding_array(values, state.dim)),
            ],
        )?;
        Ok(UnitOutput {
            rows: vec![batch],
            errors,
            ..UnitOutput::default()
        })
    }
}

/// What one unit produced: the samples embedded (in samples-table order), their embeddings
/// row-major, and the samples that failed.
struct Embedded<'a> {
    kept: Vec<&'a Sample>,
    values: Vec<f32>,
    errors: Vec<RowError>,
}

/// Prepares `samples` window by window on the decode pool (window `i + 1` while the backbone
/// runs window `i`), embeds the prepared ones in the batches `prepare` forms, and puts the rows
/// back in sample order.
fn embed_unit<'a, P: Prepare>(
    prepare: &P,
    state: &Loaded,
    samples: &'a [Sample],
    batch_size: usize,
    ctx: &StageContext,
) -> anyhow::Result<Embedded<'a>> {
    let window = prepare.window(batch_size, samples.len()).max(1);
    let windows: Vec<&[Sample]> = samples.chunks(window).collect();
    let run = |chunk: &[Sample]| prepare_inside_root(prepare, state, chunk);
    let mut out = Embedded {
        kept: Vec::new(),
        values: Vec::new(),
        errors: Vec::new(),
    };
    std::thread::scope(|scope| -> anyhow::Result<()> {
        let mut next = windows.first().map(|w| scope.spawn(move || run(w)));
        for (index, chunk) in windows.iter().enumerate() {
            let prepared = next
                .take()
                .expect("a preparation is pending")
                .join()
                .map_err(|_| anyhow!("decoding thread panicked"))?;
            next = windows.get(index + 1).map(|w| scope.spawn(move || run(w)));
            let mut items = Vec::with_capacity(chunk.len());
            let mut owners = Vec::with_capacity(chunk.len());
            for (sample, result) in chunk.iter().zip(prepared) {
                match result {
                    Ok(item) => {
                        owners.push(sample);
                        items.push(item);
                    }
                    Err(message) => out.errors.push(RowError {
                        id: Some(sample.id.clone()),
                        source: prepare.source(sample),
                        message,
                    }),
                }
            }
            let refs: Vec<&P::Item> = items.iter().collect();
            let mut rows: Vec<Option<Vec<f32>>> = vec![None; items.len()];
            for batch in prepare.batches(&refs, batch_size) {
                let members: Vec<&P::Item> = batch.iter().map(|&i| refs[i]).collect();
                let input = prepare.input(&members, &state.device)?;
                let pooled = embed_batch(state, &input)?;
                for (&i, row) in batch.iter().zip(pooled.chunks(state.dim)) {
                    rows[i] = Some(row.to_vec());
                }
            }
            for (sample, row) in owners.into_iter().zip(rows) {
                let row = row.ok_or_else(|| anyhow!("sample `{}` was not embedded", sample.id))?;
                out.kept.push(sample);
                out.values.extend(row);
            }
            ctx.progress.advance(chunk.len() as u64);
        }
        Ok(())
    })?;
    Ok(out)
}

/// Prepares the samples whose files are inside the allowed folders (preprocess checked them, but
/// a file may have become a link since, or the samples table may have been edited); the others
/// fail without being opened.
fn prepare_inside_root<P: Prepare>(
    prepare: &P,
    state: &Loaded,
    chunk: &[Sample],
) -> Vec<Result<P::Item, String>> {
    let Some(root) = &state.sample_root else {
        return prepare.prepare(chunk, &state.pool);
    };
    let checks: Vec<Result<(), String>> = chunk
        .iter()
        .map(|sample| root.check(Path::new(&sample.input)))
        .collect();
    let inside: Vec<Sample> = chunk
        .iter()
        .zip(&checks)
        .filter(|(_, check)| check.is_ok())
        .map(|(sample, _)| sample.clone())
        .collect();
    let mut prepared = prepare.prepare(&inside, &state.pool).into_iter();
    checks
        .into_iter()
        .map(|check| match check {
            Ok(()) => prepared
                .next()
                .unwrap_or_else(|| Err("not prepared".to_owned())),
            Err(message) => Err(message),
        })
        .collect()
}

/// Runs the backbone on one batch and returns the pooled embeddings, row-major.
fn embed_batch(state: &Loaded, input: &BackboneInput) -> anyhow::Result<Vec<f32>> {
    let backbone = state
        .backbone
        .lock()
        .map_err(|_| anyhow!("backbone lock poisoned"))?;
    let pooled = backbone.embed(input)?;
    Ok(pooled
        .to_device(&Device::Cpu)?
        .flatten_all()?
        .to_vec1::<f32>()?)
}

/// Stacks equally sized `f32` rows into one tensor of `shape` (first dimension: the rows).
fn stack_rows(rows: &[&[f32]], shape: &[usize], device: &Device) -> anyhow::Result<Tensor> {
    let mut data = Vec::with_capacity(shape.iter().product());
    for row in rows {
        data.extend_from_slice(row);
    }
    Ok(Tensor::from_vec(data, shape, device)?)
}

/// `path` as the manifest location of a samples-table row, for errors about text in a column.
fn manifest_row(manifest: &Path, source_row: i64) -> String {
    format!("{}:row {source_row}", manifest.display())
}
