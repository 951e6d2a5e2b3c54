//! The engine tests' stages: `fake`, whose units can fail, panic, record bad samples or abort
//! their process at a chosen unit, and `sum`, which reads `fake`'s table.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use arrow::array::{Array, Int64Array};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use nona_pipeline::config::{ConfigError, Pipeline};
use nona_pipeline::registry::StageEntry;
use nona_pipeline::run_dir::write_atomic;
use nona_pipeline::{Plan, RowError, Stage, StageContext, StageRun, UnitOutput};
use serde::Deserialize;
use serde_json::json;

/// Makes the fake stage abort its process when it starts this unit.
pub const ABORT_AT: &str = "NONA_ENGINE_TEST_ABORT_AT";

/// `[fake]`: the table is `value = 10 * unit + salt`, one row per unit; only `units` and
/// `salt` are fingerprinted, so that a fault can be removed and the run resumed.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FakeConfig {
    units: usize,
    #[serde(default)]
    salt: i64,
    #[serde(default = "one")]
    threads: usize,
    /// `on_error = "fail"`.
    #[serde(default)]
    stop_on_error: bool,
    /// This unit returns an error.
    #[serde(default)]
    fail_at: Option<usize>,
    /// This unit panics.
    #[serde(default)]
    panic_at: Option<usize>,
    /// This unit reports one bad sample (an errors-table row) besides its row.
    #[serde(default)]
    bad_sample_at: Option<usize>,
    /// This unit returns rows for a table the stage does not declare.
    #[serde(default)]
    stray_table_at: Option<usize>,
    /// A file each unit (and `finish`) appends a line to.
    #[serde(default)]
    log: Option<PathBuf>,
}

fn one() -> usize {
    1
}

pub struct FakeStage {
    config: FakeConfig,
}

pub struct FakeRun<'s> {
    config: &'s FakeConfig,
}

impl FakeConfig {
    fn log(&self, line: &str) {
        if let Some(path) = &self.log {
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .unwrap();
            // One write, so that lines of units running at once do not interleave.
            file.write_all(format!("{line}\n").as_bytes()).unwrap();
        }
    }
}

fn values_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("unit", DataType::Int64, false),
        Field::new("value", DataType::Int64, false),
    ]))
}

fn batch(unit: usize, value: i64) -> RecordBatch {
    RecordBatch::try_new(
        values_schema(),
        vec![
            Arc::new(Int64Array::from(vec![unit as i64])),
            Arc::new(Int64Array::from(vec![value])),
        ],
    )
    .unwrap()
}

impl Stage for FakeStage {
    const NAME: &'static str = "fake";
    const VERSION: u32 = 1;
    type Config = FakeConfig;
    type Run<'s> = FakeRun<'s>;

    fn build(config: FakeConfig, pipeline: &Pipeline) -> Result<Self, Vec<ConfigError>> {
        if config.units == 0 {
            return Err(vec![
                pipeline.error_at("fake.units", "`units` must be at least 1"),
            ]);
        }
        Ok(Self { config })
    }

    fn fingerprint(&self) -> anyhow::Result<serde_json::Value> {
        Ok(json!({ "units": self.config.units, "salt": self.config.salt }))
    }

    fn fail_on_error(&self) -> bool {
        self.config.stop_on_error
    }

    fn main_table(&self) -> Option<&'static str> {
        Some("values")
    }

    fn tables(&self) -> Vec<(&'static str, SchemaRef)> {
        vec![("squares", values_schema())]
    }

    fn concurrent_units(&self) -> usize {
        self.config.threads
    }

    fn load<'s>(&'s self, _ctx: &StageContext) -> anyhow::Result<FakeRun<'s>> {
        Ok(FakeRun {
            config: &self.config,
        })
    }
}

impl StageRun for FakeRun<'_> {
    fn schema(&self) -> SchemaRef {
        values_schema()
    }

    fn plan(&self) -> Plan {
        Plan {
            unit_items: vec![1; self.config.units],
        }
    }

    fn run_unit(&self, ctx: &StageContext, unit: usize) -> anyhow::Result<UnitOutput> {
        let config = self.config;
        config.log(&format!("unit {unit}"));
        if std::env::var(ABORT_AT).is_ok_and(|at| at == unit.to_string()) {
            std::process::abort();
        }
        if config.panic_at == Some(unit) {
            panic!("fake unit {unit} panics");
        }
        if config.fail_at == Some(unit) {
            anyhow::bail!("fake unit {unit} fails");
        }
        let value = 10 * unit as i64 + config.salt;
        let mut output = UnitOutput {
            rows: vec![batch(unit, value)],
            ..UnitOutput::default()
        };
        output
            .tables
            .insert("squares", vec![batch(unit, value * value)]);
        if config.stray_table_at == Some(unit) {
            output.tables.insert("stray", vec![batch(unit, value)]);
        }
        if config.bad_sample_at == Some(unit) {
            output.errors.push(RowError {
                id: Some(format!("sample-{unit}")),
                source: format!("fake:{unit}"),
                message: "unreadable".to_owned(),
            });
        }
        ctx.progress.advance(1);
        Ok(output)
    }

    fn finish(&self, ctx: &StageContext) -> anyhow::Result<()> {
        self.config
            .log(&format!("finish complete={}", ctx.dir.is_complete()));
        write_atomic(&ctx.dir.path().join("finished.txt"), b"done")?;
        Ok(())
    }
}

/// `[sum]`: one row, the total of `fake`'s values (a stage with an input).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SumConfig {}

pub struct SumStage;

pub struct SumRun {
    total: i64,
}

impl Stage for SumStage {
    const NAME: &'static str = "sum";
    const VERSION: u32 = 1;
    type Config = SumConfig;
    type Run<'s> = SumRun;

    fn build(_config: SumConfig, _pipeline: &Pipeline) -> Result<Self, Vec<ConfigError>> {
        Ok(Self)
    }

    fn depends_on(&self) -> &'static [&'static str] {
        &[FakeStage::NAME]
    }

    fn fingerprint(&self) -> anyhow::Result<serde_json::Value> {
        Ok(json!({}))
    }

    fn load(&self, ctx: &StageContext) -> anyhow::Result<SumRun> {
        let values = ctx.input(FakeStage::NAME).join("values");
        let total = int_column(&nona_table::Dataset::open(&values)?, "value")
            .iter()
            .sum();
        Ok(SumRun { total })
    }
}

impl StageRun for SumRun {
    fn schema(&self) -> SchemaRef {
        values_schema()
    }

    fn plan(&self) -> Plan {
        Plan {
            unit_items: vec![1],
        }
    }

    fn run_unit(&self, _ctx: &StageContext, unit: usize) -> anyhow::Result<UnitOutput> {
        Ok(UnitOutput {
            rows: vec![batch(unit, self.total)],
            ..UnitOutput::default()
        })
    }
}

/// Every value of the Int64 column `name` of `dataset`, in part order.
pub fn int_column(dataset: &nona_table::Dataset, name: &str) -> Vec<i64> {
    let mut values = Vec::new();
    for batch in dataset.read_all().unwrap() {
        let column = batch.column_by_name(name).unwrap();
        let column = column.as_any().downcast_ref::<Int64Array>().unwrap();
        values.extend((0..column.len()).map(|r| column.value(r)));
    }
    values
}

pub const REGISTRY: &[StageEntry] = &[StageEntry::of::<FakeStage>(), StageEntry::of::<SumStage>()];
