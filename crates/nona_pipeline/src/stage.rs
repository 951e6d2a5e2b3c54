//! The contract between the engine and a stage: the declaration ([`Stage`]), the loaded run
//! ([`StageRun`]) and the type-erased form the engine drives ([`DynStage`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use serde::de::DeserializeOwned;

use crate::config::{ConfigError, Pipeline};
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
    /// Batches of the stage's main table (schema: [`StageRun::schema`]).
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
    /// Counts the stage's finished items (one that counts nothing while the stage loads).
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

    /// The output directory of upstream stage `name`, if the stage declared it as an input
    /// (for inputs that depend on what the pipeline has).
    pub fn optional_input(&self, name: &str) -> Option<&Path> {
        self.inputs.get(name).map(StageDir::path)
    }

    /// Where the engine's files for this stage live.
    pub fn dir_path(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }
}

/// A pipeline stage as declared: what it is called, what it reads, how it is configured and
/// fingerprinted, and which tables it writes. Nothing here runs the stage: [`Stage::load`] turns
/// the declaration into a [`StageRun`], which the engine then drives.
///
/// The registry ([`crate::registry`]) deserialises the stage's `[NAME]` section into
/// [`Stage::Config`] (unknown keys and wrong types are reported at `file:line:col`) and hands it
/// to [`Stage::build`] for the checks serde cannot make (values in range, files that exist, …).
pub trait Stage: Sized + Send + Sync + 'static {
    /// The stage's section name in pipeline files and its directory name.
    const NAME: &'static str;

    /// Bumped when the stage's output for the same config and inputs changes.
    const VERSION: u32;

    /// Whether the stage makes up its data (outputs are then labelled synthetic whatever the
    /// dataset says).
    const GENERATES_DATA: bool = false;

    /// The `[NAME]` section.
    type Config: DeserializeOwned;

    /// The loaded stage, borrowing its declaration.
    type Run<'s>: StageRun + 's;

    /// Checks what serde cannot check and builds the stage; every problem is reported.
    fn build(config: Self::Config, pipeline: &Pipeline) -> Result<Self, Vec<ConfigError>>;

    /// Reads `[NAME]` and builds the stage; `None` when the pipeline has no such section. Stages
    /// keep this default.
    fn from_pipeline(pipeline: &Pipeline) -> Result<Option<Self>, Vec<ConfigError>> {
        match pipeline.section::<Self::Config>(Self::NAME) {
            Ok(Some(config)) => Self::build(config, pipeline).map(Some),
            Ok(None) => Ok(None),
            Err(error) => Err(vec![error]),
        }
    }

    /// Stages whose output this stage reads (written with their [`Stage::NAME`]s).
    fn depends_on(&self) -> &[&'static str] {
        &[]
    }

    /// The stage's config and any external inputs (e.g. the manifest's digest), as JSON. It and
    /// the upstream fingerprints make this stage's fingerprint.
    fn fingerprint(&self) -> anyhow::Result<serde_json::Value>;

    /// Whether a failing sample stops the stage (`on_error = "fail"`) instead of being recorded.
    fn fail_on_error(&self) -> bool {
        false
    }

    /// Where the main table goes: `None` is the stage directory itself (right for a stage with
    /// one table: the directory then opens as that table); a name is a subdirectory. Its schema
    /// comes from the run ([`StageRun::schema`]).
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

    /// Reads the stage's inputs (upstream tables, models, …) into a run.
    fn load<'s>(&'s self, ctx: &StageContext) -> anyhow::Result<Self::Run<'s>>;
}

/// A loaded stage: its work units and their outputs.
///
/// Units are numbered `0..plan().unit_items.len()`; each must be a pure function of the stage's
/// config and inputs, so that units can run in any process (`--shard`), be re-run after a crash,
/// and give the same table as one uninterrupted run.
pub trait StageRun: Send + Sync {
    /// Schema of the main table (from the run: `embed`'s width is the loaded backbone's).
    fn schema(&self) -> SchemaRef;

    /// Footer metadata for every part (pipeline, stage and engine keys are added by the engine).
    fn metadata(&self) -> nona_table::Metadata {
        nona_table::Metadata::new()
    }

    /// The stage's number of work units, and the items (rows) each covers, for progress.
    fn plan(&self) -> Plan;

    /// Runs unit `unit`.
    fn run_unit(&self, ctx: &StageContext, unit: usize) -> anyhow::Result<UnitOutput>;

    /// Runs once every unit is done (in whichever process completes the stage), before the
    /// record and `_SUCCESS` are written; files it writes must be written atomically.
    fn finish(&self, _ctx: &StageContext) -> anyhow::Result<()> {
        Ok(())
    }
}

/// A stage's division of work.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Items (e.g. rows) in each unit; its length is the number of units.
    pub unit_items: Vec<u64>,
}

impl Plan {
    /// `total` items in units of at most `chunk` (at least one unit, possibly empty).
    pub fn chunks(total: u64, chunk: u64) -> Self {
        let units = total.div_ceil(chunk).max(1);
        Self {
            unit_items: (0..units)
                .map(|u| chunk.min(total.saturating_sub(u * chunk)))
                .collect(),
        }
    }
}

/// A built stage with its type erased, as the engine drives it.
pub trait DynStage: Send + Sync {
    /// [`Stage::NAME`].
    fn name(&self) -> &'static str;
    /// [`Stage::VERSION`].
    fn version(&self) -> u32;
    /// [`Stage::GENERATES_DATA`].
    fn generates_data(&self) -> bool;
    /// [`Stage::depends_on`].
    fn depends_on(&self) -> &[&'static str];
    /// [`Stage::fingerprint`].
    fn fingerprint(&self) -> anyhow::Result<serde_json::Value>;
    /// [`Stage::fail_on_error`].
    fn fail_on_error(&self) -> bool;
    /// [`Stage::main_table`].
    fn main_table(&self) -> Option<&'static str>;
    /// [`Stage::tables`].
    fn tables(&self) -> Vec<(&'static str, SchemaRef)>;
    /// [`Stage::concurrent_units`].
    fn concurrent_units(&self) -> usize;
    /// [`Stage::load`].
    fn load<'s>(&'s self, ctx: &StageContext) -> anyhow::Result<Box<dyn StageRun + 's>>;
}

/// A [`Stage`] behind [`DynStage`] (a wrapper, so that the two traits' methods never clash).
pub(crate) struct Erased<S>(pub(crate) S);

impl<S: Stage> DynStage for Erased<S> {
    fn name(&self) -> &'static str {
        S::NAME
    }

    fn version(&self) -> u32 {
        S::VERSION
    }

    fn generates_data(&self) -> bool {
        S::GENERATES_DATA
    }

    fn depends_on(&self) -> &[&'static str] {
        self.0.depends_on()
    }

    fn fingerprint(&self) -> anyhow::Result<serde_json::Value> {
        self.0.fingerprint()
    }

    fn fail_on_error(&self) -> bool {
        self.0.fail_on_error()
    }

    fn main_table(&self) -> Option<&'static str> {
        self.0.main_table()
    }

    fn tables(&self) -> Vec<(&'static str, SchemaRef)> {
        self.0.tables()
    }

    fn concurrent_units(&self) -> usize {
        self.0.concurrent_units()
    }

    fn load<'s>(&'s self, ctx: &StageContext) -> anyhow::Result<Box<dyn StageRun + 's>> {
        Ok(Box::new(self.0.load(ctx)?))
    }
}
