//! What nona writes matches the documented schemas in `schemas/`.

mod common;

use std::path::PathBuf;

use common::{assert_conforms, image_dataset, image_pipeline, run_in, schema_file, stderr};

#[test]
fn written_tables_and_records_match_the_schema_files() {
    let tmp = tempfile::tempdir().unwrap();
    image_dataset(&tmp.path().join("data"), 30);
    image_pipeline(tmp.path(), "s", &tmp.path().join("data"), 10);
    let out = run_in(tmp.path(), &["run", "s.toml"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let stage = tmp.path().join("runs/s/preprocess");
    assert_conforms(&schema_file("samples.schema.json"), &stage);
    assert_conforms(&schema_file("errors.schema.json"), &stage.join("_errors"));

    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(stage.join("_record.json")).unwrap())
            .unwrap();
    let documented: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schemas/run-record.schema.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let mut written: Vec<&String> = record.as_object().unwrap().keys().collect();
    let mut required: Vec<String> = documented["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    written.sort();
    required.sort();
    assert_eq!(
        written.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        required.iter().map(String::as_str).collect::<Vec<_>>()
    );
}

#[test]
fn a_departure_from_the_schema_is_caught() {
    // The check itself must be able to fail: the errors table is not a samples table.
    let tmp = tempfile::tempdir().unwrap();
    image_dataset(&tmp.path().join("data"), 30);
    image_pipeline(tmp.path(), "s", &tmp.path().join("data"), 10);
    assert!(run_in(tmp.path(), &["run", "s.toml"]).status.success());
    let errors = nona_table::Dataset::open(&tmp.path().join("runs/s/preprocess/_errors")).unwrap();
    let problems =
        schema_file("samples.schema.json").violations(&errors.schema(), errors.metadata());
    assert!(
        problems.iter().any(|p| p.contains("columns are")),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("column `id` nullable = true, documented false")),
        "{problems:?}"
    );
    let samples = nona_table::Dataset::open(&tmp.path().join("runs/s/preprocess")).unwrap();
    let problems = schema_file("samples.schema.json")
        .violations(&samples.schema(), &nona_table::Metadata::new());
    assert!(
        problems
            .iter()
            .any(|p| p.contains("lacks required key `nona.modality`")),
        "{problems:?}"
    );
}

#[test]
fn inspect_shows_schema_rows_and_metadata() {
    let tmp = tempfile::tempdir().unwrap();
    image_dataset(&tmp.path().join("data"), 12);
    image_pipeline(tmp.path(), "i", &tmp.path().join("data"), 5);
    assert!(run_in(tmp.path(), &["run", "i.toml"]).status.success());
    let out = run_in(tmp.path(), &["inspect", "runs/i/preprocess", "--rows", "3"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = common::stdout(&out);
    assert!(
        text.contains("runs/i/preprocess: 9 rows in 3 parts"),
        "{text}"
    );
    assert!(text.contains("label: float64 not null"), "{text}");
    assert!(text.contains("nona.stage = preprocess"), "{text}");
    assert!(
        text.contains("first 3 rows:") && text.contains("s0000"),
        "{text}"
    );
    let missing = run_in(tmp.path(), &["inspect", "runs/nothing"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr(&missing).contains("runs/nothing"),
        "{}",
        stderr(&missing)
    );
}
