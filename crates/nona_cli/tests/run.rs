//! `nona run`: caching by fingerprint, `--force`, row-level errors, shards and kill-and-resume.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{image_dataset, image_pipeline, nona, run_in, stderr, stdout, table_rows};

#[test]
fn reruns_skip_finished_stages_and_force_recomputes() {
    let tmp = tempfile::tempdir().unwrap();
    let good = image_dataset(&tmp.path().join("data"), 30);
    image_pipeline(tmp.path(), "cache", &tmp.path().join("data"), 8);

    let first = run_in(tmp.path(), &["run", "cache.toml"]);
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(
        stdout(&first).contains("preprocess  done in"),
        "{}",
        stdout(&first)
    );
    let samples = tmp.path().join("runs/cache/preprocess");
    assert_eq!(table_rows(&samples).len(), good.len());
    let part = samples.join("part-00000.parquet");
    let written = std::fs::metadata(&part).unwrap().modified().unwrap();

    let second = run_in(tmp.path(), &["run", "cache.toml"]);
    assert!(
        stdout(&second).contains("preprocess  up to date"),
        "{}",
        stdout(&second)
    );
    assert_eq!(
        std::fs::metadata(&part).unwrap().modified().unwrap(),
        written,
        "nothing rewritten"
    );

    let forced = run_in(tmp.path(), &["run", "cache.toml", "--force"]);
    assert!(
        stdout(&forced).contains("preprocess  done in"),
        "{}",
        stdout(&forced)
    );

    // A config change invalidates the stage.
    let text = std::fs::read_to_string(tmp.path().join("cache.toml"))
        .unwrap()
        .replace("shard_rows = 8", "shard_rows = 9");
    std::fs::write(tmp.path().join("cache.toml"), text).unwrap();
    let changed = run_in(tmp.path(), &["run", "cache.toml"]);
    assert!(
        stdout(&changed).contains("preprocess  done in"),
        "{}",
        stdout(&changed)
    );
    assert_eq!(table_rows(&samples).len(), good.len());
    assert!(
        !samples.join("part-00004.parquet").exists(),
        "old parts were cleared (30 rows / 9 = 4 parts)"
    );
}

