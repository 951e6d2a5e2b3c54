//! Drives stages: ordering, caching by fingerprint, sharded and resumable execution, records.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::config::Pipeline;
use crate::fingerprint;
use crate::lock::{StageLock, read_fingerprint};
use crate::progress::Progress;
use crate::run_dir::{StageDir, write_atomic};
use crate::shard::Shard;
use crate::stage::{DynStage, StageContext, StageRun, UnitOutput};

/// The version of nona that wrote a record; part of every fingerprint.
pub const NONA_VERSION: &str = env!("CARGO_PKG_VERSION");

/// What the user asked `nona run` to do.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Run only this stage (and any incomplete upstream stage, unless sharded).
    pub stage: Option<String>,
    /// Recompute the selected stages and invalidate their dependents.
    pub force: bool,
    /// The slice of work units this process does.
    pub shard: Shard,
}

/// What happened to one stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StageOutcome {
    /// Its output was current; nothing ran.
    UpToDate,
    /// It ran to completion.
    Completed,
    /// This shard's units are done; others remain for other shards.
    ShardDone {
        /// Units still missing overall.
        remaining: usize,
    },
}

/// The summary of one stage in one `nona run`.
#[derive(Debug, Clone)]
pub struct StageReport {
    /// Stage name.
    pub stage: String,
    /// What happened.
    pub outcome: StageOutcome,
    /// The stage's record (after completion), if complete.
    pub record: Option<RunRecord>,
}

/// `_record.json`: what a completed stage was made from and what it produced.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RunRecord {
    /// Pipeline name.
    pub pipeline: String,
    /// Stage name.
    pub stage: String,
    /// Hash of config, inputs and code version.
    pub fingerprint: String,
    /// nona version.
    pub nona_version: String,
    /// The stage implementation's version.
    pub stage_version: u32,
    /// The stage's config and external inputs, as fingerprinted.
    pub config: serde_json::Value,
    /// Upstream stage → its fingerprint.
    pub inputs: BTreeMap<String, String>,
    /// Whether the data is generated: `[dataset] synthetic`, a stage that generates its data, or
    /// any synthetic upstream stage.
    pub synthetic: bool,
    /// Work units.
    pub units: usize,
    /// Rows in the stage's main table.
    pub rows: usize,
    /// Rows in each further table of the stage, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tables: BTreeMap<String, usize>,
    /// Rows in its errors table.
    pub errors: usize,
    /// Unix time the completing process started the stage.
    pub started_unix: f64,
    /// Seconds the completing process spent.
    pub seconds: f64,
}

impl RunRecord {
    /// Reads a stage's record.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_str(&text)
            .with_context(|| format!("{}: not a valid run record", path.display()))
    }
}

/// Runs a pipeline's stages.
pub struct Engine<'a> {
    pipeline: &'a Pipeline,
    runs_root: PathBuf,
    stages: Vec<Box<dyn DynStage>>,
}

impl<'a> Engine<'a> {
    /// An engine for `pipeline` writing under `runs_root/<pipeline>/`. `stages` are the stages the
    /// pipeline declares, in dependency order.
    pub fn new(pipeline: &'a Pipeline, runs_root: &Path, stages: Vec<Box<dyn DynStage>>) -> Self {
        Self {
            pipeline,
            runs_root: runs_root.to_path_buf(),
            stages,
        }
    }

    /// The directory of stage `name`.
    pub fn stage_dir(&self, name: &str) -> StageDir {
        StageDir::new(&self.runs_root, &self.pipeline.name, name)
    }

