//! The `embed` stage: streams the `samples` table through the preprocess transforms and a
//! pretrained backbone, writing the `embeddings` table (id, label, group, embedding).
//!
//! Decoding and transforms run on a dedicated rayon pool (candle's matmuls use the global one),
//! one batch ahead of the backbone, so memory stays bounded by two batches whatever the dataset
//! size. A sample that fails to decode becomes an errors-table row.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use anyhow::{Context, anyhow};
use arrow::array::{Float64Array, StringArray};
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use candle_core::{Device, Tensor};
use nona_backbones::backbone::registry_entry;
use nona_backbones::{
    Backbone, BackboneInput, DeviceKind, ResolvedWeights, WeightsLocator, backbone_names,
};
use nona_image::{ImageTensor, Preprocessor};
use nona_pipeline::config::{ConfigError, Modality, Pipeline, did_you_mean};
use nona_pipeline::{Plan, RowError, Stage, StageContext, UnitOutput};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::common::OnError;
use crate::preprocess::{self, PreprocessConfig};

/// `weights = "synthetic"`: deterministic pseudo-random weights, for tests and demos; every output
/// says so.
pub const SYNTHETIC_WEIGHTS: &str = "synthetic";

/// The `[embed]` section.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EmbedConfig {
    /// Backbone name (`resnet18`, `resnet34`, `efficientnet_b0`, `efficientnet_lite0`).
    pub backbone: String,
    /// A weights file (relative to this pipeline file), or `"synthetic"`; by default the weights
    /// are looked up in `$NONA_WEIGHTS_DIR` (default `weights/`), then the Hugging Face cache.
    #[serde(default)]
    pub weights: Option<String>,
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
}

/// The embed stage.
pub struct EmbedStage {
    config: EmbedConfig,
    device: DeviceKind,
    weights: WeightsSource,
    preprocessor: Arc<Preprocessor>,
    preprocess_json: String,
    resolved: Option<ResolvedWeights>,
    state: Option<Loaded>,
}

struct Loaded {
    backbone: Mutex<Box<dyn Backbone>>,
    dim: usize,
    device: Device,
    pool: rayon::ThreadPool,
    samples: Vec<Sample>,
}

