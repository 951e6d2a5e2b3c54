//! The `train` stage: projector + dense or NONA head on an embeddings table, over a grid of cells
//! with the paper's protocol (`nona_train`).
//!
//! One work unit is one grid cell, so a grid shards across processes (`--shard`, job arrays)
//! and cells run in parallel locally (`threads`). Each cell writes:
//! * `predictions/`: every sample of its train, validation and test split, with `ŷ`;
//! * `embeddings/`: the trained projector's embeddings of those samples (read by `knn`);
//! * `curves/`: training loss and validation MSE per epoch;
//! * `metrics/`: MSE ×10³ (scaled labels), MSE and MAE per split;
//! * `explanations/` (NONA cells, unless `explain_top_k = 0`): the top neighbours of every
//!   validation and test prediction with their attention weights and similarities, and the
//!   prediction's uncertainty (weighted label spread over all neighbours), weight mass and entropy;
//! * `models/cell-NNNNN/`: the model (safetensors + `model.json`), `cell.json` (config,
//!   curves, metrics) and, when the embeddings come from this pipeline's embed stage,
//!   `provenance.json` (how they were made: [`provenance`]) and, for NONA, `neighbours.parquet`
//!   (the ids and labels of the neighbour bank), so that `nona predict` runs raw inputs
//!   through the same preprocessing, backbone and head.
//!
//! Splits depend only on the seed, so every head and setting with the same seed sees the same
//! train/validation/test samples (the `knn` stage reuses them).

pub(crate) mod provenance;
mod tables;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use arrow::datatypes::SchemaRef;
use nona_pipeline::config::{ConfigError, Pipeline};
use nona_pipeline::run_dir::write_atomic;
use nona_pipeline::{Plan, RowError, Stage, StageContext, StageRun, UnitOutput};
use nona_train::{
    CellConfig, Grid, GridSpec, SplitConfig, SplitData, Splits, TrainData, TrainError, gather,
    gather_rows, split, split_grouped, train_cell,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::embed::EmbedStage;
use crate::embedding_table::{EmbeddingColumns, EmbeddingTable, table_digest};
use provenance::{Provenance, UpstreamSections};
use tables::{CellKey, SplitRows};

/// Subdirectory of the stage directory holding one model directory per cell.
pub const MODELS_DIR: &str = "models";

/// The `[train]` section.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// An embeddings table (Parquet file or directory of parts) to train on instead of the
    /// `embed` stage's output; relative to the pipeline file.
    #[serde(default)]
    pub input: Option<String>,
    /// Column names of `input`.
    #[serde(default)]
    pub columns: EmbeddingColumns,
    /// Split fractions and stratification.
    #[serde(default)]
    pub split: SplitConfig,
    /// The grid of cells (heads, NONA settings, batch sizes, embedding dims, seeds, optimiser).
    #[serde(default)]
    pub grid: GridSpec,
    /// Cells trained at once in this process (default: the number of cores).
    #[serde(default)]
    pub threads: Option<usize>,
    /// Whether to save each cell's model under `models/`.
    #[serde(default = "default_save_models")]
    pub save_models: bool,
    /// Neighbours kept per NONA validation and test prediction in `explanations/`; 0 writes no
    /// such table.
    #[serde(default = "default_explain_top_k")]
    pub explain_top_k: usize,
}

fn default_save_models() -> bool {
    true
}

fn default_explain_top_k() -> usize {
    5
}

/// Where the stage's embeddings come from.
#[derive(Debug, Clone)]
enum Input {
    /// The `embed` stage of this pipeline.
    Upstream,
    /// A table outside the run.
    File(PathBuf),
}

/// The train stage.
pub struct TrainStage {
    config: TrainConfig,
    grid: Grid,
    input: Input,
    /// The sections that made the embeddings, when they come from the embed stage.
    upstream: Option<UpstreamSections>,
}