    /// Runs the selected stages; `report` is told about each stage as it finishes.
    pub fn run(
        &mut self,
        options: &RunOptions,
        mut report: impl FnMut(&StageReport),
    ) -> anyhow::Result<Vec<StageReport>> {
        let selected = self.selection(options)?;
        if options.force {
            if !options.shard.is_whole() {
                bail!(
                    "--force cannot be combined with --shard: run `nona run --force --stage NAME` once, then the shards"
                );
            }
            // `--stage NAME` also runs NAME's upstream stages, but forces only NAME.
            let forced: Vec<&'static str> = match &options.stage {
                Some(target) => selected.iter().copied().filter(|n| n == target).collect(),
                None => selected.clone(),
            };
            for name in self.dependents_of(&forced) {
                invalidate(&self.stage_dir(name))?;
            }
        }
        let mut reports = Vec::new();
        let order: Vec<usize> = (0..self.stages.len())
            .filter(|&i| selected.contains(&self.stages[i].name()))
            .collect();
        for index in order {
            let stage_report = self.run_stage(index, options)?;
            report(&stage_report);
            let incomplete = matches!(stage_report.outcome, StageOutcome::ShardDone { .. });
            reports.push(stage_report);
            if incomplete {
                // A shard finished its slice; later stages need the whole table.
                break;
            }
        }
        Ok(reports)
    }

    fn selection(&self, options: &RunOptions) -> anyhow::Result<Vec<&'static str>> {
        let names: Vec<&'static str> = self.stages.iter().map(|s| s.name()).collect();
        let Some(target) = &options.stage else {
            if !options.shard.is_whole() && names.len() > 1 {
                bail!(
                    "--shard needs --stage NAME: shards split one stage's work (stages: {})",
                    names.join(", ")
                );
            }
            return Ok(names);
        };
        let Some(position) = names.iter().position(|n| n == target) else {
            let hint = crate::config::did_you_mean(target, names.iter().copied())
                .map(|s| format!("; did you mean `{s}`?"))
                .unwrap_or_default();
            bail!(
                "--stage {target}: the pipeline has no such stage{hint} (it has: {})",
                names.join(", ")
            );
        };
        if !options.shard.is_whole() {
            return Ok(vec![names[position]]);
        }
        // The target and whatever it (transitively) depends on.
        let mut wanted = vec![names[position]];
        let mut index = 0;
        while index < wanted.len() {
            let stage = &self.stages[names
                .iter()
                .position(|n| *n == wanted[index])
                .expect("known")];
            for dep in stage.depends_on() {
                if names.contains(dep) && !wanted.contains(dep) {
                    wanted.push(dep);
                }
            }
            index += 1;
        }
        Ok(names.into_iter().filter(|n| wanted.contains(n)).collect())
    }

    /// With `--force`: the explicitly targeted stage (or every stage) and all stages downstream.
    fn dependents_of(&self, selected: &[&'static str]) -> Vec<&'static str> {
        let mut affected: Vec<&'static str> = selected.to_vec();
        for stage in &self.stages {
            if stage.depends_on().iter().any(|d| affected.contains(d))
                && !affected.contains(&stage.name())
            {
                affected.push(stage.name());
            }
        }
        affected
    }

    fn run_stage(&self, index: usize, options: &RunOptions) -> anyhow::Result<StageReport> {
        let pipeline = self.pipeline;
        let name = self.stages[index].name();
        let dir = self.stage_dir(name);
        let mut inputs = BTreeMap::new();
        let mut input_fingerprints = BTreeMap::new();
        let mut synthetic = pipeline.synthetic_data() || self.stages[index].generates_data();
        // Held until the stage is done: nobody may clear an input under its reader.
        let mut input_locks = Vec::new();
        for dep in self.stages[index].depends_on() {
            let dep_dir = self.stage_dir(dep);
            if dep_dir.path().is_dir() {
                input_locks.push(StageLock::for_reading(&dep_dir)?);
            }
            if !dep_dir.is_complete() {
                bail!(
                    "stage `{name}` needs stage `{dep}`, which is not complete ({}); run `nona run {} --stage {dep}` first",
                    dep_dir.path().display(),
                    pipeline.file.display()
                );
            }
            let record = RunRecord::load(&dep_dir.record_path())?;
            synthetic |= record.synthetic;
            input_fingerprints.insert(dep.to_string(), record.fingerprint);
            inputs.insert(dep.to_string(), dep_dir);
        }
        let stage = self.stages[index].as_ref();
        let config = stage.fingerprint()?;
        let fingerprint = fingerprint::of_json(&json!({
            "stage": name,
            "nona_version": NONA_VERSION,
            "stage_version": stage.version(),
            "config": config,
            "inputs": input_fingerprints,
        }));

        let _lock = StageLock::for_work(&dir, &fingerprint, || {
            prepare(&dir, &fingerprint, options.shard.is_whole(), pipeline, name)
        })?;
        if dir.is_complete() {
            let record = RunRecord::load(&dir.record_path())?;
            if record.fingerprint == fingerprint {
                check_parts(&dir, &fingerprint, pipeline, name)?;
                return Ok(StageReport {
                    stage: name.to_owned(),
                    outcome: StageOutcome::UpToDate,
                    record: Some(record),
                });
            }
        }

        let started = Instant::now();
        let started_unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        let placeholder = Progress::new(name, 0);
        let run = stage.load(&StageContext {
            pipeline,
            dir: dir.clone(),
            inputs: inputs.clone(),
            progress: &placeholder,
        })?;
        let plan = run.plan();
        let units = plan.unit_items.len();
        let todo: Vec<usize> = (0..units)
            .filter(|&u| options.shard.owns(u) && !dir.unit_done(u))
            .collect();
        let progress = Progress::new(name, todo.iter().map(|&u| plan.unit_items[u]).sum());
        let ctx = StageContext {
            pipeline,
            dir: dir.clone(),
            inputs,
            progress: &progress,
        };
        let mut metadata = run.metadata();
        metadata.insert("nona.pipeline".to_owned(), pipeline.name.clone());
        metadata.insert("nona.stage".to_owned(), name.to_owned());
        metadata.insert("nona.fingerprint".to_owned(), fingerprint.clone());
        metadata.insert("nona.version".to_owned(), NONA_VERSION.to_owned());
        metadata.insert("nona.synthetic".to_owned(), synthetic.to_string());
        let run: &dyn StageRun = run.as_ref();
        let workers = stage.concurrent_units().clamp(1, todo.len().max(1));
        for_each_unit(&todo, workers, |unit| {
            let output = run
                .run_unit(&ctx, unit)
                .with_context(|| format!("stage `{name}`, unit {unit}"))?;
            if let Some(first) = output.errors.first().filter(|_| stage.fail_on_error()) {
                bail!(
                    "stage `{name}`: {} ({}){}; on_error = \"fail\" stops here (set on_error = \"skip\" to record failures in {} and go on)",
                    first.message,
                    first.source,
                    first
                        .id
                        .as_ref()
                        .map(|id| format!(", id {id}"))
                        .unwrap_or_default(),
                    dir.errors_dir().display()
                );
            }
            commit_unit(&dir, stage, run, &metadata, unit, output)
        })?;
        progress.finish();

        let remaining = (0..units).filter(|&u| !dir.unit_done(u)).count();
        if remaining > 0 {
            return Ok(StageReport {
                stage: name.to_owned(),
                outcome: StageOutcome::ShardDone { remaining },
                record: None,
            });
        }
        run.finish(&ctx)
            .with_context(|| format!("stage `{name}`, finishing"))?;
        let rows = count_rows(&dir.table_dir(stage.main_table()))?;
        let errors = count_rows(&dir.errors_dir())?;
        let mut tables = BTreeMap::new();
        for (table, _) in stage.tables() {
            tables.insert(table.to_owned(), count_rows(&dir.table_dir(Some(table)))?);
        }
        check_parts(&dir, &fingerprint, pipeline, name)?;
        let record = RunRecord {
            pipeline: pipeline.name.clone(),
            stage: name.to_owned(),
            fingerprint,
            nona_version: NONA_VERSION.to_owned(),
            stage_version: stage.version(),
            config,
            inputs: input_fingerprints,
            synthetic,
            units,
            rows,
            tables,
            errors,
            started_unix,
            seconds: started.elapsed().as_secs_f64(),
        };
        write_atomic(
            &dir.record_path(),
            serde_json::to_string_pretty(&record)?.as_bytes(),
        )?;
        write_atomic(&dir.success_marker(), b"")?;
        Ok(StageReport {
            stage: name.to_owned(),
            outcome: StageOutcome::Completed,
            record: Some(record),
        })
    }
}

/// Runs `work` on every unit of `todo`, on `workers` threads that take the next unit as they
/// free up. After a failure no new unit starts; the first error is returned.
fn for_each_unit(
    todo: &[usize],
    workers: usize,
    work: impl Fn(usize) -> anyhow::Result<()> + Sync,
) -> anyhow::Result<()> {
    if workers <= 1 {
        return todo.iter().try_for_each(|&unit| work(unit));
    }
    let next = AtomicUsize::new(0);
    let first_error: Mutex<Option<anyhow::Error>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let failed = first_error.lock().map_or(true, |error| error.is_some());
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let (false, Some(&unit)) = (failed, todo.get(index)) else {
                        break;
                    };
                    if let Err(error) = work(unit) {
                        if let Ok(mut slot) = first_error.lock() {
                            slot.get_or_insert(error);
                        }
                        break;
                    }
                }
            });
        }
    });
    match first_error.into_inner() {
        Ok(Some(error)) => Err(error),
        Ok(None) => Ok(()),
        Err(_) => bail!("a unit worker panicked"),
    }
}

