//! Run directories: pipeline names that stay inside `runs/`, concurrent runs that never mix a
//! table, mixed tables refused, job-array tasks that need `--stage`, I/O errors that name paths.

mod common;

use std::path::Path;
use std::process::{Output, Stdio};

use common::{image_dataset, image_pipeline, nona, run_in, stderr, stdout, table_rows};

#[test]
fn names_that_leave_the_runs_directory_are_rejected() {
    let tmp = tempfile::tempdir().unwrap();
    image_dataset(&tmp.path().join("data"), 3);
    image_pipeline(tmp.path(), "base", &tmp.path().join("data"), 3);
    let body = std::fs::read_to_string(tmp.path().join("base.toml")).unwrap();
    for (name, problem) in [
        ("..", "is not a plain directory name"),
        (".", "is not a plain directory name"),
        ("", "is empty"),
    ] {
        std::fs::write(
            tmp.path().join("named.toml"),
            format!("name = \"{name}\"\n{body}"),
        )
        .unwrap();
        for command in ["validate", "run"] {
            let out = run_in(tmp.path(), &[command, "named.toml"]);
            assert_eq!(
                out.status.code(),
                Some(2),
                "name `{name}`: {}",
                stderr(&out)
            );
            assert!(
                stderr(&out).contains(&format!("named.toml:1:1: pipeline name `{name}` {problem}")),
                "{}",
                stderr(&out)
            );
        }
    }
    // Names derived from the file name: `...toml` → `..`, `..toml` → `.`.
    for (file, stem) in [("...toml", ".."), ("..toml", ".")] {
        std::fs::write(tmp.path().join(file), &body).unwrap();
        let out = run_in(tmp.path(), &["validate", file]);
        assert_eq!(out.status.code(), Some(2), "{file}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(&format!(
                "{file}:1:1: the pipeline name comes from the file name, and `{stem}` is not a plain directory name"
            )),
            "{}",
            stderr(&out)
        );
    }
    assert!(!tmp.path().join("preprocess").exists());
    assert!(!tmp.path().join("runs").exists(), "nothing ran");
}

/// Two `nona run`s with different settings on one runs directory, started together, again and
/// again: one may be refused (naming the other), but the table left behind is always one run's,
/// whole.
#[test]
fn concurrent_runs_with_other_settings_never_mix_a_table() {
    let tmp = tempfile::tempdir().unwrap();
    image_dataset(&tmp.path().join("data"), 120);
    let settings = [("a", "[4, 4]", 2), ("b", "[5, 5]", 3)];
    for (file, resize, shard_rows) in settings {
        image_pipeline(tmp.path(), file, &tmp.path().join("data"), shard_rows);
        let text = std::fs::read_to_string(tmp.path().join(format!("{file}.toml"))).unwrap();
        let text = format!("name = \"mix\"\n{}", text.replace("[4, 4]", resize));
        std::fs::write(tmp.path().join(format!("{file}.toml")), text).unwrap();
        let out = run_in(
            tmp.path(),
            &["run", &format!("{file}.toml"), "--runs-dir", file],
        );
        assert!(out.status.success(), "{}", stderr(&out));
    }
    for trial in 0..4 {
        let runs = format!("race-{trial}");
        let outputs = run_together(tmp.path(), &["a.toml", "b.toml"], &runs);
        assert!(
            outputs.iter().any(|o| o.status.success()),
            "trial {trial}: both failed: {}",
            outputs.iter().map(stderr).collect::<String>()
        );
        for out in outputs.iter().filter(|o| !o.status.success()) {
            let err = stderr(out);
            assert!(
                err.contains("is in use by another nona process with other settings")
                    && err.contains("pid ")
                    && err.contains("Wait for it to finish, or stop it"),
                "trial {trial}: unexplained failure: {err}"
            );
        }
        let stage = tmp.path().join(&runs).join("mix/preprocess");
        let record = nona_pipeline::engine::RunRecord::load(&stage.join("_record.json")).unwrap();
        let winner = ["a", "b"]
            .into_iter()
            .find(|reference| {
                nona_pipeline::engine::RunRecord::load(
                    &tmp.path()
                        .join(reference)
                        .join("mix/preprocess/_record.json"),
                )
                .unwrap()
                .fingerprint
                    == record.fingerprint
            })
            .expect("the record is one of the two settings'");
        assert_one_run(&stage, &record.fingerprint);
        for table in ["", "_errors"] {
            assert_eq!(
                table_rows(&stage.join(table)),
                table_rows(&tmp.path().join(winner).join("mix/preprocess").join(table)),
                "trial {trial}: {table} is not run {winner}'s"
            );
        }
    }
}

