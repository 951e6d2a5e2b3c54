//! The `report` stage: the paper's Table 1 for this run (Dense, Dense + k-NN, NONA, NONA + k-NN,
//! k-NN on the backbone; test MSE ×10³ as mean ± sd over seeds), paired tests across seeds,
//! plots, and `report.md` saying what was run and what was generated or substituted.
//!
//! Files, next to the engine's: `report.md`, `table1.md`, `table1.csv`, `plots/*.png`, and as
//! Parquet, which `nona report` combines across runs: the records in `metrics/` (one row per
//! method and seed; its footer keeps the seeds asked for and the missing results, so that a
//! combined report applies the same rule), `uncertainty/` (per method and seed, how well the
//! predictions' spread tracks their error) and, with `[geometry]`, `geometry/` (the geometry
//! section's numbers per source and seed).

mod collect;
mod combine;
mod evidence;
mod figures;
mod geometry;
mod uncertainty;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, anyhow};
use arrow::array::{Float64Array, Int64Array, StringArray};
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use nona_pipeline::config::{ConfigError, Pipeline};
use nona_pipeline::run_dir::write_atomic;
use nona_pipeline::{Plan, Stage, StageContext, StageRun, UnitOutput};
use nona_report::analysis::Analysis;
use nona_report::geometry::{GeometryRecord, render_geometry};
use nona_report::markdown::{
    Backbone, DataSource, DatasetRun, GridParameter, RunDescription, Weights, render_report,
};
use nona_report::table::{MseRecord, ResultsTable};
use nona_report::uncertainty::render_uncertainty;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::geometry::GeometryStage;
use crate::knn::KnnStage;
use crate::preprocess::PreprocessStage;
use crate::train::TrainStage;
use collect::{DENSE, KNN, KnnRun, NONA, RunResults};
pub use combine::combine;

/// The report's main file, in the stage directory.
pub const REPORT_FILE: &str = "report.md";

/// The `[report]` section.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReportConfig {
    /// Report title (default: the pipeline's description, else its name).
    pub title: Option<String>,
    /// The dataset's name in Table 1 (default: the pipeline name).
    pub dataset: Option<String>,
    /// How the data was generated, in plain words, when `[dataset] synthetic = true`.
    pub generated: Option<String>,
    /// The paper's backbone for this dataset, when the pipeline uses another in its place.
    pub substitutes_for: Option<String>,
}

/// The report stage.
pub struct ReportStage {
    config: ReportConfig,
    /// train, and knn, geometry and preprocess (whose samples table describes the ids in the
    /// neighbour evidence) when the pipeline has them.
    inputs: Vec<&'static str>,
    title: String,
    dataset: String,
}

/// The report stage with the upstream results and settings the report is made of.
pub struct ReportRun<'s> {
    stage: &'s ReportStage,
    /// Footer metadata of the train stage's predictions (backbone, weights, synthetic).
    train_metadata: nona_table::Metadata,
    results: RunResults,
    /// Seeds the train grid asked for, in grid order.
    seeds: Vec<u64>,
    grid: Vec<GridParameter>,
    /// The geometry stage's rows, sources named as in Table 1 (empty without `[geometry]`).
    geometry: Vec<GeometryRecord>,
}

impl ReportRun<'_> {
    fn describe_run(&self, ctx: &StageContext) -> RunDescription {
        let stage = self.stage;
        let metadata = &self.train_metadata;
        let synthetic = metadata.get("nona.synthetic").is_some_and(|v| v == "true");
        let data = if synthetic {
            DataSource::Generated {
                how: stage.config.generated.clone().unwrap_or_else(|| {
                    format!("see the pipeline file {}", ctx.pipeline.file.display())
                }),
            }
        } else {
            DataSource::Real
        };
        let backbone = Backbone {
            name: metadata
                .get("nona.model_id")
                .cloned()
                .unwrap_or_else(|| "user-supplied embeddings".to_owned()),
            weights: weights_of(metadata),
            substitutes_for: stage.config.substitutes_for.clone(),
        };
        RunDescription {
            title: stage.title.clone(),
            datasets: vec![DatasetRun {
                name: stage.dataset.clone(),
                data,
                backbone,
            }],
            seeds: self.seeds.clone(),
            grid: self.grid.clone(),
            missing: self.results.missing.clone(),
        }
    }
}