/// The train stage with its embeddings table read and split.
pub struct TrainRun<'s> {
    stage: &'s TrainStage,
    table: EmbeddingTable,
    splits: BTreeMap<u64, Splits>,
    /// Saved with every model, when known.
    provenance: Option<Provenance>,
}

impl TrainStage {
    /// The grid being trained.
    pub fn grid(&self) -> &Grid {
        &self.grid
    }

    fn table_path(&self, ctx: &StageContext) -> PathBuf {
        match &self.input {
            Input::Upstream => ctx.input(EmbedStage::NAME).to_path_buf(),
            Input::File(path) => path.clone(),
        }
    }

    /// One split's samples, features and labels.
    fn gather<'a>(
        table: &'a EmbeddingTable,
        name: &'static str,
        indices: &[usize],
    ) -> (SplitRows<'a>, Vec<f32>) {
        let rows = SplitRows {
            name,
            ids: indices.iter().map(|&i| table.ids[i].as_str()).collect(),
            labels: gather(&table.labels, indices),
        };
        (rows, gather_rows(&table.features, table.dim, indices))
    }
}

fn check_split(pipeline: &Pipeline, split: &SplitConfig, errors: &mut Vec<ConfigError>) {
    for (key, value) in [
        ("test_fraction", split.test_fraction),
        ("validation_fraction", split.validation_fraction),
    ] {
        if !(value > 0.0 && value < 1.0) {
            errors.push(pipeline.error_at(
                &format!("train.split.{key}"),
                format!("`{key}` must be between 0 and 1 (exclusive), got {value}"),
            ));
        }
    }
    if split.bins == 0 {
        errors.push(pipeline.error_at("train.split.bins", "`bins` must be at least 1"));
    }
}

/// `cell 3: nona (l2, s2, pointwise), batch 32, d 25, seed 0`.
pub fn describe_cell(index: usize, cell: &CellConfig) -> String {
    let model = &cell.model;
    let head = match model.head {
        nona_train::HeadKind::Dense => "dense".to_owned(),
        nona_train::HeadKind::Nona => format!(
            "nona ({}, {}, {})",
            model.similarity, model.softstep, model.params
        ),
    };
    format!(
        "cell {index}: {head}, batch {}, d {}, seed {}",
        cell.optim.batch_size, model.embedding_dim, cell.seed
    )
}

impl Stage for TrainStage {
    const NAME: &'static str = "train";

    /// 2: dense predictions are no longer clipped to `[0, 1]` by default (`[train.grid] clip`),
    /// which changes the dense cells' validation MSE, early stopping, predictions and metrics.
    /// 3: a new table, `explanations/` (the neighbour evidence of NONA predictions); the other
    /// tables are unchanged.
    /// 4: model directories record how their input embeddings were made (`provenance.json`) and
    /// their neighbours (`neighbours.parquet`), for `nona predict` on raw inputs; and evaluation
    /// runs in fixed-size chunks of rows (`nona_train`), so a row's values no longer depend on
    /// the rows evaluated with it: validation MSE (hence early stopping), predictions, head
    /// embeddings, explanations and metrics change in their last bits.
    const VERSION: u32 = 4;

    type Config = TrainConfig;
    type Run<'s> = TrainRun<'s>;

    fn build(config: TrainConfig, pipeline: &Pipeline) -> Result<Self, Vec<ConfigError>> {
        let mut errors = Vec::new();
        let grid = Grid::new(&config.grid).map_err(|error| {
            errors.push(pipeline.error_at("train.grid", error.to_string()));
        });
        check_split(pipeline, &config.split, &mut errors);
        if config.threads == Some(0) {
            errors.push(pipeline.error_at("train.threads", "`threads` must be at least 1"));
        }
        let input = match &config.input {
            None => Input::Upstream,
            Some(raw) => {
                let path = pipeline.resolve_path("train.input", Path::new(raw));
                if !path.exists() {
                    errors.push(pipeline.error_at(
                        "train.input",
                        format!("embeddings table {} does not exist", path.display()),
                    ));
                }
                Input::File(path)
            }
        };
        match (grid, errors.is_empty()) {
            (Ok(grid), true) => Ok(Self {
                upstream: match input {
                    Input::Upstream => UpstreamSections::read(pipeline),
                    Input::File(_) => None,
                },
                config,
                grid,
                input,
            }),
            _ => Err(errors),
        }
    }

