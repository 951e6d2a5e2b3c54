//! `nona predict` on a manifest of texts, against the train stage of the shipped text base.

mod common;
mod predict;

use std::collections::BTreeMap;
use std::path::Path;

use common::{nona, real_weights, stderr};
use predict::{explanation_rows, nona_model, predicted, test_explanations, test_predictions};

/// Texts through the shipped text base (all-MiniLM-L6-v2, batched by token length):
/// - the training manifest's rows, in its order, are batched as the embed stage batched them, and
///   give the train stage's test predictions and evidence bit for bit;
/// - a manifest of only the test rows, in another order, pads some texts to another length, and
///   MiniLM's output on CPU depends on the padded length in its last bits (attention and pooling
///   over more, masked, positions sum in another order): the predictions are still the train
///   stage's, and the evidence within 1e-5 relative, measured and printed here. Images (fixed
///   size, no padding) are bit-identical for any batch: `predict_raw.rs`.
#[test]
#[allow(clippy::print_stdout, reason = "the measured gap is reported")]
fn predict_on_manifest_texts_gives_the_train_stage_predictions() {
    let test = "predict_on_manifest_texts_gives_the_train_stage_predictions";
    let Some(weights) = real_weights(test, "all-MiniLM-L6-v2") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let words = [
        "great", "awful", "fine", "slow", "cheap", "sturdy", "broken", "lovely",
    ];
    let mut csv = String::from("review_id,body,stars\n");
    let mut bodies = BTreeMap::new();
    for i in 0..30usize {
        let length = 2 + (i * 7) % 19;
        let body: Vec<&str> = (0..length)
            .map(|w| words[(i + w * 3) % words.len()])
            .collect();
        let body = body.join(" ");
        csv.push_str(&format!("r{i:02},{body},{}\n", 1 + i % 5));
        bodies.insert(format!("r{i:02}"), body);
    }
    std::fs::write(tmp.path().join("reviews.csv"), &csv).unwrap();
    std::fs::write(
        tmp.path().join("reviews.toml"),
        format!(
            "extends = \"{}\"\n[dataset]\nroot = \".\"\nmanifest = \"reviews.csv\"\nid_column = \"review_id\"\ninput_column = \"body\"\nlabel_column = \"stars\"\n[embed]\nbatch_size = 4\n[train.grid]\nseeds = 1\nhidden = [16]\n[train.grid.optim]\nmax_epochs = 3\n",
            Path::new(common::REPO_ROOT)
                .join("pipelines/base/text-regression.toml")
                .display()
        ),
    )
    .unwrap();
    let out = nona()
        .current_dir(tmp.path())
        .env("NONA_WEIGHTS_DIR", weights.parent().unwrap())
        .args(["run", "reviews.toml", "--stage", "train"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let run = tmp.path().join("runs/reviews");
    let (cell, model) = nona_model(&run);
    let expected = test_predictions(&run, cell);
    let expected_evidence = test_explanations(&run, cell);
    assert!(expected.len() >= 4, "{expected:?}");
    let predict = |manifest: &str, output: &str| {
        let out = nona()
            .current_dir(tmp.path())
            .env("NONA_WEIGHTS_DIR", tmp.path().join("no-weights"))
            .args([
                "predict",
                "--manifest",
                manifest,
                "--output",
                output,
                "--model",
            ])
            .arg(&model)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        (
            predicted(&tmp.path().join(output)),
            explanation_rows(
                &tmp.path()
                    .join(output.replace(".parquet", ".explanations.parquet")),
                |_, _| true,
            ),
        )
    };

    // The training manifest itself: the same batches, the same bits.
    std::fs::write(tmp.path().join("all.csv"), &csv).unwrap();
    let (got, evidence) = predict("all.csv", "all.parquet");
    assert_eq!(got.len(), 30);
    for (id, (label, prediction)) in &expected {
        let (got_prediction, _, got_label) = got[id];
        assert_eq!(got_prediction.to_bits(), prediction.to_bits(), "{id}");
        assert_eq!(got_label, Some(*label));
    }
    let evidence: BTreeMap<_, _> = evidence
        .into_iter()
        .filter(|((id, _), _)| expected.contains_key(id))
        .collect();
    assert_eq!(evidence, expected_evidence);

    // Only the test rows, reversed, without labels: other padding.
    let mut subset = String::from("review_id,body\n");
    for id in expected.keys().rev() {
        subset.push_str(&format!("{id},{}\n", bodies[id]));
    }
    std::fs::write(tmp.path().join("new.csv"), subset).unwrap();
    let (got, evidence) = predict("new.csv", "new.parquet");
    assert_eq!(got.len(), expected.len());
    let relative = |a: f64, b: f64| (a - b).abs() / b.abs().max(1e-12);
    for (id, (_, prediction)) in &expected {
        let (got_prediction, _, label) = got[id];
        assert!(relative(got_prediction, *prediction) < 1e-6, "{id}");
        assert_eq!(label, None, "the manifest has no label column");
    }
    let mut largest: f64 = 0.0;
    assert_eq!(
        evidence.keys().collect::<Vec<_>>(),
        expected_evidence.keys().collect::<Vec<_>>()
    );
    for (key, row) in &evidence {
        for (got, want) in row.iter().zip(&expected_evidence[key]) {
            let (name, got) = got.split_once('=').unwrap();
            let want = want.split_once('=').unwrap().1;
            if name == "neighbour" {
                assert_eq!(got, want, "{key:?}");
                continue;
            }
            let bits = |hex: &str| f64::from_bits(u64::from_str_radix(&hex[2..], 16).unwrap());
            largest = largest.max(relative(bits(got), bits(want)));
        }
    }
    println!(
        "text evidence, test rows alone vs the train stage: largest relative gap {largest:.1e}"
    );
    assert!(largest < 1e-5, "{largest}");
}
