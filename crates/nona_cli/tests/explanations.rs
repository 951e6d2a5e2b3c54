//! The neighbour evidence of predictions: the train stage's `explanations/` (NONA) and the knn
//! stage's (tuned k-NN), end to end on a user-supplied embeddings table.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use arrow::array::{Array, AsArray};
use arrow::datatypes::{Float64Type, Int64Type};
use common::{
    KnnKey, assert_conforms, knn_predictions, read, run_in, schema_file, splits_of, stderr,
    write_embeddings, write_pipeline,
};

/// `train/explanations/`: for every validation and test prediction of the NONA cell, its 5
/// heaviest neighbours, all from that seed's training split with their own labels, ranked by
/// weight; the prediction is the predictions table's. `explain_top_k = 0` writes no table.
#[test]
fn nona_predictions_come_with_their_heaviest_training_neighbours() {
    let tmp = tempfile::tempdir().unwrap();
    write_embeddings(&tmp.path().join("emb.parquet"), 60, false);
    write_pipeline(tmp.path(), "e", 1, 2);
    let out = run_in(tmp.path(), &["run", "e.toml", "--stage", "train"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let train = tmp.path().join("runs/e/train");
    assert_conforms(
        &schema_file("train-explanations.schema.json"),
        &train.join("explanations"),
    );
    // (cell, id) → (split, label, prediction) of every prediction.
    let mut predictions = BTreeMap::new();
    for batch in read(&train.join("predictions")) {
        let column = |name: &str| batch.column_by_name(name).unwrap().clone();
        let (cells, ids, splits) = (column("cell"), column("id"), column("split"));
        let (labels, predicted) = (column("label"), column("prediction"));
        for r in 0..batch.num_rows() {
            predictions.insert(
                (
                    cells.as_primitive::<Int64Type>().value(r),
                    ids.as_string::<i32>().value(r).to_owned(),
                ),
                (
                    splits.as_string::<i32>().value(r).to_owned(),
                    labels.as_primitive::<Float64Type>().value(r),
                    predicted.as_primitive::<Float64Type>().value(r),
                ),
            );
        }
    }
    // (cell, id) → its rows as (rank, neighbour, neighbour label, weight, mass, spread, entropy).
    type Row = (i64, String, f64, f64, f64, f64, f64);
    let mut explained: BTreeMap<(i64, String), Vec<Row>> = BTreeMap::new();
    for batch in read(&train.join("explanations")) {
        let column = |name: &str| batch.column_by_name(name).unwrap().clone();
        let float = |name: &str, r: usize| column(name).as_primitive::<Float64Type>().value(r);
        for r in 0..batch.num_rows() {
            let cell = column("cell").as_primitive::<Int64Type>().value(r);
            let id = column("id").as_string::<i32>().value(r).to_owned();
            let (split, label, prediction) = &predictions[&(cell, id.clone())];
            assert_eq!(column("split").as_string::<i32>().value(r), split);
            assert_eq!(
                (float("label", r), float("prediction", r)),
                (*label, *prediction)
            );
            let neighbour = column("neighbour_id")
                .as_string::<i32>()
                .value(r)
                .to_owned();
            let (neighbour_split, neighbour_label, _) = &predictions[&(cell, neighbour.clone())];
            assert_eq!(neighbour_split, "train", "{id} → {neighbour}");
            assert_eq!(float("neighbour_label", r), *neighbour_label);
            explained.entry((cell, id)).or_default().push((
                column("rank").as_primitive::<Int64Type>().value(r),
                neighbour,
                float("neighbour_label", r),
                float("weight", r),
                float("top_k_mass", r),
                float("spread", r),
                float("entropy", r),
            ));
        }
    }
    // One seed: cell 0 is dense (no rows), cell 1 NONA with every validation and test sample.
    let nona_predictions: Vec<_> = predictions
        .iter()
        .filter(|((cell, _), (split, _, _))| *cell == 1 && split != "train")
        .map(|(key, _)| key.clone())
        .collect();
    assert_eq!(
        explained.keys().cloned().collect::<Vec<_>>(),
        nona_predictions
    );
    let bank = predictions
        .iter()
        .filter(|((cell, _), (split, _, _))| *cell == 1 && split == "train")
        .count() as f64;
    for (key, rows) in &explained {
        let ranks: Vec<i64> = rows.iter().map(|row| row.0).collect();
        assert_eq!(ranks, [1, 2, 3, 4, 5], "{key:?}");
        assert!(
            rows.windows(2).all(|w| w[0].3 >= w[1].3),
            "{key:?}: by weight"
        );
        let mass: f64 = rows.iter().map(|row| row.3).sum();
        let (_, _, _, _, top_k_mass, spread, entropy) = rows[0];
        assert!((mass - top_k_mass).abs() < 1e-12 && top_k_mass <= 1.0 + 1e-9);
        assert!(spread >= 0.0 && (0.0..=bank.ln() + 1e-9).contains(&entropy));
    }

    let off = run_in(
        tmp.path(),
        &[
            "run",
            "e.toml",
            "--stage",
            "train",
            "--set",
            "train.explain_top_k=0",
        ],
    );
    assert!(off.status.success(), "{}", stderr(&off));
    assert!(!train.join("explanations").exists());
}

/// `knn/explanations/`: each k-NN test prediction's tuned k neighbours, from that seed's
/// training split, with weights that sum to 1 and vote the predictions table's prediction.
#[test]
fn knn_predictions_come_with_their_k_neighbours_and_weights() {
    let tmp = tempfile::tempdir().unwrap();
    write_embeddings(&tmp.path().join("emb.parquet"), 60, false);
    write_pipeline(tmp.path(), "k", 2, 2);
    let out = run_in(tmp.path(), &["run", "k.toml", "--stage", "knn"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let knn = tmp.path().join("runs/k/knn");
    let splits = splits_of(&tmp.path().join("runs/k/train/predictions"));
    assert_conforms(
        &schema_file("knn-explanations.schema.json"),
        &knn.join("explanations"),
    );
    let training: BTreeSet<(i64, String)> = splits
        .iter()
        .filter(|(_, split)| *split == "train")
        .map(|((_, seed, id), _)| (*seed, id.clone()))
        .collect();
    let knn_predicted = knn_predictions(&tmp.path().join("runs/k"));
    // (source, cell, seed, id) → (Σ weight, Σ weight × neighbour label, rows).
    let mut votes: BTreeMap<KnnKey, (f64, f64, usize)> = BTreeMap::new();
    for batch in read(&knn.join("explanations")) {
        let column = |name: &str| batch.column_by_name(name).unwrap().clone();
        let cells = column("cell");
        let cells = cells.as_primitive::<Int64Type>();
        let float = |name: &str, r: usize| column(name).as_primitive::<Float64Type>().value(r);
        for r in 0..batch.num_rows() {
            let cell = if cells.is_null(r) { -1 } else { cells.value(r) };
            let seed = column("seed").as_primitive::<Int64Type>().value(r);
            let neighbour = column("neighbour_id")
                .as_string::<i32>()
                .value(r)
                .to_owned();
            assert!(training.contains(&(seed, neighbour)), "a training row");
            let key = (
                column("source").as_string::<i32>().value(r).to_owned(),
                cell,
                seed,
                column("id").as_string::<i32>().value(r).to_owned(),
            );
            assert!((float("prediction", r) - knn_predicted[&key]).abs() < 1e-9);
            let vote = votes.entry(key).or_default();
            vote.0 += float("weight", r);
            vote.1 += float("weight", r) * float("neighbour_label", r);
            vote.2 += 1;
        }
    }
    assert_eq!(votes.len(), knn_predicted.len());
    for (key, (mass, vote, rows)) in &votes {
        assert!((mass - 1.0).abs() < 1e-12, "{key:?}");
        assert!((vote - knn_predicted[key]).abs() < 1e-9, "{key:?}");
        assert!([3, 5].contains(rows), "{key:?}: the tuned k");
    }
}

/// The report's uncertainty section: per method with explanations (NONA, NONA + k-NN,
/// Dense + k-NN, k-NN) ρ and coverage over both seeds; `report/uncertainty/`'s NONA coverage is the
/// share of rank-1 test rows of `train/explanations/` with |label − prediction| ≤ 2 × spread.
/// The neighbour evidence shows three test samples by id (no preprocess stage). Without
/// explanations tables both sections say so.
#[test]
fn the_report_scores_the_spread_and_shows_the_evidence_of_three_predictions() {
    let tmp = tempfile::tempdir().unwrap();
    write_embeddings(&tmp.path().join("emb.parquet"), 60, false);
    write_pipeline(tmp.path(), "u", 2, 2);
    let out = run_in(tmp.path(), &["run", "u.toml"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let run = tmp.path().join("runs/u");
    let report = std::fs::read_to_string(run.join("report/report.md")).unwrap();
    let section = &report[report.find("## Uncertainty").expect("the section")..];
    assert!(section.contains("≈ 95 %"), "{section}");
    for method in ["NONA", "NONA + k-NN", "Dense + k-NN", "k-NN"] {
        assert!(
            section.contains(&format!("\n| {method} | 2 |")),
            "{method}: {section}"
        );
    }
    assert!(
        !section.contains("\n| Dense | "),
        "dense heads have no spread"
    );
    // The evidence of seed 0's NONA cell: three test samples by id, five neighbours each.
    let evidence = &report[report.find("## Neighbour evidence").expect("the evidence")..];
    assert!(evidence.contains("shown by id"), "{evidence}");
    for pick in ["lowest", "median", "highest"] {
        assert!(
            evidence.contains(&format!("### {pick} error: ")),
            "{evidence}"
        );
    }
    assert_eq!(evidence.matches("\n| 5 | ").count(), 3, "{evidence}");

    // seed → (covered, rows) of NONA's test predictions, straight from the table.
    let mut coverage: BTreeMap<i64, (usize, usize)> = BTreeMap::new();
    for batch in read(&run.join("train/explanations")) {
        let column = |name: &str| batch.column_by_name(name).unwrap().clone();
        let float = |name: &str, r: usize| column(name).as_primitive::<Float64Type>().value(r);
        for r in 0..batch.num_rows() {
            let rank = column("rank").as_primitive::<Int64Type>().value(r);
            if rank != 1 || column("split").as_string::<i32>().value(r) != "test" {
                continue;
            }
            let seed = column("seed").as_primitive::<Int64Type>().value(r);
            let entry = coverage.entry(seed).or_default();
            let error = (float("label", r) - float("prediction", r)).abs();
            entry.0 += usize::from(error <= 2.0 * float("spread", r));
            entry.1 += 1;
        }
    }
    let scores = run.join("report/uncertainty");
    assert_conforms(&schema_file("report-uncertainty.schema.json"), &scores);
    let mut nona_rows = 0;
    for batch in read(&scores) {
        let column = |name: &str| batch.column_by_name(name).unwrap().clone();
        for r in 0..batch.num_rows() {
            let method = column("method").as_string::<i32>().value(r).to_owned();
            let seed = column("seed").as_primitive::<Int64Type>().value(r);
            let rows = column("test_rows").as_primitive::<Int64Type>().value(r);
            let rho = column("spearman").as_primitive::<Float64Type>().value(r);
            let share = column("coverage").as_primitive::<Float64Type>().value(r);
            assert!(
                (-1.0..=1.0).contains(&rho) && (0.0..=1.0).contains(&share),
                "{method}, seed {seed}: ρ {rho}, coverage {share}"
            );
            if method == "NONA" {
                let (covered, total) = coverage[&seed];
                assert_eq!(rows as usize, total, "seed {seed}");
                assert_eq!(share, covered as f64 / total as f64, "seed {seed}");
                nona_rows += 1;
            }
        }
    }
    assert_eq!(nona_rows, 2);

    let off = run_in(
        tmp.path(),
        &[
            "run",
            "u.toml",
            "--set",
            "train.explain_top_k=0",
            "--set",
            "knn.explain=false",
        ],
    );
    assert!(off.status.success(), "{}", stderr(&off));
    let report = std::fs::read_to_string(run.join("report/report.md")).unwrap();
    assert!(
        report.contains("## Uncertainty\n\nNo neighbour explanations in this run"),
        "{report}"
    );
    assert!(
        report.contains("## Neighbour evidence\n\nNo NONA test predictions"),
        "{report}"
    );
}