    fn depends_on(&self) -> &'static [&'static str] {
        match self.input {
            Input::Upstream => &[EmbedStage::NAME],
            Input::File(_) => &[],
        }
    }

    fn fingerprint(&self) -> anyhow::Result<serde_json::Value> {
        let input = match &self.input {
            Input::Upstream => json!(EmbedStage::NAME),
            Input::File(path) => json!({
                "path": path,
                "sha256": table_digest(path)?,
            }),
        };
        Ok(json!({
            "input": input,
            "columns": self.config.columns,
            "split": self.config.split,
            "grid": self.config.grid,
            "save_models": self.config.save_models,
            "explain_top_k": self.config.explain_top_k,
        }))
    }

    fn main_table(&self) -> Option<&'static str> {
        Some("predictions")
    }

    fn tables(&self) -> Vec<(&'static str, SchemaRef)> {
        let mut tables = vec![
            ("embeddings", nona_table::schemas::head_embeddings()),
            ("curves", nona_table::schemas::train_curves()),
            ("metrics", nona_table::schemas::train_metrics()),
        ];
        if self.config.explain_top_k > 0 {
            tables.push(("explanations", nona_table::schemas::train_explanations()));
        }
        tables
    }

    fn concurrent_units(&self) -> usize {
        self.config
            .threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
    }

    fn load<'s>(&'s self, ctx: &StageContext) -> anyhow::Result<TrainRun<'s>> {
        let path = self.table_path(ctx);
        let table = EmbeddingTable::read(&path, &self.config.columns)
            .with_context(|| format!("reading the embeddings table {}", path.display()))?;
        let groups = table.has_groups().then(|| table.group_keys());
        let mut splits = BTreeMap::new();
        for cell in self.grid.cells() {
            if splits.contains_key(&cell.seed) {
                continue;
            }
            let made = match &groups {
                Some(groups) => split_grouped(&table.labels, groups, &self.config.split, cell.seed),
                None => split(&table.labels, &self.config.split, cell.seed),
            }
            .with_context(|| format!("splitting {} with seed {}", path.display(), cell.seed))?;
            splits.insert(cell.seed, made);
        }
        let provenance = self.upstream.as_ref().map(|upstream| {
            upstream.provenance(
                &ctx.pipeline.name,
                &table.metadata,
                table.dim,
                self.config.explain_top_k,
            )
        });
        Ok(TrainRun {
            stage: self,
            table,
            splits,
            provenance,
        })
    }
}