/// Writes one unit's outputs: errors, then the further tables, then the main table part, then the
/// done-marker. Parts are written atomically, so a unit interrupted anywhere is simply redone.
fn commit_unit(
    dir: &StageDir,
    stage: &dyn DynStage,
    run: &dyn StageRun,
    metadata: &nona_table::Metadata,
    unit: usize,
    mut output: UnitOutput,
) -> anyhow::Result<()> {
    if !output.errors.is_empty() {
        let batch = errors_batch(stage.name(), &output.errors)?;
        nona_table::write_part(
            &dir.part(Some("_errors"), unit),
            nona_table::schemas::errors(),
            &[batch],
            metadata,
        )?;
    }
    for (table, schema) in stage.tables() {
        let batches = output.tables.remove(table).unwrap_or_default();
        nona_table::write_part(&dir.part(Some(table), unit), schema, &batches, metadata)?;
    }
    if let Some(table) = output.tables.keys().next() {
        bail!(
            "stage `{}` produced rows for `{table}`, which is not one of its tables",
            stage.name()
        );
    }
    nona_table::write_part(
        &dir.part(stage.main_table(), unit),
        run.schema(),
        &output.rows,
        metadata,
    )?;
    write_atomic(&dir.unit_marker(unit), b"")?;
    Ok(())
}