#[test]
fn bad_samples_become_error_rows_and_fail_mode_stops() {
    let tmp = tempfile::tempdir().unwrap();
    let good = image_dataset(&tmp.path().join("data"), 30);
    image_pipeline(tmp.path(), "errs", &tmp.path().join("data"), 8);
    let out = run_in(tmp.path(), &["run", "errs.toml"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let errors = table_rows(&tmp.path().join("runs/errs/preprocess/_errors"));
    assert_eq!(errors.len(), 30 - good.len());
    assert!(
        stdout(&out).contains(&format!(
            "({} rows, {} errors)",
            good.len(),
            30 - good.len()
        )),
        "{}",
        stdout(&out)
    );
    let joined = errors.join("\n");
    assert!(
        joined.contains("s0005|preprocess|")
            && joined.contains("label `not-a-number` (column `label`) is not a finite number"),
        "{joined}"
    );
    assert!(
        joined.contains("s0007|preprocess|") && joined.contains("not a decodable image"),
        "{joined}"
    );
    assert!(
        joined.contains("s0011|preprocess|") && joined.contains("cannot read file"),
        "{joined}"
    );

    let text = std::fs::read_to_string(tmp.path().join("errs.toml"))
        .unwrap()
        .replace("shard_rows = 8", "shard_rows = 8\non_error = \"fail\"");
    std::fs::write(tmp.path().join("errs.toml"), text).unwrap();
    let out = run_in(tmp.path(), &["run", "errs.toml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("label `not-a-number` (column `label`) is not a finite number"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("on_error = \"fail\" stops here"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn shards_then_a_plain_run_equal_one_unsharded_run() {
    let tmp = tempfile::tempdir().unwrap();
    image_dataset(&tmp.path().join("data"), 40);
    image_pipeline(tmp.path(), "sh", &tmp.path().join("data"), 3);

    let whole = run_in(tmp.path(), &["run", "sh.toml", "--runs-dir", "whole"]);
    assert!(whole.status.success(), "{}", stderr(&whole));

    for index in 0..3 {
        let shard = format!("{index}/3");
        let out = run_in(
            tmp.path(),
            &[
                "run",
                "sh.toml",
                "--stage",
                "preprocess",
                "--shard",
                &shard,
                "--runs-dir",
                "sharded",
            ],
        );
        assert!(out.status.success(), "{}", stderr(&out));
        if index < 2 {
            assert!(
                stdout(&out).contains("left for other shards"),
                "{}",
                stdout(&out)
            );
        }
    }
    // Slurm's environment selects a shard as --shard does.
    let out = nona()
        .current_dir(tmp.path())
        .env("SLURM_ARRAY_TASK_ID", "1")
        .env("SLURM_ARRAY_TASK_COUNT", "3")
        .args([
            "run",
            "sh.toml",
            "--stage",
            "preprocess",
            "--runs-dir",
            "sharded",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));

    let finish = run_in(tmp.path(), &["run", "sh.toml", "--runs-dir", "sharded"]);
    assert!(finish.status.success(), "{}", stderr(&finish));
    for table in ["preprocess", "preprocess/_errors"] {
        let a = table_rows(&tmp.path().join("whole/sh").join(table));
        let b = table_rows(&tmp.path().join("sharded/sh").join(table));
        assert!(!a.is_empty());
        assert_eq!(a, b, "{table} differs between sharded and unsharded runs");
    }

    // Shards of a job array start at the same moment on a fresh directory.
    let spawned: Vec<_> = (0..4)
        .map(|index| {
            nona()
                .current_dir(tmp.path())
                .args([
                    "run",
                    "sh.toml",
                    "--stage",
                    "preprocess",
                    "--shard",
                    &format!("{index}/4"),
                    "--runs-dir",
                    "concurrent",
                ])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in spawned {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "concurrent shard failed: {}",
            stderr(&out)
        );
    }
    assert!(
        tmp.path()
            .join("concurrent/sh/preprocess/_SUCCESS")
            .exists(),
        "the last shard completes the stage"
    );
    let finish = run_in(tmp.path(), &["run", "sh.toml", "--runs-dir", "concurrent"]);
    assert!(finish.status.success(), "{}", stderr(&finish));
    for table in ["preprocess", "preprocess/_errors"] {
        let a = table_rows(&tmp.path().join("whole/sh").join(table));
        let b = table_rows(&tmp.path().join("concurrent/sh").join(table));
        assert_eq!(
            a, b,
            "{table} differs between concurrent shards and one run"
        );
    }
}

#[test]
fn shard_needs_a_stage_and_rejects_force() {
    let tmp = tempfile::tempdir().unwrap();
    image_dataset(&tmp.path().join("data"), 3);
    image_pipeline(tmp.path(), "p", &tmp.path().join("data"), 3);
    let out = run_in(
        tmp.path(),
        &[
            "run",
            "p.toml",
            "--stage",
            "preprocess",
            "--shard",
            "0/2",
            "--force",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("--force cannot be combined with --shard"),
        "{}",
        stderr(&out)
    );
    let out = run_in(tmp.path(), &["run", "p.toml", "--stage", "preproces"]);
    assert!(
        stderr(&out).contains("did you mean `preprocess`?"),
        "{}",
        stderr(&out)
    );
    let out = run_in(tmp.path(), &["run", "p.toml", "--shard", "3/2"]);
    assert_eq!(out.status.code(), Some(2));
}

/// Kills `nona run` with SIGKILL at growing delays until one kill lands mid-stage, then resumes;
/// the result must equal an uninterrupted run.
#[test]
fn killed_runs_resume_to_the_same_rows() {
    let tmp = tempfile::tempdir().unwrap();
    image_dataset(&tmp.path().join("data"), 400);
    image_pipeline(tmp.path(), "k", &tmp.path().join("data"), 2);
    let reference = run_in(tmp.path(), &["run", "k.toml", "--runs-dir", "reference"]);
    assert!(reference.status.success(), "{}", stderr(&reference));

    let stage = tmp.path().join("killed/k/preprocess");
    let mut killed_mid_stage = 0;
    let mut delay = Duration::from_millis(5);
    for _ in 0..200 {
        if stage.join("_SUCCESS").exists() {
            break;
        }
        let mut child = nona()
            .current_dir(tmp.path())
            .args(["run", "k.toml", "--runs-dir", "killed"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        if units_done(&stage) > 0 && !stage.join("_SUCCESS").exists() {
            killed_mid_stage += 1;
        }
        delay += Duration::from_millis(5);
    }
    assert!(
        killed_mid_stage > 0,
        "no kill landed while the stage was partly done"
    );
    let resumed = run_in(tmp.path(), &["run", "k.toml", "--runs-dir", "killed"]);
    assert!(resumed.status.success(), "{}", stderr(&resumed));
    for table in ["preprocess", "preprocess/_errors"] {
        assert_eq!(
            table_rows(&tmp.path().join("reference/k").join(table)),
            table_rows(&tmp.path().join("killed/k").join(table)),
            "{table} differs after kill-and-resume"
        );
    }
    assert!(!has_temporaries(&stage), "temporary files were cleaned up");
}

fn units_done(stage: &Path) -> usize {
    std::fs::read_dir(stage.join("_units"))
        .map(|d| d.count())
        .unwrap_or(0)
}

fn has_temporaries(dir: &Path) -> bool {
    std::fs::read_dir(dir).unwrap().flatten().any(|e| {
        let name = e.file_name().to_string_lossy().into_owned();
        (name.starts_with('.') && name.ends_with(".parquet.tmp"))
            || (e.path().is_dir() && has_temporaries(&e.path()))
    })
}
