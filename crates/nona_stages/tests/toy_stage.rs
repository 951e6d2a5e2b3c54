//! Adding a stage the documented way (see `nona_stages::REGISTRY`): one type implementing
//! `Stage` and one registry line, run by the engine from a pipeline file with a `[toy]` section.

use std::sync::Arc;

use arrow::array::{Array, Float64Array, Int64Array};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use nona_pipeline::config::{ConfigError, Pipeline};
use nona_pipeline::engine::{Engine, RunOptions, StageOutcome};
use nona_pipeline::registry::{self, StageEntry};
use nona_pipeline::shard::Shard;
use nona_pipeline::{Plan, Stage, StageContext, StageRun, UnitOutput};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// `[toy]`: `count` rows `(i, i × scale)`, `rows_per_unit` to a unit.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct ToyConfig {
    count: usize,
    scale: f64,
    #[serde(default = "default_rows_per_unit")]
    rows_per_unit: usize,
}

fn default_rows_per_unit() -> usize {
    2
}

struct ToyStage {
    config: ToyConfig,
}

struct ToyRun<'s> {
    config: &'s ToyConfig,
}

impl Stage for ToyStage {
    const NAME: &'static str = "toy";
    const VERSION: u32 = 1;
    type Config = ToyConfig;
    type Run<'s> = ToyRun<'s>;

    fn build(config: ToyConfig, pipeline: &Pipeline) -> Result<Self, Vec<ConfigError>> {
        if config.rows_per_unit == 0 {
            return Err(vec![pipeline.error_at(
                "toy.rows_per_unit",
                "`rows_per_unit` must be at least 1",
            )]);
        }
        Ok(Self { config })
    }

    fn fingerprint(&self) -> anyhow::Result<serde_json::Value> {
        Ok(json!({ "toy": self.config }))
    }

    fn load<'s>(&'s self, _ctx: &StageContext) -> anyhow::Result<ToyRun<'s>> {
        Ok(ToyRun {
            config: &self.config,
        })
    }
}

impl StageRun for ToyRun<'_> {
    fn schema(&self) -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("i", DataType::Int64, false),
            Field::new("value", DataType::Float64, false),
        ]))
    }

    fn plan(&self) -> Plan {
        Plan::chunks(self.config.count as u64, self.config.rows_per_unit as u64)
    }

    fn run_unit(&self, ctx: &StageContext, unit: usize) -> anyhow::Result<UnitOutput> {
        let start = unit * self.config.rows_per_unit;
        let end = (start + self.config.rows_per_unit).min(self.config.count);
        let rows: Vec<i64> = (start as i64..end as i64).collect();
        let values: Vec<f64> = rows.iter().map(|&i| i as f64 * self.config.scale).collect();
        ctx.progress.advance(rows.len() as u64);
        Ok(UnitOutput {
            rows: vec![RecordBatch::try_new(
                self.schema(),
                vec![
                    Arc::new(Int64Array::from(rows)),
                    Arc::new(Float64Array::from(values)),
                ],
            )?],
            ..UnitOutput::default()
        })
    }
}

#[test]
fn a_toy_stage_runs_from_its_section_through_the_engine() {
    // The one registry line (here appended to the built-in list).
    let stages: Vec<StageEntry> = [nona_stages::REGISTRY, &[StageEntry::of::<ToyStage>()]].concat();
    let names: Vec<&str> = stages.iter().map(|entry| entry.name).collect();

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("toy.toml");
    std::fs::write(&file, "[toy]\ncount = 5\nscale = 1.5\n").unwrap();
    let pipeline = Pipeline::load(&file, &names).unwrap();
    let built = registry::build(&stages, &pipeline).unwrap();
    assert_eq!(built.len(), 1);

    let runs = dir.path().join("runs");
    let mut engine = Engine::new(&pipeline, &runs, built);
    let options = RunOptions {
        stage: None,
        force: false,
        shard: Shard::WHOLE,
    };
    let reports = engine.run(&options, |_| {}).unwrap();
    assert_eq!(reports[0].stage, "toy");
    assert_eq!(reports[0].outcome, StageOutcome::Completed);
    let record = reports[0].record.as_ref().unwrap();
    assert_eq!((record.units, record.rows), (3, 5));

    let table = nona_table::Dataset::open(&runs.join("toy").join("toy")).unwrap();
    let mut values = Vec::new();
    for batch in table.read_all().unwrap() {
        let column = batch.column_by_name("value").unwrap();
        let column = column.as_any().downcast_ref::<Float64Array>().unwrap();
        values.extend((0..column.len()).map(|r| column.value(r)));
    }
    assert_eq!(values, [0.0, 1.5, 3.0, 4.5, 6.0]);
}

#[test]
fn a_toy_section_is_checked_where_it_is_written() {
    let stages = [StageEntry::of::<ToyStage>()];
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("toy.toml");
    std::fs::write(&file, "[toy]\ncount = 5\nscale = 1.5\nrows_per_unit = 0\n").unwrap();
    let pipeline = Pipeline::load(&file, &["toy"]).unwrap();
    let errors = registry::build(&stages, &pipeline).err().unwrap();
    let message = errors.errors[0].to_string();
    assert!(message.contains("toy.toml:4:"), "{message}");
}