fn errors_batch(
    stage: &str,
    errors: &[crate::RowError],
) -> anyhow::Result<arrow::record_batch::RecordBatch> {
    use arrow::array::StringArray;
    use std::sync::Arc;
    let ids: StringArray = errors.iter().map(|e| e.id.as_deref()).collect();
    let stages: StringArray = errors.iter().map(|_| Some(stage)).collect();
    let sources: StringArray = errors.iter().map(|e| Some(e.source.as_str())).collect();
    let messages: StringArray = errors.iter().map(|e| Some(e.message.as_str())).collect();
    Ok(arrow::record_batch::RecordBatch::try_new(
        nona_table::schemas::errors(),
        vec![
            Arc::new(ids),
            Arc::new(stages),
            Arc::new(sources),
            Arc::new(messages),
        ],
    )?)
}

fn count_rows(dir: &Path) -> anyhow::Result<usize> {
    if !dir.is_dir() {
        return Ok(0);
    }
    match nona_table::Dataset::open(dir) {
        Ok(dataset) => Ok(dataset.num_rows()),
        Err(nona_table::TableError::Column { .. }) => Ok(0),
        Err(other) => Err(other.into()),
    }
}

/// Makes `dir` fit for parts made with `fingerprint`, under the stage's exclusive lock: parts of
/// another fingerprint are removed (a shard refuses instead: other shards may be about to start),
/// `_fingerprint` is written, and temporaries of killed processes are removed.
fn prepare(
    dir: &StageDir,
    fingerprint: &str,
    whole: bool,
    pipeline: &Pipeline,
    name: &str,
) -> anyhow::Result<()> {
    let on_disk = read_fingerprint(dir)?;
    if on_disk != fingerprint {
        if !whole && !on_disk.is_empty() {
            bail!(
                "{} holds parts made with another configuration; run `nona run {} --stage {name}` without --shard once (it clears them) before starting shards",
                dir.path().display(),
                pipeline.file.display()
            );
        }
        // Parts only ever exist next to the fingerprint they were made with, so a directory
        // without one holds nothing to clear; shards starting together must not clear each
        // other's fresh parts.
        if !on_disk.is_empty() {
            dir.remove_outputs()?;
        }
        write_atomic(&dir.fingerprint_path(), fingerprint.as_bytes())?;
    }
    remove_temporaries(dir.path());
    Ok(())
}

/// Fails when a part of any table of the stage (its errors table included) was not made with
/// `fingerprint`: another process with other settings wrote into the directory.
fn check_parts(
    dir: &StageDir,
    fingerprint: &str,
    pipeline: &Pipeline,
    name: &str,
) -> anyhow::Result<()> {
    let foreign = crate::integrity::foreign_parts(dir.path(), fingerprint)?;
    if foreign.is_empty() {
        return Ok(());
    }
    bail!(
        "{}; recompute the stage with `nona run {} --force --stage {name}`",
        crate::integrity::describe_mixed(dir.path(), fingerprint, &foreign),
        pipeline.file.display()
    )
}

/// Discards a stage's outputs so that its next run recomputes it (`--force`); fails when another
/// process uses the stage.
fn invalidate(dir: &StageDir) -> anyhow::Result<()> {
    if dir.path().exists() {
        let _lock = StageLock::exclusive(dir)?;
        dir.remove_outputs()?;
    }
    Ok(())
}

/// Leftover Parquet temporaries from killed processes; called under the stage's exclusive lock,
/// so no live process is writing one (small marker/record temporaries are left alone).
fn remove_temporaries(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            remove_temporaries(&path);
        } else if name.starts_with('.') && name.ends_with(".parquet.tmp") {
            let _ = std::fs::remove_file(path);
        }
    }
}
