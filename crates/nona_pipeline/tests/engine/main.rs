//! The engine driven in-process with the stages of [`stages`]: caching by fingerprint, resume
//! after a failed, panicking or killed unit, `--force`, shards, the stage lock, the mixed-table
//! check, the errors table and `on_error = "fail"`, and stages with inputs.

mod stages;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use nona_pipeline::Stage;
use nona_pipeline::config::{ConfigErrors, Pipeline};
use nona_pipeline::engine::{Engine, RunOptions, RunRecord, StageOutcome, StageReport};
use nona_pipeline::lock::StageLock;
use nona_pipeline::registry;
use nona_pipeline::run_dir::{StageDir, write_atomic};
use nona_pipeline::shard::Shard;
use serde_json::json;

use stages::{ABORT_AT, FakeStage, REGISTRY, SumStage, int_column};

/// Set in the child process of [`killed_run_resumes_without_redoing_finished_units`]: the
/// directory of the pipeline it runs.
const CHILD_DIR: &str = "NONA_ENGINE_TEST_CHILD_DIR";

/// A pipeline file `<dir>/p.toml` with a `[fake]` section and its runs under `<dir>/runs`.
struct Setup {
    dir: PathBuf,
    _temp: Option<tempfile::TempDir>,
}

impl Setup {
    fn new(section: &str) -> Self {
        let temp = tempfile::tempdir().unwrap();
        let setup = Self::at(temp.path());
        setup.write(section);
        Self {
            _temp: Some(temp),
            ..setup
        }
    }

    fn at(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
            _temp: None,
        }
    }

    /// Rewrites the pipeline: `[fake]` with its `log` in this setup, then `keys` (which may go on
    /// with further sections).
    fn write(&self, keys: &str) {
        let log = self.dir.join("units.log");
        std::fs::write(
            self.dir.join("p.toml"),
            format!("[fake]\nlog = {:?}\n{keys}\n", log.display().to_string()),
        )
        .unwrap();
    }

    fn pipeline(&self) -> Result<Pipeline, ConfigErrors> {
        Pipeline::load(
            &self.dir.join("p.toml"),
            &registry::stage_names::<2>(REGISTRY),
        )
    }

    /// Runs the pipeline; what each stage did, in order.
    fn run_all(&self, options: &RunOptions) -> anyhow::Result<Vec<(String, StageOutcome)>> {
        let pipeline = self.pipeline().unwrap();
        let stages = registry::build(REGISTRY, &pipeline).unwrap();
        let mut engine = Engine::new(&pipeline, &self.dir.join("runs"), stages);
        let reports = engine.run(options, |_| {})?;
        Ok(reports.into_iter().map(|r| (r.stage, r.outcome)).collect())
    }

    fn run_with(&self, options: &RunOptions) -> anyhow::Result<StageReport> {
        let pipeline = self.pipeline().unwrap();
        let stages = registry::build(REGISTRY, &pipeline).unwrap();
        let mut engine = Engine::new(&pipeline, &self.dir.join("runs"), stages);
        let mut reports = engine.run(options, |_| {})?;
        Ok(reports.remove(0))
    }

    fn run(&self) -> anyhow::Result<StageReport> {
        self.run_with(&options(false, Shard::WHOLE))
    }

    fn stage_dir(&self) -> StageDir {
        StageDir::new(&self.dir.join("runs"), "p", FakeStage::NAME)
    }

    /// The `sum` stage's one value.
    fn sum(&self) -> Vec<i64> {
        let dir = StageDir::new(&self.dir.join("runs"), "p", SumStage::NAME);
        int_column(&nona_table::Dataset::open(dir.path()).unwrap(), "value")
    }

    /// `(unit, value)` of every row of `table`, sorted.
    fn table(&self, table: &str) -> Vec<(i64, i64)> {
        let dataset = nona_table::Dataset::open(&self.stage_dir().table_dir(Some(table))).unwrap();
        let units = int_column(&dataset, "unit");
        let mut rows: Vec<(i64, i64)> = units
            .into_iter()
            .zip(int_column(&dataset, "value"))
            .collect();
        rows.sort_unstable();
        rows
    }

    /// The lines logged so far, and the log emptied.
    fn take_log(&self) -> Vec<String> {
        let path = self.dir.join("units.log");
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let _ = std::fs::remove_file(&path);
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        lines.sort();
        lines
    }

    fn record(&self) -> RunRecord {
        RunRecord::load(&self.stage_dir().record_path()).unwrap()
    }
}

