//! `nona validate`: errors name the file, line and key, with a "did you mean"; `extends` layers.

mod common;

use common::{image_dataset, image_pipeline, run_in, stderr, stdout};

fn write(dir: &std::path::Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn a_valid_pipeline_validates() {
    let tmp = tempfile::tempdir().unwrap();
    image_dataset(&tmp.path().join("data"), 5);
    image_pipeline(tmp.path(), "ok", &tmp.path().join("data"), 4);
    let out = run_in(tmp.path(), &["validate", "ok.toml"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("pipeline `ok`, stages: preprocess"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn unknown_key_names_file_line_and_suggests() {
    let tmp = tempfile::tempdir().unwrap();
    image_dataset(&tmp.path().join("data"), 3);
    write(
        tmp.path(),
        "typo.toml",
        "[dataset]\nroot = \"data\"\nmanifest = \"labels.csv\"\nmodality = \"image\"\n\n[preprocess]\nshard_row = 10\n",
    );
    let out = run_in(tmp.path(), &["validate", "typo.toml"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains(
            "typo.toml:7:1: unknown key `shard_row` in `preprocess`; did you mean `shard_rows`?"
        ),
        "{err}"
    );
}

#[test]
fn misspelt_stage_and_wrong_type_and_bad_variant() {
    let tmp = tempfile::tempdir().unwrap();
    image_dataset(&tmp.path().join("data"), 3);
    let base = "[dataset]\nroot = \"data\"\nmanifest = \"labels.csv\"\nmodality = \"image\"\n";
    write(tmp.path(), "stage.toml", &format!("{base}\n[preproces]\n"));
    let err = stderr(&run_in(tmp.path(), &["validate", "stage.toml"]));
    assert!(
        err.contains("stage.toml:6:2: unknown key `preproces`; did you mean `preprocess`?"),
        "{err}"
    );

    write(
        tmp.path(),
        "type.toml",
        &format!("{base}\n[preprocess]\nshard_rows = \"many\"\n"),
    );
    let err = stderr(&run_in(tmp.path(), &["validate", "type.toml"]));
    assert!(
        err.contains("type.toml:7:1: `preprocess.shard_rows`: invalid type: string \"many\""),
        "{err}"
    );

    write(
        tmp.path(),
        "variant.toml",
        &base.replace("\"image\"", "\"imagee\""),
    );
    let err = stderr(&run_in(tmp.path(), &["validate", "variant.toml"]));
    assert!(
        err.contains(
            "variant.toml:4:1: unknown value `imagee` in `dataset`; did you mean `image`?"
        ),
        "{err}"
    );
}

#[test]
fn missing_files_are_reported_together() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("data")).unwrap();
    write(
        tmp.path(),
        "missing.toml",
        "[dataset]\nroot = \"data\"\nmanifest = \"nope.csv\"\nmodality = \"image\"\n\n[preprocess]\nshard_rows = 0\n",
    );
    let out = run_in(tmp.path(), &["validate", "missing.toml"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("missing.toml:7:1: `shard_rows` must be at least 1"),
        "{err}"
    );
    assert!(
        err.contains("missing.toml:3:1: manifest") && err.contains("nope.csv does not exist"),
        "{err}"
    );
    assert!(err.contains("2 problems found; nothing was run"), "{err}");

    write(tmp.path(), "ext.toml", "extends = \"ghost.toml\"\n");
    let err = stderr(&run_in(tmp.path(), &["validate", "ext.toml"]));
    assert!(
        err.contains("ext.toml:1:1: `extends`: no such pipeline file")
            && err.contains("ghost.toml"),
        "{err}"
    );
}

#[test]
fn missing_manifest_column_lists_the_columns() {
    let tmp = tempfile::tempdir().unwrap();
    image_dataset(&tmp.path().join("data"), 3);
    write(
        tmp.path(),
        "col.toml",
        "[dataset]\nroot = \"data\"\nmanifest = \"labels.csv\"\nmodality = \"image\"\nlabel_column = \"age\"\n\n[preprocess]\n",
    );
    let err = stderr(&run_in(tmp.path(), &["validate", "col.toml"]));
    assert!(
        err.contains("no column `age` (columns: id, path, label, group)"),
        "{err}"
    );
}

#[test]
fn extends_overrides_keys_and_resolves_paths_per_file() {
    let tmp = tempfile::tempdir().unwrap();
    let base_dir = tmp.path().join("pipelines");
    std::fs::create_dir_all(&base_dir).unwrap();
    image_dataset(&tmp.path().join("data"), 4);
    // The base sets a root relative to its own directory, and a name that must not be inherited.
    write(
        &base_dir,
        "base.toml",
        "name = \"base\"\n[dataset]\nroot = \"../data\"\nmanifest = \"labels.csv\"\nmodality = \"image\"\n\n[preprocess]\nshard_rows = 100\n",
    );
    write(
        tmp.path(),
        "child.toml",
        "extends = \"pipelines/base.toml\"\n\n[preprocess]\nshard_rowz = 2\n",
    );
    let err = stderr(&run_in(tmp.path(), &["validate", "child.toml"]));
    assert!(
        err.contains("child.toml:4:1: unknown key `shard_rowz`"),
        "the error points into the child: {err}"
    );

    write(
        tmp.path(),
        "child.toml",
        "extends = \"pipelines/base.toml\"\n\n[preprocess]\nshard_rows = 2\n",
    );
    let out = run_in(tmp.path(), &["run", "child.toml"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let record: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(tmp.path().join("runs/child/preprocess/_record.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        record["pipeline"], "child",
        "name is the child's, not inherited"
    );
    assert_eq!(
        record["config"]["preprocess"]["shard_rows"], 2,
        "child overrides the base"
    );
    assert_eq!(record["units"], 2);
}

#[test]
fn env_variables_expand_in_the_dataset_root() {
    let tmp = tempfile::tempdir().unwrap();
    image_dataset(&tmp.path().join("elsewhere"), 3);
    write(
        tmp.path(),
        "env.toml",
        "[dataset]\nroot = \"${NONA_TEST_ROOT:-missing}\"\nmanifest = \"labels.csv\"\nmodality = \"image\"\n\n[preprocess]\n",
    );
    let out = common::nona()
        .current_dir(tmp.path())
        .args(["validate", "env.toml"])
        .output()
        .unwrap();
    assert!(
        stderr(&out).contains("missing is not a directory"),
        "{}",
        stderr(&out)
    );
    let out = common::nona()
        .current_dir(tmp.path())
        .env("NONA_TEST_ROOT", tmp.path().join("elsewhere"))
        .args(["validate", "env.toml"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn manifest_problems_point_at_the_manifest_key() {
    let tmp = tempfile::tempdir().unwrap();
    image_dataset(&tmp.path().join("data"), 3);
    let pipeline = |name: &str, manifest: &str, extra: &str| {
        write(
            tmp.path(),
            &format!("{name}.toml"),
            &format!(
                "[dataset]\nroot = \"data\"\nmodality = \"image\"\nmanifest = \"{manifest}\"\n{extra}\n[preprocess]\n"
            ),
        );
        let out = run_in(tmp.path(), &["validate", &format!("{name}.toml")]);
        assert_eq!(out.status.code(), Some(2), "{name}");
        stderr(&out)
    };
    let err = pipeline("column", "labels.csv", "label_column = \"age\"\n");
    assert!(
        err.contains("column.toml:4:1: ") && err.contains("no column `age`"),
        "{err}"
    );
    let err = pipeline("missing", "nope.csv", "");
    assert!(
        err.contains("missing.toml:4:1: manifest") && err.contains("nope.csv does not exist"),
        "{err}"
    );
    std::fs::write(tmp.path().join("data/bad.csv"), b"id,p\xffth,label\n").unwrap();
    let err = pipeline("unreadable", "bad.csv", "");
    assert!(
        err.contains("unreadable.toml:4:1: ") && err.contains("not UTF-8"),
        "{err}"
    );
    std::fs::write(tmp.path().join("data/bad.parquet"), b"PAR1 not really").unwrap();
    let err = pipeline("parquet", "bad.parquet", "");
    assert!(
        err.contains("parquet.toml:4:1: ") && err.contains("bad.parquet"),
        "{err}"
    );
}

/// A key or type mistake in `[dataset]`, `[preprocess]` or `[preprocess.image]` is one error:
/// the stages that read the section (preprocess and embed) do not both report it, and embed does
/// not go on to check the transforms it could not read.
#[test]
fn a_preprocess_mistake_is_reported_once() {
    let tmp = tempfile::tempdir().unwrap();
    image_dataset(&tmp.path().join("data"), 3);
    let base = "[dataset]\nroot = \"data\"\nmanifest = \"labels.csv\"\nmodality = \"image\"\n\n[embed]\nbackbone = \"resnet18\"\nweights = \"synthetic\"\n\n";
    for (name, section, expected) in [
        (
            "key",
            "[preprocess.image]\ntransfroms = [{ resize = [8, 8] }]\n",
            "key.toml:11:1: unknown key `transfroms` in `preprocess`; did you mean `transforms`?",
        ),
        (
            "type",
            "[preprocess]\nshard_rows = \"many\"\n[preprocess.image]\ntransforms = [{ resize = [8, 8] }]\n",
            "type.toml:11:1: `preprocess.shard_rows`: invalid type: string \"many\"",
        ),
        (
            "dataset",
            "[preprocess.image]\ntransforms = [{ resize = [8, 8] }]\n",
            "dataset.toml:3:1: unknown key `manifets` in `dataset`; did you mean `manifest`?",
        ),
    ] {
        let text = format!("{base}{section}");
        let text = if name == "dataset" {
            text.replace("manifest =", "manifets =")
        } else {
            text
        };
        write(tmp.path(), &format!("{name}.toml"), &text);
        let out = run_in(tmp.path(), &["validate", &format!("{name}.toml")]);
        assert_eq!(out.status.code(), Some(2));
        let err = stderr(&out);
        assert!(err.contains(expected), "{err}");
        assert_eq!(err.matches(&format!("{name}.toml:")).count(), 2, "{err}");
        assert!(err.contains("1 problem found"), "{err}");
        assert!(!err.contains("fixed size"), "{err}");
    }
}