impl EmbedStage {
    /// Reads and checks `[embed]` (and the `[preprocess]` transforms it applies); `None` if absent.
    pub fn from_pipeline(pipeline: &Pipeline) -> Result<Option<Self>, Vec<ConfigError>> {
        let config = match pipeline.section::<EmbedConfig>("embed") {
            Ok(Some(config)) => config,
            Ok(None) => return Ok(None),
            Err(error) => return Err(vec![error]),
        };
        let mut errors = Vec::new();
        if registry_entry(&config.backbone).is_err() {
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
        }
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
        match pipeline.require_dataset("embed") {
            Ok(dataset) if dataset.modality != Modality::Image => errors.push(pipeline.error_at(
                "embed",
                format!(
                    "this build embeds image datasets; `dataset.modality` is {:?}",
                    dataset.modality
                ),
            )),
            Ok(_) => {}
            Err(error) => errors.push(error),
        }
        let preprocess = match pipeline.section::<PreprocessConfig>("preprocess") {
            Ok(section) => section.unwrap_or_default(),
            Err(error) => {
                errors.push(error);
                PreprocessConfig::default()
            }
        };
        let image = preprocess.image.clone().unwrap_or_default();
        if image.channels != preprocess::Channels::Rgb {
            errors.push(pipeline.error_at(
                "preprocess.image.channels",
                "image backbones take RGB input: set channels = \"rgb\"",
            ));
        }
        if !image.has_fixed_size() {
            errors.push(pipeline.error_at(
                "preprocess.image.transforms",
                "images are batched, so the transforms must end in a fixed size: add an exact `resize = [h, w]` or a `center_crop`",
            ));
        }
        let preprocessor =
            match Preprocessor::new(nona_image::Channels::Rgb, image.to_image_transforms()) {
                Ok(preprocessor) => preprocessor,
                Err(error) => {
                    errors
                        .push(pipeline.error_at("preprocess.image.transforms", error.to_string()));
                    return Err(errors);
                }
            };
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Some(Self {
            preprocess_json: serde_json::to_string(&image).unwrap_or_default(),
            config,
            device,
            weights,
            preprocessor: Arc::new(preprocessor),
            resolved: None,
            state: None,
        }))
    }

    fn resolve_weights(&mut self) -> anyhow::Result<Option<&ResolvedWeights>> {
        if let (None, WeightsSource::Locator(locator)) = (&self.resolved, &self.weights) {
            let entry = registry_entry(&self.config.backbone)?;
            self.resolved = Some(locator.resolve(entry.name, &entry.weights)?);
        }
        Ok(self.resolved.as_ref())
    }

    fn weights_label(&self) -> String {
        match &self.resolved {
            Some(resolved) => resolved.sha256.clone(),
            None => SYNTHETIC_WEIGHTS.to_owned(),
        }
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
        let backbone = nona_backbones::build_backbone(&self.config.backbone, vb)?;
        let dim = backbone.dim();
        let threads = self
            .config
            .decode_threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("nona-decode-{i}"))
            .build()?;
        let samples = read_samples(ctx)?;
        self.state = Some(Loaded {
            backbone: Mutex::new(backbone),
            dim,
            device,
            pool,
            samples,
        });
        Ok(())
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
        for row in 0..batch.num_rows() {
            samples.push(Sample {
                id: ids.value(row).to_owned(),
                input: inputs.value(row).to_owned(),
                label: labels.value(row),
                group: groups.and_then(|g| {
                    (!arrow::array::Array::is_null(g, row)).then(|| g.value(row).to_owned())
                }),
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
        Ok(json!({
            "backbone": self.config.backbone,
            "weights_sha256": self.weights_label(),
            "device": self.config.device,
            "batch_size": self.config.batch_size,
            "shard_rows": self.config.shard_rows,
            "on_error": self.config.on_error,
        }))
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
        let batches: Vec<&[Sample]> = samples.chunks(self.config.batch_size).collect();
        let decode = |batch: &[Sample]| -> Vec<Result<ImageTensor, nona_image::ImageError>> {
            let paths: Vec<&str> = batch.iter().map(|s| s.input.as_str()).collect();
            self.preprocessor.process_paths(&paths, &state.pool)
        };

        let mut kept: Vec<&Sample> = Vec::new();
        let mut values: Vec<f32> = Vec::new();
        let mut errors = Vec::new();
        std::thread::scope(|scope| -> anyhow::Result<()> {
            // Decode batch i + 1 on the decode pool while the backbone runs batch i.
            let mut next = batches.first().map(|b| scope.spawn(move || decode(b)));
            for (index, batch) in batches.iter().enumerate() {
                let decoded = next
                    .take()
                    .expect("a decode is pending")
                    .join()
                    .map_err(|_| anyhow!("decoding thread panicked"))?;
                next = batches
                    .get(index + 1)
                    .map(|b| scope.spawn(move || decode(b)));
                let mut tensors = Vec::with_capacity(batch.len());
                for (sample, result) in batch.iter().zip(decoded) {
                    match result {
                        Ok(tensor) => {
                            kept.push(sample);
                            tensors.push(tensor);
                        }
                        Err(error) => errors.push(RowError {
                            id: Some(sample.id.clone()),
                            source: sample.input.clone(),
                            message: error.to_string(),
                        }),
                    }
                }
                if !tensors.is_empty() {
                    values.extend(embed_batch(state, &tensors)?);
                }
                ctx.progress.advance(batch.len() as u64);
            }
            Ok(())
        })?;

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

/// Stacks preprocessed images into an NCHW tensor and returns the pooled embeddings, row-major.
fn embed_batch(state: &Loaded, tensors: &[ImageTensor]) -> anyhow::Result<Vec<f32>> {
    let first = &tensors[0];
    let (c, h, w) = (first.channels, first.height, first.width);
    let mut data = Vec::with_capacity(tensors.len() * c * h * w);
    for tensor in tensors {
        anyhow::ensure!(
            (tensor.channels, tensor.height, tensor.width) == (c, h, w),
            "images in a batch differ in size ({}×{}×{} vs {c}×{h}×{w})",
            tensor.channels,
            tensor.height,
            tensor.width
        );
        data.extend_from_slice(&tensor.data);
    }
    let images = Tensor::from_vec(data, (tensors.len(), c, h, w), &state.device)?;
    let backbone = state
        .backbone
        .lock()
        .map_err(|_| anyhow!("backbone lock poisoned"))?;
    let pooled = backbone.embed(&BackboneInput::Images(images))?;
    Ok(pooled
        .to_device(&Device::Cpu)?
        .flatten_all()?
        .to_vec1::<f32>()?)
}
