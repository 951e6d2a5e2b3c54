//! The `embed` stage: streams the `samples` table through the modality's input preparation
//! ([`crate::modality`]) and a pretrained backbone, writing the `embeddings` table (id, label,
//! group, embedding).
//!
//! The section is [`config`]; the weights and tokenizer are found in [`weights`]; preparation
//! runs on a dedicated rayon pool (candle's matmuls use the global one), one window of samples
//! ahead of the backbone ([`decode_loop`]), so memory stays bounded by two windows whatever the
//! dataset size. A sample that fails to prepare becomes an errors-table row; the others are
//! written in the order of the samples table.

pub(crate) mod config;
mod decode_loop;
mod weights;

pub(crate) use decode_loop::Embedded;

use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use arrow::array::{Float64Array, StringArray};
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use candle_core::Device;
use nona_backbones::registry::{RegistryEntry, registry_entry};
use nona_backbones::{
    Backbone, BuildOptions, DeviceKind, InputKind, PoolingOption, ResolvedTokenizer,
    ResolvedWeights, WeightsLocator, backbone_names,
};
use nona_datasets::SampleRoot;
use nona_pipeline::config::{ConfigError, Pipeline, did_you_mean};
use nona_pipeline::progress::Progress;
use nona_pipeline::{Plan, Stage, StageContext, StageRun, UnitOutput};
use serde_json::json;

use crate::common::OnError;
use crate::modality::{self, Inputs, ModalityConfig, Sample, input_kind};
use crate::preprocess::{PreprocessConfig, PreprocessStage};
use config::{EmbedConfig, SYNTHETIC_WEIGHTS};
use decode_loop::EmbedUnit;
use weights::WeightsSource;

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
    /// The weights found (with their digest), once asked for; unset for synthetic weights.
    resolved: OnceLock<ResolvedWeights>,
    /// A text backbone's tokenizer, once asked for.
    tokenizer: OnceLock<ResolvedTokenizer>,
}

/// The embed stage with its backbone built and the samples table read.
pub struct EmbedRun<'s> {
    stage: &'s EmbedStage,
    state: Loaded,
    /// The modality's options as JSON (`nona.preprocess`).
    preprocess_json: String,
}

/// The backbone and input preparation, built, with the samples to embed.
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

impl Loaded {
    /// Embeds `samples` (a work unit) as the stage does: prepared on the decode pool one
    /// window ahead of the backbone, embedded in the batches the modality forms, rows in sample
    /// order; `progress` counts the samples done.
    fn embed<'a>(
        &'a self,
        samples: &'a [Sample],
        batch_size: usize,
        progress: &Progress,
    ) -> anyhow::Result<Embedded<'a>> {
        self.inputs.with(EmbedUnit {
            state: self,
            samples,
            batch_size,
            progress,
        })
    }
}

/// The embed stage's backbone and input preparation outside a pipeline run, for
/// `nona predict`: the same code embeds the same samples into the same values.
pub(crate) struct Embedder<'s> {
    stage: &'s EmbedStage,
    state: Loaded,
}

impl Embedder<'_> {
    /// Embeds every sample in work units of `shard_rows` and backbone batches of `batch_size`,
    /// as the stage does.
    pub(crate) fn embed(&self, progress: &Progress) -> anyhow::Result<Embedded<'_>> {
        let config = &self.stage.config;
        let mut all = Embedded::default();
        for unit in self.state.samples.chunks(config.shard_rows) {
            let embedded = self.state.embed(unit, config.batch_size, progress)?;
            all.kept.extend(embedded.kept);
            all.values.extend(embedded.values);
            all.errors.extend(embedded.errors);
        }
        Ok(all)
    }

    /// Width of the embeddings.
    pub(crate) fn dim(&self) -> usize {
        self.state.dim
    }
}