fn options(force: bool, shard: Shard) -> RunOptions {
    RunOptions {
        stage: Some("fake".to_owned()),
        force,
        shard,
    }
}

fn units(range: std::ops::Range<usize>) -> Vec<String> {
    let mut lines: Vec<String> = range.map(|u| format!("unit {u}")).collect();
    lines.sort();
    lines
}

fn expected(units: usize, salt: i64) -> Vec<(i64, i64)> {
    (0..units as i64).map(|u| (u, 10 * u + salt)).collect()
}

#[test]
fn a_run_writes_every_unit_then_finish_then_the_record() {
    let setup = Setup::new("units = 4\nthreads = 3");
    let report = setup.run().unwrap();
    assert_eq!(report.outcome, StageOutcome::Completed);
    assert_eq!(setup.table("values"), expected(4, 0));
    let squares: Vec<(i64, i64)> = expected(4, 0).iter().map(|&(u, v)| (u, v * v)).collect();
    assert_eq!(setup.table("squares"), squares);
    let mut log = units(0..4);
    log.insert(0, "finish complete=false".to_owned());
    assert_eq!(setup.take_log(), log);
    let record = setup.record();
    assert_eq!((record.units, record.rows, record.errors), (4, 4, 0));
    assert_eq!(record.tables, BTreeMap::from([("squares".to_owned(), 4)]));
    assert_eq!(record.config, json!({ "units": 4, "salt": 0 }));
    assert!(setup.stage_dir().is_complete());
    assert!(setup.stage_dir().path().join("finished.txt").is_file());
}

#[test]
fn an_unchanged_stage_is_not_run_again_and_a_changed_one_is_recomputed() {
    let setup = Setup::new("units = 3");
    setup.run().unwrap();
    setup.take_log();
    let again = setup.run().unwrap();
    assert_eq!(again.outcome, StageOutcome::UpToDate);
    assert!(setup.take_log().is_empty(), "nothing runs when up to date");

    setup.write("units = 3\nsalt = 1");
    assert_eq!(setup.run().unwrap().outcome, StageOutcome::Completed);
    assert_eq!(setup.table("values"), expected(3, 1));
    assert_eq!(setup.take_log().len(), 4, "three units and finish");
}

#[test]
fn force_recomputes_an_up_to_date_stage() {
    let setup = Setup::new("units = 2");
    setup.run().unwrap();
    setup.take_log();
    let forced = setup.run_with(&options(true, Shard::WHOLE)).unwrap();
    assert_eq!(forced.outcome, StageOutcome::Completed);
    assert_eq!(setup.take_log().len(), 3, "two units and finish");
    assert_eq!(setup.table("values"), expected(2, 0));
}

#[test]
fn a_failed_unit_stops_the_stage_and_a_rerun_does_only_what_is_missing() {
    let setup = Setup::new("units = 5\nfail_at = 3");
    let error = format!("{:#}", setup.run().unwrap_err());
    assert!(error.contains("stage `fake`, unit 3"), "{error}");
    assert!(error.contains("fake unit 3 fails"), "{error}");
    assert!(!setup.stage_dir().is_complete());
    assert_eq!(setup.take_log(), units(0..4));

    setup.write("units = 5");
    assert_eq!(setup.run().unwrap().outcome, StageOutcome::Completed);
    let mut log = units(3..5);
    log.insert(0, "finish complete=false".to_owned());
    assert_eq!(setup.take_log(), log);
    assert_eq!(setup.table("values"), expected(5, 0));
}

#[test]
fn a_panicking_unit_leaves_the_finished_units_for_the_rerun() {
    let setup = Setup::new("units = 4\npanic_at = 2");
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| setup.run()));
    assert!(panicked.is_err(), "the panic reaches the caller");
    assert!(setup.stage_dir().unit_done(1));
    assert!(!setup.stage_dir().unit_done(2));
    setup.take_log();

    setup.write("units = 4");
    setup.run().unwrap();
    let mut log = units(2..4);
    log.insert(0, "finish complete=false".to_owned());
    assert_eq!(setup.take_log(), log);
    assert_eq!(setup.table("values"), expected(4, 0));
}