/// The backbone weights a table's footer records.
fn weights_of(metadata: &nona_table::Metadata) -> Weights {
    match metadata.get("nona.weights_sha256").map(String::as_str) {
        None => Weights::Unrecorded,
        Some(crate::embed::config::SYNTHETIC_WEIGHTS) => Weights::Random,
        Some(sha256) => Weights::Pretrained {
            sha256: sha256.to_owned(),
        },
    }
}

/// The train grid's axes as report parameters.
fn grid_parameters(grid: &serde_json::Value) -> Vec<GridParameter> {
    let mut parameters: Vec<GridParameter> = [
        "heads",
        "similarities",
        "softsteps",
        "params",
        "batch_sizes",
        "embedding_dims",
        "hidden",
        "clip",
    ]
    .iter()
    .map(|key| parameter(key, &grid[key]))
    .collect();
    for key in ["lr", "weight_decay", "max_epochs", "patience"] {
        parameters.push(parameter(key, &grid["optim"][key]));
    }
    parameters
}

fn parameter(name: &str, value: &serde_json::Value) -> GridParameter {
    let show = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    GridParameter {
        name: name.to_owned(),
        values: match value {
            serde_json::Value::Array(values) => values.iter().map(show).collect(),
            other => vec![show(other)],
        },
    }
}

/// Paired comparisons the paper makes, where both methods exist.
fn pairs(table: &ResultsTable) -> Vec<(&'static str, &'static str)> {
    let dense_knn = "Dense + k-NN";
    let nona_knn = "NONA + k-NN";
    [
        (NONA, DENSE),
        (nona_knn, dense_knn),
        (NONA, KNN),
        (nona_knn, KNN),
    ]
    .into_iter()
    .filter(|(a, b)| {
        table.methods().iter().any(|m| m == a) && table.methods().iter().any(|m| m == b)
    })
    .collect()
}

/// The `metrics` table: one row per (dataset, method, seed).
pub fn records_batch(records: &[MseRecord]) -> anyhow::Result<RecordBatch> {
    Ok(RecordBatch::try_new(
        nona_table::schemas::report_metrics(),
        vec![
            Arc::new(StringArray::from_iter_values(
                records.iter().map(|r| r.dataset.as_str()),
            )),
            Arc::new(StringArray::from_iter_values(
                records.iter().map(|r| r.method.as_str()),
            )),
            Arc::new(Int64Array::from_iter_values(
                records.iter().map(|r| r.seed as i64),
            )),
            Arc::new(Float64Array::from_iter_values(
                records.iter().map(|r| r.mse_x1e3),
            )),
        ],
    )?)
}

impl Stage for ReportStage {
    const NAME: &'static str = "report";

    /// 2: Table 1 shows n where a method is short of the seeds asked for, the Friedman test
    /// uses the seeds every method has, report.md lists missing results and says what was
    /// trained, and the metrics footer records the seeds asked for and the missing results.
    /// 3: report.md ends with an uncertainty section (Spearman's ρ of spread with the absolute
    /// error and the coverage of ± 2 spread, from the explanations tables), also in
    /// `uncertainty.csv`, and a neighbour-evidence section (the lowest-, median- and
    /// highest-error test samples of the first seed's NONA cell with their neighbours; for
    /// images also `plots/neighbour-evidence.png`); with `[geometry]`, an "Embedding geometry"
    /// section comes first.
    /// 4: the uncertainty scores are a Parquet table, `uncertainty/`, instead of
    /// `uncertainty.csv`, and the geometry section's numbers are kept in `geometry/`, so that
    /// `nona report` carries both sections across runs.
    const VERSION: u32 = 4;

