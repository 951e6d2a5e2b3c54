//! The contract between the engine and a stage.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;

use crate::config::Pipeline;
use crate::progress::Progress;
use crate::run_dir::StageDir;

/// A sample a stage could not process; it becomes a row of the stage's errors table.
#[derive(Debug, Clone, PartialEq)]
pub struct RowError {
    /// The sample's id, when it has one.
    pub id: Option<String>,
    /// The file or manifest location the sample came from.
    pub source: String,
    /// What went wrong.
    pub message: String,
}

/// What one work unit produced. The engine writes it atomically: errors first, then the further
/// tables, then the main table, then the unit's done-marker.
#[derive(Debug, Default)]
pub struct UnitOutput {
    /// Batches of the stage's main table (schema: [`Stage::schema`]).
    pub rows: Vec<RecordBatch>,
    /// Batches of the stage's further tables, by name (see [`Stage::tables`]); a table the unit
    /// has no rows for may be left out.
    pub tables: BTreeMap<&'static str, Vec<RecordBatch>>,
    /// Samples that failed.
    pub errors: Vec<RowError>,
}

/// Everything a stage may look at while it runs.
pub struct StageContext<'a> {
    /// The pipeline being run.
    pub pipeline: &'a Pipeline,
    /// This stage's output directory.
    pub dir: StageDir,
    /// Completed upstream stages' directories, by stage name.
    pub inputs: BTreeMap<String, StageDir>,
    /// Counts the stage's finished items.
    pub progress: &'a Progress,
}

impl StageContext<'_> {
    /// The output directory of upstream stage `name`.
    pub fn input(&self, name: &str) -> &Path {
        self.inputs
            .get(name)
            .unwrap_or_else(|| panic!("stage `{name}` is not an input of this stage"))
            .path()
    }

    /// Where the engine's files for this stage live.
    pub fn dir_path(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }
}

/// A pipeline stage: turns its inputs into one table, in independent work units.
///
/// Units are numbered `0..plan()`; each must be a pure function of the stage's config and
/// inputs, so that units can run in any process (`--shard`), be re-run after a crash, and give
/// the same table as one uninterrupted run.
pub trait Stage: Send + Sync {
    /// The stage's section name in pipeline files and its directory name.
    fn name(&self) -> &'static str;

    /// Stages whose output this stage reads.
    fn depends_on(&self) -> &'static [&'static str];

    /// Bumped when the stage's output for the same config and inputs changes.
    fn version(&self) -> u32;

    /// The stage's config and any external inputs (e.g. the manifest's digest), as JSON. It and
    /// the upstream fingerprints make this stage's fingerprint.
    fn fingerprint_inputs(&mut self, pipeline: &Pipeline) -> anyhow::Result<serde_json::Value>;

    /// Whether a failing sample stops the stage (`on_error = "fail"`) instead of being recorded.
    fn fail_on_error(&self) -> bool;

    /// Schema of the main table.
    fn schema(&self) -> SchemaRef;

    /// Where the main table goes: `None` is the stage directory itself (right for a stage with
    /// one table: the directory then opens as that table); a name is a subdirectory.
    fn main_table(&self) -> Option<&'static str> {
        None
    }

    /// Further tables (name and schema), each written to the subdirectory `<name>/`, one part per
    /// unit. A stage with further tables should put its main table in a subdirectory too.
    fn tables(&self) -> Vec<(&'static str, SchemaRef)> {
        Vec::new()
    }

    /// How many units this process may run at once, each on its own thread (units are
    /// independent by contract). Default 1: stages that parallelise inside a unit keep it.
    fn concurrent_units(&self) -> usize {
        1
    }

    /// Whether the stage makes up its data (outputs are then labelled synthetic whatever the
    /// dataset says).
    fn generates_data(&self) -> bool {
        false
    }

    /// Footer metadata for every part (pipeline, stage and stage-specific keys are added by the
    /// engine).
    fn metadata(&self) -> nona_table::Metadata {
        nona_table::Metadata::new()
    }

    /// Loads what the stage needs and returns its number of work units, and the number of
    /// items (rows) each unit covers, for progress.
    fn plan(&mut self, ctx: &StageContext) -> anyhow::Result<Plan>;

    /// Runs unit `unit`.
    fn run_unit(&self, ctx: &StageContext, unit: usize) -> anyhow::Result<UnitOutput>;
}

/// A stage's division of work.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Items (e.g. rows) in each unit; its length is the number of units.
    pub unit_items: Vec<u64>,
}
