//! `--set KEY=VALUE` and `--device` override pipeline keys for one invocation.

mod common;

use common::{run_in, stderr};

const PIPELINE: &str = r#"
[train]
input = "emb.parquet"
[train.grid]
seeds = 2
[knn]
"#;

#[test]
fn overrides_are_checked_like_keys_in_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("emb.parquet"), b"").unwrap();
    std::fs::write(tmp.path().join("p.toml"), PIPELINE).unwrap();
    let ok = run_in(
        tmp.path(),
        &[
            "validate",
            "p.toml",
            "--set",
            "train.grid.seeds=[0, 5]",
            "--set",
            "knn.k=[3]",
        ],
    );
    assert!(ok.status.success(), "{}", stderr(&ok));

    let bad = run_in(
        tmp.path(),
        &[
            "validate",
            "p.toml",
            "--set",
            r#"knn.weights=["uniform", "distant"]"#,
        ],
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("unknown weights `distant`"),
        "{}",
        stderr(&bad)
    );

    let typo = run_in(
        tmp.path(),
        &["validate", "p.toml", "--set", "train.grid.seed=3"],
    );
    assert_eq!(typo.status.code(), Some(2));
    assert!(stderr(&typo).contains("seed"), "{}", stderr(&typo));

    // --device is embed.device; a pipeline without [embed] says so instead of growing one.
    let device = run_in(tmp.path(), &["validate", "p.toml", "--device", "cuda"]);
    assert_eq!(device.status.code(), Some(2));
    assert!(
        stderr(&device).contains("--set embed.device: the pipeline has no `[embed]` section"),
        "{}",
        stderr(&device)
    );
    let malformed = run_in(tmp.path(), &["validate", "p.toml", "--set", "knn.k"]);
    assert_eq!(malformed.status.code(), Some(2));
    assert!(
        stderr(&malformed).contains("expected KEY=VALUE"),
        "{}",
        stderr(&malformed)
    );
}

#[test]
fn device_reaches_the_embed_stage() {
    let tmp = tempfile::tempdir().unwrap();
    common::image_dataset(&tmp.path().join("data"), 12);
    let pipeline = common::image_pipeline(tmp.path(), "d", &tmp.path().join("data"), 10);
    let mut text = std::fs::read_to_string(&pipeline).unwrap();
    text.push_str("\n[embed]\nbackbone = \"resnet18\"\nweights = \"synthetic\"\n");
    std::fs::write(&pipeline, text).unwrap();
    let out = run_in(tmp.path(), &["validate", "d.toml", "--device", "tpu"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("tpu"), "{}", stderr(&out));
    let out = run_in(tmp.path(), &["validate", "d.toml", "--device", "cpu"]);
    assert!(out.status.success(), "{}", stderr(&out));
}