/// The child process of [`killed_run_resumes_without_redoing_finished_units`]; a no-op in a
/// normal test run.
#[test]
fn child_run_that_aborts() {
    let Ok(dir) = std::env::var(CHILD_DIR) else {
        return;
    };
    let _ = Setup::at(Path::new(&dir)).run();
    unreachable!("the fake stage aborts the process");
}

#[test]
fn killed_run_resumes_without_redoing_finished_units() {
    let setup = Setup::new("units = 6");
    let status = Command::new(std::env::current_exe().unwrap())
        .args(["child_run_that_aborts", "--exact", "--nocapture"])
        .env(CHILD_DIR, &setup.dir)
        .env(ABORT_AT, "4")
        .status()
        .unwrap();
    assert!(!status.success(), "the child was killed");
    assert_eq!(setup.take_log(), units(0..5));
    assert!(setup.stage_dir().unit_done(3));
    assert!(!setup.stage_dir().unit_done(4));

    assert_eq!(setup.run().unwrap().outcome, StageOutcome::Completed);
    let mut log = units(4..6);
    log.insert(0, "finish complete=false".to_owned());
    assert_eq!(setup.take_log(), log, "units 0 to 3 are not redone");

    let uninterrupted = Setup::new("units = 6");
    uninterrupted.run().unwrap();
    assert_eq!(setup.table("values"), uninterrupted.table("values"));
    assert_eq!(setup.table("squares"), uninterrupted.table("squares"));
}

#[test]
fn shards_split_the_units_and_the_last_one_completes_the_stage() {
    let setup = Setup::new("units = 5");
    let first = setup
        .run_with(&options(false, Shard { index: 0, count: 2 }))
        .unwrap();
    assert_eq!(first.outcome, StageOutcome::ShardDone { remaining: 2 });
    assert_eq!(setup.take_log(), ["unit 0", "unit 2", "unit 4"]);
    assert!(!setup.stage_dir().path().join("finished.txt").exists());

    let second = setup
        .run_with(&options(false, Shard { index: 1, count: 2 }))
        .unwrap();
    assert_eq!(second.outcome, StageOutcome::Completed);
    assert_eq!(
        setup.take_log(),
        ["finish complete=false", "unit 1", "unit 3"]
    );
    assert_eq!(setup.table("values"), expected(5, 0));
    assert_eq!(setup.record().units, 5);
}

#[test]
fn force_with_a_shard_is_refused() {
    let setup = Setup::new("units = 2");
    let error = setup
        .run_with(&options(true, Shard { index: 0, count: 2 }))
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("--force cannot be combined with --shard"),
        "{error}"
    );
}

#[test]
fn bad_samples_go_to_the_errors_table_or_stop_the_stage() {
    let setup = Setup::new("units = 3\nbad_sample_at = 1");
    setup.run().unwrap();
    assert_eq!(setup.record().errors, 1);
    assert_eq!(setup.table("values"), expected(3, 0));
    let errors = nona_table::Dataset::open(&setup.stage_dir().errors_dir()).unwrap();
    assert_eq!(errors.num_rows(), 1);

    let stopping = Setup::new("units = 3\nbad_sample_at = 1\nstop_on_error = true");
    let error = stopping.run().unwrap_err().to_string();
    assert!(
        error.contains("unreadable (fake:1), id sample-1"),
        "{error}"
    );
    assert!(error.contains("on_error = \"fail\""), "{error}");
    assert!(!stopping.stage_dir().unit_done(1));
}

#[test]
fn rows_for_an_undeclared_table_fail_the_unit() {
    let setup = Setup::new("units = 2\nstray_table_at = 0");
    let error = format!("{:#}", setup.run().unwrap_err());
    assert!(
        error.contains("stage `fake` produced rows for `stray`, which is not one of its tables"),
        "{error}"
    );
}

#[test]
fn a_part_made_with_other_settings_is_found() {
    let other = Setup::new("units = 2\nsalt = 5");
    other.run().unwrap();
    let setup = Setup::new("units = 2");
    setup.run().unwrap();
    let foreign = other.stage_dir().part(Some("values"), 1);
    std::fs::copy(&foreign, setup.stage_dir().part(Some("values"), 1)).unwrap();
    let error = setup.run().unwrap_err().to_string();
    assert!(error.contains("--force --stage fake"), "{error}");
}