/// Two identical runs started together share the stage: both succeed with the one table.
#[test]
fn concurrent_identical_runs_both_succeed() {
    let tmp = tempfile::tempdir().unwrap();
    image_dataset(&tmp.path().join("data"), 120);
    image_pipeline(tmp.path(), "same", &tmp.path().join("data"), 2);
    let out = run_in(tmp.path(), &["run", "same.toml", "--runs-dir", "reference"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let reference = tmp.path().join("reference/same/preprocess");
    for trial in 0..3 {
        let runs = format!("twins-{trial}");
        for out in run_together(tmp.path(), &["same.toml", "same.toml"], &runs) {
            assert!(out.status.success(), "trial {trial}: {}", stderr(&out));
        }
        let stage = tmp.path().join(&runs).join("same/preprocess");
        for table in ["", "_errors"] {
            assert_eq!(
                table_rows(&stage.join(table)),
                table_rows(&reference.join(table))
            );
        }
    }
}

#[test]
fn a_mixed_table_is_refused_and_inspect_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    image_dataset(&tmp.path().join("data"), 30);
    image_pipeline(tmp.path(), "m", &tmp.path().join("data"), 8);
    let out = run_in(tmp.path(), &["run", "m.toml"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let stage = tmp.path().join("runs/m/preprocess");
    let inspect = run_in(tmp.path(), &["inspect", "runs/m/preprocess"]);
    assert!(inspect.status.success(), "{}", stderr(&inspect));

    // Another process's part, as a run with other settings would have left it.
    let errors_part = std::fs::read_dir(stage.join("_errors"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "parquet"))
        .unwrap();
    let part = nona_table::Dataset::open(&errors_part).unwrap();
    let mut metadata = part.metadata().clone();
    metadata.insert("nona.fingerprint".to_owned(), "0123456789abcdef".to_owned());
    nona_table::write_part(
        &errors_part,
        part.schema(),
        &part.read_all().unwrap(),
        &metadata,
    )
    .unwrap();
    let name = format!(
        "_errors/{}",
        errors_part.file_name().unwrap().to_string_lossy()
    );

    let out = run_in(tmp.path(), &["run", "m.toml"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(
        err.contains("is a mixed table: 1 part was not made with the stage's fingerprint")
            && err.contains(&format!("{name} (fingerprint 0123456789ab)"))
            && err.contains("--force --stage preprocess"),
        "{err}"
    );
    for path in ["runs/m/preprocess", "runs/m/preprocess/_errors"] {
        let inspect = run_in(tmp.path(), &["inspect", path]);
        assert_eq!(inspect.status.code(), Some(1), "{path}");
        assert!(
            stderr(&inspect).contains("is a mixed table") && stdout(&inspect).contains("rows"),
            "{}",
            stderr(&inspect)
        );
    }

    let fixed = run_in(
        tmp.path(),
        &["run", "m.toml", "--force", "--stage", "preprocess"],
    );
    assert!(fixed.status.success(), "{}", stderr(&fixed));
    assert!(
        run_in(tmp.path(), &["inspect", "runs/m/preprocess"])
            .status
            .success()
    );
}

#[test]
fn a_job_array_task_without_a_stage_is_a_command_line_error() {
    let tmp = tempfile::tempdir().unwrap();
    image_dataset(&tmp.path().join("data"), 6);
    let path = image_pipeline(tmp.path(), "arr", &tmp.path().join("data"), 3);
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str("\n[embed]\nbackbone = \"resnet18\"\nweights = \"synthetic\"\n");
    std::fs::write(&path, text).unwrap();
    let out = nona()
        .current_dir(tmp.path())
        .env("SLURM_ARRAY_TASK_ID", "1")
        .env("SLURM_ARRAY_TASK_COUNT", "2")
        .args(["run", "arr.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("task 1/2 of a job array")
            && stderr(&out).contains("add --stage NAME (stages: preprocess, embed)"),
        "{}",
        stderr(&out)
    );
    let out = run_in(tmp.path(), &["run", "arr.toml", "--shard", "0/2"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(!tmp.path().join("runs").exists(), "nothing ran");
}

#[test]
fn io_errors_name_the_path() {
    let tmp = tempfile::tempdir().unwrap();
    image_dataset(&tmp.path().join("data"), 3);
    image_pipeline(tmp.path(), "io", &tmp.path().join("data"), 3);
    std::fs::write(tmp.path().join("not-a-dir"), b"").unwrap();
    let out = run_in(tmp.path(), &["run", "io.toml", "--runs-dir", "not-a-dir"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("not-a-dir/io/preprocess")
            && stderr(&out).contains("Not a directory"),
        "{}",
        stderr(&out)
    );
}

/// Runs `nona run FILE --runs-dir RUNS` for every file at once; their outputs, in order.
fn run_together(dir: &Path, files: &[&str], runs: &str) -> Vec<Output> {
    let children: Vec<_> = files
        .iter()
        .map(|file| {
            nona()
                .current_dir(dir)
                .args(["run", file, "--runs-dir", runs])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    children
        .into_iter()
        .map(|child| child.wait_with_output().unwrap())
        .collect()
}

/// Every part of the stage carries `fingerprint`, and the record counts its rows.
fn assert_one_run(stage: &Path, fingerprint: &str) {
    let record = nona_pipeline::engine::RunRecord::load(&stage.join("_record.json")).unwrap();
    for (table, rows) in [("", record.rows), ("_errors", record.errors)] {
        let dataset = nona_table::Dataset::open(&stage.join(table)).unwrap();
        for part in dataset.parts() {
            assert_eq!(
                part.metadata.get("nona.fingerprint").map(String::as_str),
                Some(fingerprint),
                "{} comes from another run",
                part.path.display()
            );
        }
        assert_eq!(
            dataset.num_rows(),
            rows,
            "{table}: rows differ from the record"
        );
    }
}