impl EmbedStage {
    /// Builds the backbone and input preparation for `samples` (their files confined to the
    /// stage's sample root), as [`Stage::load`] does for the samples table.
    pub(crate) fn embedder(&self, samples: Vec<Sample>) -> anyhow::Result<Embedder<'_>> {
        let (state, _) = self.loaded(samples, self.sample_root.clone())?;
        Ok(Embedder { stage: self, state })
    }

    /// The backbone's name.
    pub(crate) fn backbone_name(&self) -> &'static str {
        self.entry.name
    }

    /// Where sample files may be read from; `None` when the samples are texts.
    pub(crate) fn sample_root(&self) -> Option<&SampleRoot> {
        self.sample_root.as_ref()
    }

    /// The weights file found and its digest; `None` for synthetic weights.
    pub(crate) fn weights_file(&self) -> anyhow::Result<Option<&ResolvedWeights>> {
        self.resolved()
    }

    /// A text backbone's tokenizer and its digest.
    pub(crate) fn tokenizer_file(&self) -> anyhow::Result<Option<&ResolvedTokenizer>> {
        self.tokenizer()
    }

    /// The backbone built, its input preparation and the decode pool, over `samples`; with the
    /// preparation's options as JSON (`nona.preprocess`).
    fn loaded(
        &self,
        samples: Vec<Sample>,
        sample_root: Option<SampleRoot>,
    ) -> anyhow::Result<(Loaded, String)> {
        let device = self.device.device()?;
        let backbone = self.build_backbone(&device)?;
        let tokenizer = self.tokenizer()?;
        let dim = backbone.dim();
        let inputs = self.modality.inputs(
            self.entry.name,
            &backbone.input(),
            tokenizer,
            &self.manifest,
        )?;
        let preprocess_json = inputs.json();
        let threads = self
            .config
            .decode_threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("nona-decode-{i}"))
            .build()?;
        let state = Loaded {
            sample_root,
            backbone: Mutex::new(backbone),
            dim,
            device,
            pool,
            samples,
            inputs,
        };
        Ok((state, preprocess_json))
    }

    /// The pooling and normalisation in effect.
    fn pooling(&self) -> (Option<PoolingOption>, bool) {
        self.entry
            .resolve(&self.options)
            .map_or((None, false), |r| (r.pooling, r.normalize))
    }
}

fn read_samples(ctx: &StageContext) -> anyhow::Result<Vec<Sample>> {
    let dir = ctx.input(PreprocessStage::NAME);
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
    const NAME: &'static str = "embed";
    /// 2: on the CPU in f32, ResNet-18/34, the BERT family and the Whisper encoder run on
    /// `nona_kernels` (NHWC convolutions, fused transformer blocks, no work on padding): their
    /// embeddings move by about 1e-6 relative (the parity fixtures' tolerances hold), so tables
    /// made by the old code are not mixed with new ones. EfficientNet is unchanged.
    const VERSION: u32 = 2;
    type Config = EmbedConfig;
    type Run<'s> = EmbedRun<'s>;

    /// Checks `[embed]` and the `[preprocess]` options it applies.
    fn build(config: EmbedConfig, pipeline: &Pipeline) -> Result<Self, Vec<ConfigError>> {
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
            pooling: config.pooling,
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
        let dataset = crate::dataset::require(pipeline, Self::NAME);
        let dataset = match &dataset {
            Ok(dataset) => Some(dataset),
            Err(error) => {
                errors.push(error.clone());
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
        let Ok(preprocess) = pipeline.section::<PreprocessConfig>(PreprocessStage::NAME) else {
            return Err(errors);
        };
        let preprocess = preprocess.unwrap_or_default();
        let modality = ModalityConfig::from_pipeline(
            pipeline,
            &preprocess.modality,
            dataset.map(|d| d.modality),
            entry,
            &mut errors,
        );
        let (Some(entry), Some(modality), Some(dataset), true) =
            (entry, modality, dataset, errors.is_empty())
        else {
            return Err(errors);
        };
        let reads_files = modality::input_is_file(dataset.modality, &preprocess.modality);
        Ok(Self {
            sample_root: reads_files.then(|| dataset.sample_root()),
            manifest: dataset.manifest_path(),
            config,
            entry,
            options,
            device,
            weights,
            tokenizer_file,
            modality,
            resolved: OnceLock::new(),
            tokenizer: OnceLock::new(),
        })
    }

    fn depends_on(&self) -> &'static [&'static str] {
        &[PreprocessStage::NAME]
    }

    fn fingerprint(&self) -> anyhow::Result<serde_json::Value> {
        self.resolved()?;
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
            let tokenizer = self.tokenizer()?;
            let (pooling, normalize) = self.pooling();
            inputs["pooling"] = json!(pooling.map(PoolingOption::name));
            inputs["normalize"] = json!(normalize);
            inputs["tokenizer_sha256"] = json!(tokenizer.map(|t| &t.sha256));
        }
        Ok(inputs)
    }

    fn fail_on_error(&self) -> bool {
        self.config.on_error == OnError::Fail
    }

    /// Builds the backbone and the modality's input preparation, and reads the samples.
    fn load<'s>(&'s self, ctx: &StageContext) -> anyhow::Result<EmbedRun<'s>> {
        let samples = read_samples(ctx)?;
        let derived_files = ctx.input(PreprocessStage::NAME).join("files");
        let sample_root = self
            .sample_root
            .clone()
            .map(|r| r.also_allow(&derived_files));
        let (state, preprocess_json) = self.loaded(samples, sample_root)?;
        Ok(EmbedRun {
            stage: self,
            state,
            preprocess_json,
        })
    }
}

