//! `nona predict` on raw inputs: a small generated phantom through the shipped
//! `pipelines/rsna-demo.toml` (EfficientNet-Lite0 with the real weights `make weights` fetches)
//! up to the train stage, then the saved NONA model on every image file (a glob: the test split
//! among the others) and on manifest rows: the same predictions and neighbour evidence as the
//! train stage, bit for bit; bad files as errors rows; and the refusals of a model whose record
//! differs.

mod common;
mod predict;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::{assert_conforms, error_rows, nona, read, real_weights, schema_file, stderr, stdout};
use predict::{explanation_rows, nona_model, predicted, test_explanations, test_predictions};

/// The phantom, its pipeline run up to `train`, and the run's NONA model.
struct Trained {
    dir: tempfile::TempDir,
    phantom: PathBuf,
    weights: PathBuf,
    /// `runs/mini/train/models/cell-NNNNN` of the NONA cell, and its cell index.
    model: PathBuf,
    cell: i64,
}

impl Trained {
    /// `None` (SKIPPED) without the real weights.
    fn new(test: &str) -> Option<Self> {
        let weights = real_weights(test, "efficientnet-lite0-57934424.pth")?;
        let weights_dir = weights.parent().unwrap().to_path_buf();
        let dir = tempfile::tempdir().unwrap();
        let phantom = dir.path().join("phantom");
        let generate = nona()
            .args(["phantom", "rsna", "--count", "30", "--size", "48", "--out"])
            .arg(&phantom)
            .output()
            .unwrap();
        assert!(generate.status.success(), "{}", stderr(&generate));
        std::fs::write(
            dir.path().join("mini.toml"),
            format!(
                r#"extends = "{}"
name = "mini"

[preprocess.image]
transforms = [{{ resize = [48, 48] }}, {{ normalize = "half" }}]

[train.grid]
seeds = 1
hidden = [16]

[train.grid.optim]
max_epochs = 4
"#,
                Path::new(common::REPO_ROOT)
                    .join("pipelines/rsna-demo.toml")
                    .display()
            ),
        )
        .unwrap();
        let out = nona()
            .current_dir(dir.path())
            .env("NONA_RSNA_PHANTOM_ROOT", &phantom)
            .env("NONA_WEIGHTS_DIR", &weights_dir)
            .args(["run", "mini.toml", "--stage", "train"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        let (cell, model) = nona_model(&dir.path().join("runs/mini"));
        Some(Self {
            dir,
            phantom,
            weights,
            model,
            cell,
        })
    }

    fn run(&self) -> PathBuf {
        self.dir.path().join("runs/mini")
    }

    /// `nona predict --model MODEL ARGS` in the scratch directory, with no weights directory (the
    /// model's record says where the weights are).
    fn predict(&self, model: &Path, args: &[&str]) -> Output {
        nona()
            .current_dir(self.dir.path())
            .env("NONA_WEIGHTS_DIR", self.dir.path().join("no-weights"))
            .arg("predict")
            .arg("--model")
            .arg(model)
            .args(args)
            .output()
            .unwrap()
    }

    /// A copy of the NONA model whose `provenance.json` is edited by `edit`.
    fn edited_model(&self, name: &str, edit: impl FnOnce(&mut serde_json::Value)) -> PathBuf {
        let copy = self.dir.path().join(name);
        std::fs::create_dir_all(&copy).unwrap();
        for entry in std::fs::read_dir(&self.model).unwrap() {
            let file = entry.unwrap().path();
            std::fs::copy(&file, copy.join(file.file_name().unwrap())).unwrap();
        }
        let path = copy.join("provenance.json");
        let mut provenance: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        edit(&mut provenance);
        std::fs::write(&path, provenance.to_string()).unwrap();
        copy
    }

    /// The test split of the NONA cell: id → (label, prediction).
    fn test_predictions(&self) -> BTreeMap<String, (f64, f64)> {
        test_predictions(&self.run(), self.cell)
    }

    /// The NONA cell's test rows of `train/explanations`.
    fn test_explanations(&self) -> BTreeMap<(String, i64), Vec<String>> {
        test_explanations(&self.run(), self.cell)
    }
}

#[test]
fn predict_on_raw_files_and_manifest_rows_gives_the_train_stage_predictions_bit_for_bit() {
    let Some(trained) = Trained::new(
        "predict_on_raw_files_and_manifest_rows_gives_the_train_stage_predictions_bit_for_bit",
    ) else {
        return;
    };
    let expected = trained.test_predictions();
    assert!(expected.len() >= 5, "{expected:?}");
    let expected_evidence = trained.test_explanations();
    assert_eq!(expected_evidence.len(), 5 * expected.len());

    // A folder of new files: every image of the dataset (so the test split's are predicted
    // among other rows than in training) and a corrupt one.
    let new = trained.dir.path().join("new");
    std::fs::create_dir_all(&new).unwrap();
    let images = trained.phantom.join("boneage-training-dataset");
    let mut count = 0;
    for entry in std::fs::read_dir(&images).unwrap() {
        let file = entry.unwrap().path();
        std::fs::copy(&file, new.join(file.file_name().unwrap())).unwrap();
        count += 1;
    }
    std::fs::write(new.join("broken.png"), b"\x89PNG\r\n\x1a\nnot really").unwrap();
    let out = trained.predict(
        &trained.model,
        &["--input", "new/*.png", "--output", "from-files.parquet"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let printed = stdout(&out);
    assert!(
        printed.contains(&format!("{count} predictions")),
        "{printed}"
    );
    assert!(printed.contains("1 input failed"), "{printed}");
    let output = trained.dir.path().join("from-files.parquet");
    let got = predicted(&output);
    assert_eq!(got.len(), count);
    for (id, (_, prediction)) in &expected {
        let (got_prediction, spread, label) = got[&format!("{id}.png")];
        assert_eq!(
            got_prediction.to_bits(),
            prediction.to_bits(),
            "{id}: {got_prediction} vs {prediction}"
        );
        assert!(spread.is_some_and(|s| s > 0.0), "NONA gives a spread");
        assert_eq!(label, None, "files have no labels");
    }
    let evidence = explanation_rows(
        &trained.dir.path().join("from-files.explanations.parquet"),
        |_, _| true,
    );
    let renamed: BTreeMap<(String, i64), Vec<String>> = evidence
        .into_iter()
        .map(|((id, rank), row)| ((id.trim_end_matches(".png").to_owned(), rank), row))
        .filter(|((id, _), _)| expected.contains_key(id))
        .collect();
    assert_eq!(renamed, expected_evidence);
    let errors = error_rows(&trained.dir.path().join("from-files.errors.parquet"));
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].0, "broken.png");
    assert!(errors[0].1.ends_with("new/broken.png"), "{errors:?}");
    // Without labels, the documented columns less `label`.
    for (table, schema) in [
        ("from-files.parquet", "predict-output"),
        ("from-files.explanations.parquet", "predict-explanations"),
    ] {
        let names: Vec<String> = read(&trained.dir.path().join(table))[0]
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        let documented: Vec<String> = schema_file(&format!("{schema}.schema.json"))
            .columns
            .into_iter()
            .map(|c| c.name)
            .filter(|name| name != "label")
            .collect();
        assert_eq!(names, documented, "{table}");
    }
    assert_errors_columns(&trained.dir.path().join("from-files.errors.parquet"));

    // A manifest with the training pipeline's columns, in the RSNA layout: ids, labels, and a
    // row whose file is missing.
    let mut csv = String::from("id,boneage,male\n");
    for (id, (label, _)) in expected.iter().rev() {
        csv.push_str(&format!("{id},{label},True\n"));
    }
    csv.push_str("gone,12,False\n");
    let manifest_dir = trained.dir.path().join("clinic");
    std::fs::create_dir_all(manifest_dir.join("boneage-training-dataset")).unwrap();
    for id in expected.keys() {
        std::fs::copy(
            images.join(format!("{id}.png")),
            manifest_dir.join(format!("boneage-training-dataset/{id}.png")),
        )
        .unwrap();
    }
    std::fs::write(manifest_dir.join("new.csv"), csv).unwrap();
    let out = trained.predict(
        &trained.model,
        &[
            "--manifest",
            "clinic/new.csv",
            "--output",
            "from-manifest.parquet",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let got = predicted(&trained.dir.path().join("from-manifest.parquet"));
    assert_eq!(got.len(), expected.len());
    for (id, (label, prediction)) in &expected {
        let (got_prediction, _, got_label) = got[id];
        assert_eq!(got_prediction.to_bits(), prediction.to_bits(), "{id}");
        assert_eq!(got_label, Some(*label));
    }
    let evidence = explanation_rows(
        &trained
            .dir
            .path()
            .join("from-manifest.explanations.parquet"),
        |_, _| true,
    );
    assert_eq!(evidence, expected_evidence);
    let errors = error_rows(&trained.dir.path().join("from-manifest.errors.parquet"));
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].0, "gone");
    assert!(errors[0].2.contains("cannot read file"), "{errors:?}");
    for (table, schema) in [
        ("from-manifest.parquet", "predict-output"),
        ("from-manifest.explanations.parquet", "predict-explanations"),
    ] {
        assert_conforms(
            &schema_file(&format!("{schema}.schema.json")),
            &trained.dir.path().join(table),
        );
    }
    assert_errors_columns(&trained.dir.path().join("from-manifest.errors.parquet"));

    // The dense cell (the seed's other cell): its predictions too, and no neighbours.
    let dense = 1 - trained.cell;
    let out = trained.predict(
        &trained.run().join(format!("train/models/cell-{dense:05}")),
        &["--input", "new/*.png", "--output", "dense.parquet"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("no neighbours: a dense head"),
        "{}",
        stdout(&out)
    );
    let got = predicted(&trained.dir.path().join("dense.parquet"));
    for (id, (_, prediction)) in test_predictions(&trained.run(), dense) {
        let (got_prediction, spread, _) = got[&format!("{id}.png")];
        assert_eq!(got_prediction.to_bits(), prediction.to_bits(), "{id}");
        assert_eq!(spread, None, "a dense head has no spread");
    }
    assert!(
        !trained
            .dir
            .path()
            .join("dense.explanations.parquet")
            .exists()
    );
}

/// The errors file of `nona predict` has the errors table's columns (its footer is predict's,
/// not a pipeline stage's).
fn assert_errors_columns(path: &Path) {
    let table = nona_table::Dataset::open(path).unwrap();
    let problems: Vec<String> = schema_file("errors.schema.json")
        .violations(&table.schema(), table.metadata())
        .into_iter()
        .filter(|p| !p.starts_with("footer metadata"))
        .collect();
    assert!(problems.is_empty(), "{problems:?}");
    assert!(
        table.metadata()["nona.input"].ends_with(".csv")
            || table.metadata()["nona.input"].ends_with("*.png")
    );
}

#[test]
fn predict_refuses_a_model_whose_record_differs_and_says_what_differs() {
    let Some(trained) =
        Trained::new("predict_refuses_a_model_whose_record_differs_and_says_what_differs")
    else {
        return;
    };
    let input = [
        "--input",
        "phantom/boneage-training-dataset/*.png",
        "--output",
        "out.parquet",
    ];
    let refused = |model: &Path, extra: &[&str]| -> String {
        let args: Vec<&str> = input.iter().chain(extra).copied().collect();
        let out = trained.predict(model, &args);
        assert!(!out.status.success(), "{}", stdout(&out));
        assert!(!trained.dir.path().join("out.parquet").exists());
        stderr(&out)
    };

    // Weights whose SHA-256 is not the record's: both hashes and the file are named.
    let other_hash = "0".repeat(64);
    let model = trained.edited_model("other-hash", |p| {
        p["weights"]["sha256"] = other_hash.clone().into()
    });
    let message = refused(&model, &[]);
    assert!(message.contains(&other_hash), "{message}");
    assert!(
        message.contains(
            &trained
                .weights
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        ),
        "{message}"
    );
    assert!(message.contains("SHA-256"), "{message}");

    // A backbone this nona does not know.
    let model = trained.edited_model("unknown-backbone", |p| {
        p["embed"]["backbone"] = "vit_h14".into()
    });
    let message = refused(&model, &[]);
    assert!(
        message.contains("backbone `vit_h14`, which this nona does not know"),
        "{message}"
    );

    // A pipeline that embeds differently: its backbone and its transforms are named.
    std::fs::write(
        trained.dir.path().join("other.toml"),
        format!(
            "extends = \"{}\"\n[preprocess.image]\ntransforms = [{{ resize = [32, 32] }}, {{ normalize = \"half\" }}]\n",
            Path::new(common::REPO_ROOT).join("pipelines/rsna.toml").display()
        ),
    )
    .unwrap();
    let message = refused(&trained.model, &["--pipeline", "other.toml"]);
    assert!(
        message
            .contains("`embed.backbone` is \"efficientnet_lite0\" for the model but \"resnet18\""),
        "{message}"
    );
    assert!(message.contains("`preprocess.image`"), "{message}");

    // A model saved before provenance.json.
    let model = trained.edited_model("old", |_| {});
    std::fs::remove_file(model.join("provenance.json")).unwrap();
    let message = refused(&model, &[]);
    assert!(message.contains("has no provenance.json"), "{message}");
    assert!(message.contains("Re-run the train stage"), "{message}");

    // Weights no longer where training found them, and none in the weights folder: where to put
    // them, as the embed stage says.
    let model = trained.edited_model("moved-weights", |p| {
        p["weights"]["path"] = "/nowhere/lite0.pth".into()
    });
    let message = refused(&model, &[]);
    assert!(
        message.contains("no weights for backbone `efficientnet_lite0`: put"),
        "{message}"
    );
    assert!(
        message.contains("no-weights/efficientnet-lite0-57934424.pth) in place"),
        "{message}"
    );

    // The same model with the weights given is not refused.
    let weights = trained.weights.display().to_string();
    let out = trained.predict(&model, &[&input[..], &["--weights", &weights]].concat());
    assert!(out.status.success(), "{}", stderr(&out));

    // Nor is the training pipeline itself.
    let out = trained.predict(
        &trained.model,
        &[
            &input[..],
            &["--pipeline", "mini.toml", "--weights", &weights],
        ]
        .concat(),
    );
    assert!(out.status.success(), "{}", stderr(&out));

    // The recorded sections' scratch pipeline file is gone, refused or not.
    let left: Vec<_> = std::fs::read_dir(trained.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(".nona-predict-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}