#[test]
fn a_stage_in_use_is_neither_forced_nor_taken_over_with_other_settings() {
    let setup = Setup::new("units = 2");
    setup.run().unwrap();
    let reader = StageLock::for_reading(&setup.stage_dir()).unwrap();
    let error = setup
        .run_with(&options(true, Shard::WHOLE))
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("is in use by another nona process"),
        "{error}"
    );
    drop(reader);

    let dir = setup.stage_dir();
    let worker = StageLock::for_work(&dir, "another", || {
        write_atomic(&dir.fingerprint_path(), b"another")?;
        Ok(())
    })
    .unwrap();
    let error = setup.run().unwrap_err().to_string();
    assert!(error.contains("with other settings"), "{error}");
    drop(worker);
    assert_eq!(setup.run().unwrap().outcome, StageOutcome::Completed);
}

#[test]
fn the_section_is_checked_where_it_is_written() {
    let setup = Setup::new("units = 0");
    let errors = registry::build(REGISTRY, &setup.pipeline().unwrap())
        .err()
        .unwrap();
    let message = errors.errors[0].to_string();
    assert!(message.contains("p.toml:3:"), "{message}");
    assert!(message.contains("`units` must be at least 1"), "{message}");

    setup.write("units = 1\nunits_typo = 2");
    let errors = registry::build(REGISTRY, &setup.pipeline().unwrap())
        .err()
        .unwrap();
    let message = errors.errors[0].to_string();
    assert!(message.contains("units_typo"), "{message}");
}

fn whole(stage: Option<&str>, force: bool) -> RunOptions {
    RunOptions {
        stage: stage.map(str::to_owned),
        force,
        shard: Shard::WHOLE,
    }
}

#[test]
fn a_stage_is_recomputed_when_its_input_is() {
    use StageOutcome::{Completed, UpToDate};
    let setup = Setup::new("units = 3\n[sum]");
    let outcomes = |list: &[(&str, StageOutcome)]| -> Vec<(String, StageOutcome)> {
        list.iter()
            .map(|(n, o)| ((*n).to_owned(), o.clone()))
            .collect()
    };
    let both = setup.run_all(&whole(None, false)).unwrap();
    assert_eq!(both, outcomes(&[("fake", Completed), ("sum", Completed)]));
    assert_eq!(setup.sum(), [30]);
    let again = setup.run_all(&whole(None, false)).unwrap();
    assert_eq!(again, outcomes(&[("fake", UpToDate), ("sum", UpToDate)]));

    setup.write("units = 3\nsalt = 1\n[sum]");
    let changed = setup.run_all(&whole(None, false)).unwrap();
    assert_eq!(
        changed,
        outcomes(&[("fake", Completed), ("sum", Completed)])
    );
    assert_eq!(setup.sum(), [33]);

    let forced = setup.run_all(&whole(Some("fake"), true)).unwrap();
    assert_eq!(forced, outcomes(&[("fake", Completed)]));
    let sum_dir = StageDir::new(&setup.dir.join("runs"), "p", SumStage::NAME);
    assert!(
        !sum_dir.is_complete(),
        "forcing a stage invalidates its dependents"
    );
    let after = setup.run_all(&whole(None, false)).unwrap();
    assert_eq!(after, outcomes(&[("fake", UpToDate), ("sum", Completed)]));
}

#[test]
fn a_stage_needs_its_input_complete_and_declared() {
    let setup = Setup::new("units = 2\n[sum]");
    let shard = RunOptions {
        stage: Some("sum".to_owned()),
        force: false,
        shard: Shard { index: 0, count: 2 },
    };
    let error = setup.run_all(&shard).unwrap_err().to_string();
    assert!(
        error.contains("stage `sum` needs stage `fake`, which is not complete"),
        "{error}"
    );

    std::fs::write(setup.dir.join("p.toml"), "[sum]\n").unwrap();
    let errors = registry::build(REGISTRY, &setup.pipeline().unwrap())
        .err()
        .unwrap();
    let message = errors.errors[0].to_string();
    assert!(
        message.contains("stage `sum` needs a `[fake]` section"),
        "{message}"
    );
}