impl StageRun for EmbedRun<'_> {
    fn schema(&self) -> SchemaRef {
        nona_table::schemas::embeddings(self.state.dim)
    }

    fn metadata(&self) -> nona_table::Metadata {
        let stage = self.stage;
        let mut metadata = nona_table::Metadata::new();
        metadata.insert("nona.model_id".to_owned(), stage.config.backbone.clone());
        metadata.insert("nona.weights_sha256".to_owned(), stage.weights_label());
        if let Some(resolved) = stage.resolved.get() {
            metadata.insert(
                "nona.weights_path".to_owned(),
                resolved.path.display().to_string(),
            );
        }
        metadata.insert("nona.device".to_owned(), stage.config.device.clone());
        metadata.insert("nona.preprocess".to_owned(), self.preprocess_json.clone());
        metadata.insert("nona.embedding_dim".to_owned(), self.state.dim.to_string());
        if stage.entry.input != InputKind::Image {
            let (pooling, normalize) = stage.pooling();
            metadata.insert(
                "nona.modality".to_owned(),
                stage.entry.input.name().to_owned(),
            );
            if let Some(pooling) = pooling {
                metadata.insert("nona.pooling".to_owned(), pooling.name().to_owned());
            }
            metadata.insert("nona.normalize".to_owned(), normalize.to_string());
        }
        if let Some(tokenizer) = stage.tokenizer.get() {
            metadata.insert(
                "nona.tokenizer_path".to_owned(),
                tokenizer.path.display().to_string(),
            );
            metadata.insert("nona.tokenizer_sha256".to_owned(), tokenizer.sha256.clone());
        }
        metadata
    }

    fn plan(&self) -> Plan {
        Plan::chunks(
            self.state.samples.len() as u64,
            self.stage.config.shard_rows as u64,
        )
    }

    fn run_unit(&self, ctx: &StageContext, unit: usize) -> anyhow::Result<UnitOutput> {
        let state = &self.state;
        let config = &self.stage.config;
        let start = (unit * config.shard_rows).min(state.samples.len());
        let end = (start + config.shard_rows).min(state.samples.len());
        let samples = &state.samples[start..end];
        let embedded = state.embed(samples, config.batch_size, ctx.progress)?;
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