impl StageRun for TrainRun<'_> {
    fn schema(&self) -> SchemaRef {
        nona_table::schemas::train_predictions()
    }

    fn metadata(&self) -> nona_table::Metadata {
        let mut metadata = nona_table::Metadata::new();
        metadata.insert(
            "nona.input".to_owned(),
            self.table.path.display().to_string(),
        );
        for key in ["nona.model_id", "nona.weights_sha256"] {
            if let Some(value) = self.table.metadata.get(key) {
                metadata.insert(key.to_owned(), value.clone());
            }
        }
        metadata.insert(
            "nona.grid".to_owned(),
            serde_json::to_string(&self.stage.config.grid).unwrap_or_default(),
        );
        metadata
    }

    fn plan(&self) -> Plan {
        Plan {
            unit_items: vec![1; self.stage.grid.len()],
        }
    }

    fn run_unit(&self, ctx: &StageContext, unit: usize) -> anyhow::Result<UnitOutput> {
        let stage = self.stage;
        let cell = stage
            .grid
            .cell(unit)
            .ok_or_else(|| anyhow!("the grid has no cell {unit}"))?;
        let splits = &self.splits[&cell.seed];
        let table = &self.table;
        let (train_rows, train_x) = TrainStage::gather(table, "train", &splits.train);
        let (validation_rows, validation_x) =
            TrainStage::gather(table, "validation", &splits.validation);
        let (test_rows, test_x) = TrainStage::gather(table, "test", &splits.test);
        let data = TrainData {
            dim: table.dim,
            train: SplitData {
                features: &train_x,
                labels: &train_rows.labels,
            },
            validation: SplitData {
                features: &validation_x,
                labels: &validation_rows.labels,
            },
            test: SplitData {
                features: &test_x,
                labels: &test_rows.labels,
            },
        };
        let trained = match train_cell(&data, cell) {
            Ok(trained) => trained,
            Err(error @ TrainError::Diverged { .. }) => {
                ctx.progress.advance(1);
                return Ok(UnitOutput {
                    errors: vec![RowError {
                        id: None,
                        source: describe_cell(unit, cell),
                        message: error.to_string(),
                    }],
                    ..UnitOutput::default()
                });
            }
            Err(error) => return Err(error).context(describe_cell(unit, cell)),
        };
        let splits = [train_rows, validation_rows, test_rows];
        let key = CellKey {
            index: unit,
            config: cell,
        };
        if stage.config.save_models {
            let saved = SavedModel {
                trained: &trained,
                provenance: self.provenance.as_ref(),
                bank: &splits[0],
            };
            saved.save(&ctx.dir.path().join(MODELS_DIR), unit)?;
        }
        let mut output = UnitOutput {
            rows: vec![tables::predictions(&key, &trained, &splits)?],
            ..UnitOutput::default()
        };
        output.tables.insert(
            "embeddings",
            vec![tables::embeddings(&key, &trained, &splits)?],
        );
        output
            .tables
            .insert("curves", vec![tables::curves(&key, &trained)?]);
        output
            .tables
            .insert("metrics", vec![tables::metrics(&key, &trained, &splits)?]);
        let top_k = stage.config.explain_top_k;
        if top_k > 0
            && let Some(batch) = tables::explanations(&key, &trained, &splits, top_k)?
        {
            output.tables.insert("explanations", vec![batch]);
        }
        ctx.progress.advance(1);
        Ok(output)
    }
}

/// What a model directory holds.
struct SavedModel<'a> {
    trained: &'a nona_train::TrainedCell,
    provenance: Option<&'a Provenance>,
    /// The training split: NONA's neighbour bank, in bank order.
    bank: &'a SplitRows<'a>,
}

impl SavedModel<'_> {
    /// Writes `models/cell-NNNNN/` through a temporary directory, so it is either complete or
    /// absent.
    fn save(&self, models: &Path, unit: usize) -> anyhow::Result<()> {
        let target = models.join(format!("cell-{unit:05}"));
        let temp = models.join(format!(".cell-{unit:05}.{}.tmp", std::process::id()));
        if temp.exists() {
            std::fs::remove_dir_all(&temp)?;
        }
        std::fs::create_dir_all(&temp).with_context(|| format!("creating {}", temp.display()))?;
        self.write(&temp)?;
        if target.exists() {
            std::fs::remove_dir_all(&target)
                .with_context(|| format!("replacing {}", target.display()))?;
        }
        std::fs::rename(&temp, &target).with_context(|| format!("writing {}", target.display()))?;
        Ok(())
    }

    fn write(&self, dir: &Path) -> anyhow::Result<()> {
        let trained = self.trained;
        trained.model.save(dir)?;
        write_atomic(
            &dir.join("cell.json"),
            serde_json::to_string_pretty(&trained.summary())?.as_bytes(),
        )?;
        if let Some(provenance) = self.provenance {
            provenance.save(dir)?;
        }
        if trained.model.config().head == nona_train::HeadKind::Nona {
            provenance::save_neighbours(dir, &self.bank.ids, &self.bank.labels)?;
        }
        Ok(())
    }
}
