//! `make rsna` in miniature: a small generated phantom through the shipped
//! `pipelines/rsna-demo.toml` (which extends `rsna.toml`), with the real EfficientNet-Lite0
//! weights that `make weights` fetches, from preprocessing to the report.

mod common;

use std::path::PathBuf;

use common::{assert_conforms, nona, schema_file, stderr, stdout, table_rows};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn the_rsna_demo_pipeline_runs_end_to_end_on_a_small_phantom() {
    let weights = repo().join("weights");
    assert!(
        weights.join("efficientnet-lite0-57934424.pth").is_file(),
        "run `make weights` first (make test does)"
    );
    let tmp = tempfile::tempdir().unwrap();
    let phantom = tmp.path().join("phantom");
    let generate = nona()
        .args(["phantom", "rsna", "--count", "40", "--size", "64", "--out"])
        .arg(&phantom)
        .output()
        .unwrap();
    assert!(generate.status.success(), "{}", stderr(&generate));

    // The shipped files, made small: fewer seeds and epochs, smaller images.
    std::fs::write(
        tmp.path().join("mini.toml"),
        format!(
            r#"extends = "{}"
name = "mini"

[preprocess.image]
transforms = [{{ resize = [64, 64] }}, {{ normalize = "half" }}]

[train.grid]
seeds = 2
hidden = [32]

[train.grid.optim]
max_epochs = 8
"#,
            repo().join("pipelines/rsna-demo.toml").display()
        ),
    )
    .unwrap();
    let run = || {
        nona()
            .current_dir(tmp.path())
            .env("NONA_RSNA_PHANTOM_ROOT", &phantom)
            .env("NONA_WEIGHTS_DIR", &weights)
            .args(["run", "mini.toml"])
            .output()
            .unwrap()
    };
    let out = run();
    assert!(out.status.success(), "{}", stderr(&out));
    let printed = stdout(&out);
    assert!(printed.contains("| RSNA phantom |"), "{printed}");
    assert!(
        stderr(&out).contains("GENERATED (synthetic) data"),
        "{}",
        stderr(&out)
    );

    let runs = tmp.path().join("runs/mini");
    assert_eq!(table_rows(&runs.join("embed")).len(), 40);
    let report = std::fs::read_to_string(runs.join("report/report.md")).unwrap();
    assert!(report.starts_with("> **Warning"), "{report}");
    assert!(report.contains("the data is generated"), "{report}");
    assert!(
        report.contains("efficientnet_lite0 in place of the paper's ResNet-18"),
        "{report}"
    );
    assert!(report.contains("| Dataset | Dense | Dense + k-NN | NONA | NONA + k-NN | k-NN |"));
    // Both seeds' spread scored for every method with neighbours.
    for method in ["NONA", "NONA + k-NN", "Dense + k-NN", "k-NN"] {
        assert!(report.contains(&format!("\n| {method} | 2 |")), "{report}");
    }
    // The neighbour evidence names the phantom's image files and draws them: three rows of a
    // query and its five neighbours.
    assert!(
        report.contains("### highest error: ") && report.contains(".png | "),
        "{report}"
    );
    assert!(
        report.contains("](plots/neighbour-evidence.png)"),
        "{report}"
    );
    let figure = image::open(runs.join("report/plots/neighbour-evidence.png")).unwrap();
    assert!(figure.width() > 6 * 128 && figure.height() > 3 * 128);
    let metadata = nona_table::Dataset::open(&runs.join("train/predictions"))
        .unwrap()
        .metadata()
        .clone();
    assert_eq!(metadata["nona.synthetic"], "true");
    assert_eq!(metadata["nona.model_id"], "efficientnet_lite0");
    // The neighbour evidence of both seeds' NONA cells: 5 rows per validation or test sample.
    let explanations = runs.join("train/explanations");
    assert_conforms(
        &schema_file("train-explanations.schema.json"),
        &explanations,
    );
    let evaluated = table_rows(&runs.join("train/predictions"))
        .iter()
        .filter(|row| row.contains("|nona|") && !row.contains("|train|"))
        .count();
    assert!(evaluated > 0);
    assert_eq!(table_rows(&explanations).len(), 5 * evaluated);

    let again = run();
    assert!(again.status.success(), "{}", stderr(&again));
    let printed = stdout(&again);
    for stage in ["preprocess", "embed", "train", "knn", "report"] {
        assert!(
            printed.contains(&format!("{stage:<11} up to date")),
            "{printed}"
        );
    }
}