    type Config = ReportConfig;
    type Run<'s> = ReportRun<'s>;

    fn build(config: ReportConfig, pipeline: &Pipeline) -> Result<Self, Vec<ConfigError>> {
        Ok(Self {
            title: config
                .title
                .clone()
                .or_else(|| pipeline.description.clone())
                .unwrap_or_else(|| pipeline.name.clone()),
            dataset: config
                .dataset
                .clone()
                .unwrap_or_else(|| pipeline.name.clone()),
            inputs: [
                TrainStage::NAME,
                KnnStage::NAME,
                GeometryStage::NAME,
                PreprocessStage::NAME,
            ]
            .into_iter()
            .filter(|&name| name == TrainStage::NAME || pipeline.has_stage(name))
            .collect(),
            config,
        })
    }

    fn depends_on(&self) -> &[&'static str] {
        &self.inputs
    }

    fn fingerprint(&self) -> anyhow::Result<serde_json::Value> {
        Ok(json!({
            "report": self.config,
            "title": self.title,
            "dataset": self.dataset,
        }))
    }

    fn fail_on_error(&self) -> bool {
        true
    }

    fn main_table(&self) -> Option<&'static str> {
        Some("metrics")
    }

    fn tables(&self) -> Vec<(&'static str, SchemaRef)> {
        let mut tables = vec![(
            uncertainty::TABLE,
            nona_table::schemas::report_uncertainty(),
        )];
        if self.inputs.contains(&GeometryStage::NAME) {
            tables.push((geometry::TABLE, nona_table::schemas::report_geometry()));
        }
        tables
    }

    /// Reads the train (and knn, geometry) outputs and records: results, what is missing, the grid.
    fn load<'s>(&'s self, ctx: &StageContext) -> anyhow::Result<ReportRun<'s>> {
        let train = ctx.input(TrainStage::NAME);
        let predictions = train.join("predictions");
        let train_metadata = nona_table::Dataset::open(&predictions)?.metadata().clone();
        let train_record = nona_pipeline::engine::RunRecord::load(&train.join("_record.json"))?;
        let spec: nona_train::GridSpec =
            serde_json::from_value(train_record.config["grid"].clone())
                .context("reading the train grid from the train stage's record")?;
        let train_grid = nona_train::Grid::new(&spec)?;
        let mut grid = grid_parameters(&train_record.config["grid"]);
        let knn = if let Some(dir) = ctx.optional_input(KnnStage::NAME) {
            let knn = nona_pipeline::engine::RunRecord::load(&dir.join("_record.json"))?;
            let config = &knn.config["knn"];
            grid.extend(
                ["k", "p", "weights"]
                    .iter()
                    .map(|key| parameter(&format!("k-NN {key}"), &config[key])),
            );
            Some(KnnRun {
                dir,
                backbone: config["backbone"].as_bool().unwrap_or(true),
                heads: config["heads"].as_bool().unwrap_or(true),
            })
        } else {
            None
        };
        let results = collect::read_results(train, knn.as_ref(), &self.dataset, &train_grid)?;
        let geometry = match ctx.optional_input(GeometryStage::NAME) {
            Some(dir) => geometry::read_stage_table(dir, &self.dataset, &results.methods)?,
            None => Vec::new(),
        };
        Ok(ReportRun {
            stage: self,
            train_metadata,
            results,
            seeds: spec.seeds.values(),
            grid,
            geometry,
        })
    }
}

impl StageRun for ReportRun<'_> {
    fn schema(&self) -> SchemaRef {
        nona_table::schemas::report_metrics()
    }

    fn metadata(&self) -> nona_table::Metadata {
        let stage = self.stage;
        let mut metadata = nona_table::Metadata::new();
        for key in ["nona.model_id", "nona.weights_sha256"] {
            if let Some(value) = self.train_metadata.get(key) {
                metadata.insert(key.to_owned(), value.clone());
            }
        }
        metadata.insert(combine::KEY_DATASET.to_owned(), stage.dataset.clone());
        if let Some(generated) = &stage.config.generated {
            metadata.insert(combine::KEY_GENERATED.to_owned(), generated.clone());
        }
        if let Some(original) = &stage.config.substitutes_for {
            metadata.insert(combine::KEY_SUBSTITUTES_FOR.to_owned(), original.clone());
        }
        metadata.insert(
            combine::KEY_SEEDS.to_owned(),
            serde_json::to_string(&self.seeds).unwrap_or_default(),
        );
        metadata.insert(
            combine::KEY_MISSING.to_owned(),
            serde_json::to_string(&self.results.missing).unwrap_or_default(),
        );
        metadata
    }

    fn plan(&self) -> Plan {
        Plan {
            unit_items: vec![1],
        }
    }

    fn run_unit(&self, ctx: &StageContext, _unit: usize) -> anyhow::Result<UnitOutput> {
        let train = ctx.input(TrainStage::NAME);
        let results = &self.results;
        let mut table = ResultsTable::from_records(&results.records)?;
        table.set_requested_seeds(&self.stage.dataset, self.seeds.len());
        let analysis = Analysis::compute(&table, &results.records, &pairs(&table));
        let run = self.describe_run(ctx);

        // One dense and one NONA cell of the first seed, for the plots.
        let first_seed = results.cells.iter().map(|c| c.seed).min();
        let mut shown = Vec::new();
        for base in [DENSE, NONA] {
            let cell = results.cells.iter().find(|c| {
                Some(c.seed) == first_seed && results.methods[&c.index].starts_with(base)
            });
            if let Some(cell) = cell {
                shown.push((results.methods[&cell.index].clone(), cell));
            }
        }
        let out = ctx.dir_path();
        let plots = figures::draw(&out, train, &shown).context("drawing the plots")?;
        let mut report = render_report(&run, &table, &analysis, &plots);
        report.push_str(&render_geometry(&self.geometry));
        let knn = ctx.optional_input(KnnStage::NAME);
        let uncertainty = uncertainty::read(&self.stage.dataset, train, knn, &results.methods)
            .context("scoring the predictions' uncertainty")?;
        if !report.ends_with("\n\n") {
            report.push('\n');
        }
        report.push_str(&render_uncertainty(&uncertainty, uncertainty::ABSENT));
        let samples = ctx.optional_input(PreprocessStage::NAME);
        let nona_cell = shown
            .iter()
            .find(|(name, _)| name.starts_with(NONA))
            .map(|(name, cell)| (name.as_str(), *cell));
        report.push('\n');
        report.push_str(
            &evidence::section(train, samples, nona_cell, &out)
                .context("the neighbour evidence")?,
        );
        write_atomic(&out.join(REPORT_FILE), report.as_bytes())?;
        write_atomic(&out.join("table1.md"), table.to_markdown().as_bytes())?;
        write_atomic(&out.join("table1.csv"), table.to_csv().as_bytes())?;
        ctx.progress.advance(1);
        let mut tables =
            BTreeMap::from([(uncertainty::TABLE, vec![uncertainty::batch(&uncertainty)?])]);
        if !self.geometry.is_empty() {
            tables.insert(geometry::TABLE, vec![geometry::batch(&self.geometry)?]);
        }
        Ok(UnitOutput {
            rows: vec![records_batch(&results.records)?],
            tables,
            ..UnitOutput::default()
        })
    }
}

/// Table 1 of the report a completed run wrote (`runs/<pipeline>/report/table1.md`).
pub fn table1_markdown(report_dir: &Path) -> anyhow::Result<String> {
    let path = report_dir.join("table1.md");
    std::fs::read_to_string(&path).map_err(|e| anyhow!("reading {}: {e}", path.display()))
}
