//! The train, knn and report stages end to end on a user-supplied embeddings table, and
//! `nona predict` on their saved models.
//!
//! Long because its cases share one user-supplied embeddings table and pipeline writer, and
//! each runs the binary end to end; split by stage, every file would repeat that setup.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use arrow::array::{Array, AsArray, Float64Array, StringArray};
use arrow::datatypes::{Float64Type, Int64Type};
use arrow::record_batch::RecordBatch;
use common::{assert_conforms, run_in, schema_file, stderr, stdout, table_rows};

const DIM: usize = 6;

/// Writes `rows` embeddings (a smooth non-linear target of the first two features, plus groups
/// of three rows when `grouped`) as a Parquet file like the embed stage's.
fn write_embeddings(path: &Path, rows: usize, grouped: bool) {
    let mut state = 0x9e37_79b9_u64;
    let mut uniform = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        ((state >> 33) as f64 / (1u64 << 31) as f64) * 2.0 - 1.0
    };
    let mut features = Vec::with_capacity(rows * DIM);
    let mut labels = Vec::with_capacity(rows);
    for _ in 0..rows {
        let x: Vec<f64> = (0..DIM).map(|_| uniform()).collect();
        labels.push(10.0 * (2.0 * x[0]).sin() + 5.0 * x[1] * x[1] + 40.0);
        features.extend(x.iter().map(|&v| v as f32));
    }
    let ids: StringArray = (0..rows).map(|i| Some(format!("s{i:04}"))).collect();
    let groups: StringArray = (0..rows)
        .map(|i| grouped.then(|| format!("g{}", i / 3)))
        .collect();
    let batch = RecordBatch::try_new(
        nona_table::schemas::embeddings(DIM),
        vec![
            Arc::new(ids),
            Arc::new(Float64Array::from(labels)),
            Arc::new(groups),
            Arc::new(nona_table::embedding_array(features, DIM)),
        ],
    )
    .unwrap();
    nona_table::write_part(
        path,
        nona_table::schemas::embeddings(DIM),
        &[batch],
        &nona_table::Metadata::new(),
    )
    .unwrap();
}

/// A pipeline training both heads over `seeds` seeds on `emb.parquet`, then k-NN and the report.
fn write_pipeline(dir: &Path, name: &str, seeds: usize, threads: usize) {
    std::fs::write(
        dir.join(format!("{name}.toml")),
        format!(
            r#"description = "heads on a toy table"

[train]
input = "emb.parquet"
threads = {threads}

[train.grid]
seeds = {seeds}
hidden = [16]
embedding_dims = [4]
batch_sizes = [16]

[train.grid.optim]
max_epochs = 12
patience = 3
start_after_epoch = 2

[knn]
k = [3, 5]

[report]
dataset = "toy"
"#
        ),
    )
    .unwrap();
}

fn read(dir: &Path) -> Vec<RecordBatch> {
    nona_table::Dataset::open(dir).unwrap().read_all().unwrap()
}

/// (cell, seed, id) → split, from a predictions table (cell −1 when null).
fn splits_of(dir: &Path) -> BTreeMap<(i64, i64, String), String> {
    let mut splits = BTreeMap::new();
    for batch in read(dir) {
        let cells = batch
            .column_by_name("cell")
            .unwrap()
            .as_primitive::<Int64Type>();
        let seeds = batch
            .column_by_name("seed")
            .unwrap()
            .as_primitive::<Int64Type>();
        let ids = batch.column_by_name("id").unwrap().as_string::<i32>();
        let names = batch.column_by_name("split").unwrap().as_string::<i32>();
        for r in 0..batch.num_rows() {
            let cell = if cells.is_null(r) { -1 } else { cells.value(r) };
            splits.insert(
                (cell, seeds.value(r), ids.value(r).to_owned()),
                names.value(r).to_owned(),
            );
        }
    }
    splits
}

#[test]
fn train_knn_and_report_run_end_to_end_and_are_cached() {
    let tmp = tempfile::tempdir().unwrap();
    write_embeddings(&tmp.path().join("emb.parquet"), 90, true);
    write_pipeline(tmp.path(), "h", 2, 2);
    let out = run_in(tmp.path(), &["run", "h.toml"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let printed = stdout(&out);
    assert!(printed.contains("| toy |"), "{printed}");
    assert!(
        printed.contains("report: runs/h/report/report.md"),
        "{printed}"
    );

    let train = tmp.path().join("runs/h/train");
    // 2 seeds × (dense + NONA) = 4 cells, each predicting all 90 samples.
    assert_eq!(table_rows(&train.join("predictions")).len(), 4 * 90);
    assert_eq!(table_rows(&train.join("embeddings")).len(), 4 * 90);
    assert_eq!(table_rows(&train.join("metrics")).len(), 4 * 3);
    for (schema, table) in [
        ("train-predictions", "predictions"),
        ("head-embeddings", "embeddings"),
        ("train-curves", "curves"),
        ("train-metrics", "metrics"),
    ] {
        assert_conforms(
            &schema_file(&format!("{schema}.schema.json")),
            &train.join(table),
        );
    }
    for cell in 0..4 {
        let model = train.join(format!("models/cell-{cell:05}"));
        for file in ["model.safetensors", "model.json", "cell.json"] {
            assert!(model.join(file).is_file(), "{}", model.join(file).display());
        }
    }

    // Every cell of a seed sees the same split, and groups stay whole.
    let splits = splits_of(&train.join("predictions"));
    let by_seed = |seed: i64| -> BTreeMap<String, BTreeSet<String>> {
        let mut cells_per_id: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for ((_, s, id), split) in &splits {
            if *s == seed {
                cells_per_id
                    .entry(id.clone())
                    .or_default()
                    .insert(split.clone());
            }
        }
        cells_per_id
    };
    for seed in [0, 1] {
        let assignment = by_seed(seed);
        assert!(assignment.values().all(|splits| splits.len() == 1));
        let mut group_split: BTreeMap<usize, &String> = BTreeMap::new();
        for (id, splits) in &assignment {
            let group = id[1..].parse::<usize>().unwrap() / 3;
            let split = splits.iter().next().unwrap();
            assert_eq!(
                *group_split.entry(group).or_insert(split),
                split,
                "group {group}"
            );
        }
    }
    assert_ne!(by_seed(0), by_seed(1), "seeds give different splits");

    // k-NN: the backbone table for each seed plus each of the 4 cells, test rows only.
    let knn = tmp.path().join("runs/h/knn");
    assert_conforms(
        &schema_file("knn-predictions.schema.json"),
        &knn.join("predictions"),
    );
    assert_conforms(
        &schema_file("knn-metrics.schema.json"),
        &knn.join("metrics"),
    );
    let metrics = read(&knn.join("metrics"));
    let sources: Vec<String> = metrics
        .iter()
        .flat_map(|b| {
            let s = b
                .column_by_name("source")
                .unwrap()
                .as_string::<i32>()
                .clone();
            (0..s.len()).map(move |r| s.value(r).to_owned())
        })
        .collect();
    assert_eq!(
        sources,
        ["backbone", "backbone", "head", "head", "head", "head"]
    );
    for (key, split) in splits_of(&knn.join("predictions"))
        .into_iter()
        .filter(|((cell, _, _), _)| *cell >= 0)
    {
        assert_eq!(split, "test");
        assert_eq!(splits[&key], "test", "{key:?}");
    }

    // Each k-NN test prediction's tuned k neighbours, from that source's training split, with
    // weights that sum to 1 and vote the prediction.
    assert_conforms(
        &schema_file("knn-explanations.schema.json"),
        &knn.join("explanations"),
    );
    let training: BTreeSet<(i64, String)> = splits
        .iter()
        .filter(|(_, split)| *split == "train")
        .map(|((_, seed, id), _)| (*seed, id.clone()))
        .collect();
    let knn_predicted = knn_predictions(&tmp.path().join("runs/h"));
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

    // The report: Table 1 with the paper's five columns, its PNGs, and the metrics table.
    let report = tmp.path().join("runs/h/report");
    let text = std::fs::read_to_string(report.join("report.md")).unwrap();
    assert!(
        text.contains("| Dataset | Dense | Dense + k-NN | NONA | NONA + k-NN | k-NN |"),
        "{text}"
    );
    assert!(text.contains("user-supplied embeddings"), "{text}");
    assert!(
        text.contains(
            "The backbone is frozen: its embeddings were computed once and only the \
             projector and the head were trained on them."
        ),
        "{text}"
    );
    for png in [
        "learning_curves.png",
        "embedding_maps.png",
        "predicted_vs_true_dense.png",
        "predicted_vs_true_nona.png",
    ] {
        let image = image::open(report.join("plots").join(png)).unwrap();
        assert!(image.width() > 300 && image.height() > 200, "{png}");
        assert!(text.contains(&format!("plots/{png}")), "{png} not linked");
    }
    assert_conforms(
        &schema_file("report-metrics.schema.json"),
        &report.join("metrics"),
    );
    assert_eq!(table_rows(&report.join("metrics")).len(), 5 * 2);

    let again = run_in(tmp.path(), &["run", "h.toml"]);
    assert!(again.status.success(), "{}", stderr(&again));
    let printed = stdout(&again);
    for stage in ["train", "knn", "report"] {
        assert!(
            printed.contains(&format!("{stage:<11} up to date")),
            "{printed}"
        );
    }

    // `--force --stage knn` recomputes knn only (its upstream train stays); report goes stale.
    let forced = run_in(tmp.path(), &["run", "h.toml", "--stage", "knn", "--force"]);
    assert!(forced.status.success(), "{}", stderr(&forced));
    let printed = stdout(&forced);
    assert!(printed.contains("train       up to date"), "{printed}");
    assert!(printed.contains("knn         done in"), "{printed}");
    let after = stdout(&run_in(tmp.path(), &["run", "h.toml"]));
    assert!(after.contains("knn         up to date"), "{after}");
    assert!(after.contains("report      done in"), "{after}");
}

#[test]
fn cells_are_the_same_trained_alone_or_in_parallel() {
    let tmp = tempfile::tempdir().unwrap();
    write_embeddings(&tmp.path().join("emb.parquet"), 60, false);
    write_pipeline(tmp.path(), "one", 1, 1);
    write_pipeline(tmp.path(), "two", 1, 2);
    for name in ["one", "two"] {
        let out = run_in(
            tmp.path(),
            &["run", &format!("{name}.toml"), "--stage", "train"],
        );
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let rows = |name: &str| table_rows(&tmp.path().join(format!("runs/{name}/train/predictions")));
    assert_eq!(rows("one"), rows("two"));
}

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

#[test]
fn predict_reproduces_the_test_predictions_of_a_saved_model() {
    let tmp = tempfile::tempdir().unwrap();
    write_embeddings(&tmp.path().join("emb.parquet"), 60, false);
    write_pipeline(tmp.path(), "p", 1, 2);
    assert!(
        run_in(tmp.path(), &["run", "p.toml", "--stage", "train"])
            .status
            .success()
    );
    for cell in 0..2 {
        let model = format!("runs/p/train/models/cell-{cell:05}");
        let output = format!("pred{cell}.parquet");
        let out = run_in(
            tmp.path(),
            &[
                "predict",
                "--model",
                &model,
                "--input",
                "emb.parquet",
                "--output",
                &output,
            ],
        );
        assert!(out.status.success(), "{}", stderr(&out));
        let mut predicted = BTreeMap::new();
        for batch in read(&tmp.path().join(&output)) {
            let ids = batch.column_by_name("id").unwrap().as_string::<i32>();
            let values = batch
                .column_by_name("prediction")
                .unwrap()
                .as_primitive::<Float64Type>();
            for r in 0..batch.num_rows() {
                predicted.insert(ids.value(r).to_owned(), values.value(r));
            }
        }
        assert_eq!(predicted.len(), 60);
        let mut compared = 0;
        for batch in read(&tmp.path().join("runs/p/train/predictions")) {
            let cells = batch
                .column_by_name("cell")
                .unwrap()
                .as_primitive::<Int64Type>();
            let splits = batch.column_by_name("split").unwrap().as_string::<i32>();
            let ids = batch.column_by_name("id").unwrap().as_string::<i32>();
            let values = batch
                .column_by_name("prediction")
                .unwrap()
                .as_primitive::<Float64Type>();
            for r in (0..batch.num_rows())
                .filter(|&r| cells.value(r) == cell && splits.value(r) != "train")
            {
                let expected = values.value(r);
                let got = predicted[ids.value(r)];
                assert!(
                    (got - expected).abs() <= 1e-5 * expected.abs().max(1.0),
                    "cell {cell}, {}: {got} vs {expected}",
                    ids.value(r)
                );
                compared += 1;
            }
        }
        assert!(compared > 10);
    }

    let wrong = tmp.path().join("narrow.parquet");
    let batch = RecordBatch::try_new(
        nona_table::schemas::embeddings(2),
        vec![
            Arc::new(StringArray::from(vec!["a"])),
            Arc::new(Float64Array::from(vec![1.0])),
            Arc::new(StringArray::from(vec![None::<&str>])),
            Arc::new(nona_table::embedding_array(vec![0.0, 1.0], 2)),
        ],
    )
    .unwrap();
    nona_table::write_part(
        &wrong,
        batch.schema(),
        &[batch],
        &nona_table::Metadata::new(),
    )
    .unwrap();
    let out = run_in(
        tmp.path(),
        &[
            "predict",
            "--model",
            "runs/p/train/models/cell-00001",
            "--input",
            "narrow.parquet",
            "--output",
            "x.parquet",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("has width 2, but the model takes 6"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn bad_train_knn_and_report_sections_are_reported_together() {
    let tmp = tempfile::tempdir().unwrap();
    write_embeddings(&tmp.path().join("emb.parquet"), 30, false);
    std::fs::write(
        tmp.path().join("bad.toml"),
        r#"
[train]
input = "missing.parquet"
[train.split]
test_fraction = 1.5
[train.grid]
heads = ["nona", "dence"]

[knn]
weights = ["uniform", "distant"]
"#,
    )
    .unwrap();
    let out = run_in(tmp.path(), &["validate", "bad.toml"]);
    assert_eq!(out.status.code(), Some(2));
    let errors = stderr(&out);
    assert!(errors.contains("dence"), "{errors}");

    std::fs::write(
        tmp.path().join("bad2.toml"),
        r#"
[train]
input = "missing.parquet"
[train.split]
test_fraction = 1.5

[knn]
weights = ["uniform", "distant"]

[report]
"#,
    )
    .unwrap();
    let out = run_in(tmp.path(), &["validate", "bad2.toml"]);
    assert_eq!(out.status.code(), Some(2));
    let errors = stderr(&out);
    for expected in [
        "missing.parquet does not exist",
        "`test_fraction` must be between 0 and 1",
        "unknown weights `distant`",
        "3 problems found",
    ] {
        assert!(errors.contains(expected), "{expected}: {errors}");
    }
}

#[test]
fn an_unusable_embeddings_table_names_the_file_and_the_problem() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("emb.parquet");
    let batch = RecordBatch::try_new(
        nona_table::schemas::embeddings(2),
        vec![
            Arc::new(StringArray::from(vec!["a", "b", "a"])),
            Arc::new(Float64Array::from(vec![1.0, 2.0, 3.0])),
            Arc::new(StringArray::from(vec![None::<&str>; 3])),
            Arc::new(nona_table::embedding_array(vec![0.0; 6], 2)),
        ],
    )
    .unwrap();
    nona_table::write_part(
        &path,
        batch.schema(),
        &[batch],
        &nona_table::Metadata::new(),
    )
    .unwrap();
    write_pipeline(tmp.path(), "d", 1, 1);
    let out = run_in(tmp.path(), &["run", "d.toml"]);
    assert_eq!(out.status.code(), Some(1));
    let errors = stderr(&out);
    assert!(
        errors.contains("emb.parquet: id `a` appears more than once"),
        "{errors}"
    );
}

/// A k-NN prediction's source, cell (−1 for the backbone), seed and sample id.
type KnnKey = (String, i64, i64, String);

/// The knn stage's predictions.
fn knn_predictions(run: &Path) -> BTreeMap<KnnKey, f64> {
    let mut got = BTreeMap::new();
    for batch in read(&run.join("knn/predictions")) {
        let column = |name: &str| batch.column_by_name(name).unwrap().clone();
        let cells = column("cell");
        let cells = cells.as_primitive::<Int64Type>();
        for r in 0..batch.num_rows() {
            let key = (
                column("source").as_string::<i32>().value(r).to_owned(),
                if cells.is_null(r) { -1 } else { cells.value(r) },
                column("seed").as_primitive::<Int64Type>().value(r),
                column("id").as_string::<i32>().value(r).to_owned(),
            );
            got.insert(
                key,
                column("prediction").as_primitive::<Float64Type>().value(r),
            );
        }
    }
    got
}

#[test]
fn the_knn_stage_predicts_exactly_what_the_library_does_on_the_same_split() {
    const SEED: u64 = 0;
    let tmp = tempfile::tempdir().unwrap();
    write_embeddings(&tmp.path().join("emb.parquet"), 80, false);
    write_pipeline(tmp.path(), "k", 1, 2);
    let seeds = format!("train.grid.seeds=[{SEED}]");
    let out = run_in(
        tmp.path(),
        &["run", "k.toml", "--stage", "knn", "--set", &seeds],
    );
    assert!(out.status.success(), "{}", stderr(&out));

    let table = nona_stages::EmbeddingTable::read(
        &tmp.path().join("emb.parquet"),
        &nona_stages::EmbeddingColumns::default(),
    )
    .unwrap();
    let splits = splits_of(&tmp.path().join("runs/k/train/predictions"));
    let rows_of = |name: &str| -> Vec<usize> {
        (0..table.len())
            .filter(|&i| splits[&(0, SEED as i64, table.ids[i].clone())] == name)
            .collect()
    };
    let matrix = |rows: &[usize]| {
        let values: Vec<f32> = rows
            .iter()
            .flat_map(|&i| table.features[i * DIM..(i + 1) * DIM].iter().copied())
            .collect();
        nona_knn::Matrix::from_f32(&values, rows.len(), DIM).unwrap()
    };
    let (train, test) = (rows_of("train"), rows_of("test"));
    let labels: Vec<f64> = train.iter().map(|&i| table.labels[i]).collect();
    let expected = |fold_order| {
        let grid = nona_knn::GridSpec {
            n_neighbors: vec![3, 5],
            fold_order,
            ..nona_knn::GridSpec::default()
        };
        nona_knn::KnnBaseline::fit(&matrix(&train), &labels, &grid)
            .unwrap()
            .predict(&matrix(&test))
            .unwrap()
    };
    let shuffled = expected(nona_knn::FoldOrder::Shuffled { seed: SEED as u32 });
    let in_order = expected(nona_knn::FoldOrder::Table);
    assert_ne!(
        shuffled, in_order,
        "the fold orders should choose differently here"
    );

    // By default the folds are shuffled with the split's seed; `shuffle = false` keeps table order.
    for (settings, want) in [
        (vec![], shuffled),
        (vec!["--set", "knn.shuffle=false"], in_order),
    ] {
        let mut args = vec!["run", "k.toml", "--stage", "knn", "--set", &seeds];
        args.extend(settings);
        let out = run_in(tmp.path(), &args);
        assert!(out.status.success(), "{}", stderr(&out));
        let got: BTreeMap<String, f64> = knn_predictions(&tmp.path().join("runs/k"))
            .into_iter()
            .filter(|((source, ..), _)| source == "backbone")
            .map(|((_, _, _, id), prediction)| (id, prediction))
            .collect();
        assert_eq!(got.len(), test.len());
        for (&i, want) in test.iter().zip(&want) {
            assert_eq!(
                got[&table.ids[i]].to_bits(),
                want.to_bits(),
                "{args:?}: {}",
                table.ids[i]
            );
        }
    }
}

#[test]
fn reports_of_several_runs_combine_into_one_table_with_a_cd_diagram() {
    let tmp = tempfile::tempdir().unwrap();
    write_embeddings(&tmp.path().join("emb.parquet"), 60, false);
    write_pipeline(tmp.path(), "base", 2, 2);
    for (name, seeds) in [("a", "[0, 1]"), ("b", "[2, 3]"), ("c", "[4, 5]")] {
        let out = run_in(
            tmp.path(),
            &[
                "run",
                "base.toml",
                "--runs-dir",
                &format!("runs-{name}"),
                "--set",
                &format!("report.dataset=\"set {name}\""),
                "--set",
                &format!("train.grid.seeds={seeds}"),
            ],
        );
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let out = run_in(
        tmp.path(),
        &[
            "report",
            "runs-a/base",
            "runs-b/base/report",
            "runs-c/base",
            "--out",
            "combined",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    for dataset in ["set a", "set b", "set c"] {
        assert!(
            stdout(&out).contains(&format!("| {dataset} |")),
            "{}",
            stdout(&out)
        );
    }
    let report = std::fs::read_to_string(tmp.path().join("combined/report.md")).unwrap();
    assert!(report.contains("Friedman"), "{report}");
    assert!(!report.contains("Friedman test not run"), "{report}");
    let cd = image::open(tmp.path().join("combined/plots/cd_diagram.png")).unwrap();
    assert!(cd.width() > 300);
    assert_eq!(
        table_rows(&tmp.path().join("combined/metrics.parquet")).len(),
        3 * 5 * 2
    );

    let missing = run_in(tmp.path(), &["report", "nowhere", "--out", "x"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr(&missing).contains("nowhere: not a report"),
        "{}",
        stderr(&missing)
    );
}

/// Writes a report's `metrics` table as the report stage does, for `dataset` with Dense, NONA
/// and k-NN over `seeds` except the `(method, seed)` pairs in `lost`, with footer `metadata`.
fn write_report_metrics(
    run: &Path,
    dataset: &str,
    seeds: &[u64],
    lost: &[(&str, u64)],
    metadata: &[(&str, &str)],
) {
    let mut records = Vec::new();
    for (m, method) in ["Dense", "NONA", "k-NN"].into_iter().enumerate() {
        for &seed in seeds.iter().filter(|&&s| !lost.contains(&(method, s))) {
            let value = 5.0 - m as f64 + 0.1 * seed as f64 + dataset.len() as f64;
            records.push(nona_report::table::MseRecord::new(
                dataset, method, seed, value,
            ));
        }
    }
    let batch = nona_stages::report::records_batch(&records).unwrap();
    std::fs::create_dir_all(run.join("report/metrics")).unwrap();
    let metadata: nona_table::Metadata = metadata
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    nona_table::write_part(
        &run.join("report/metrics/part-00000.parquet"),
        batch.schema(),
        &[batch],
        &metadata,
    )
    .unwrap();
}

/// `nona report` applies the report stage's rule to missing seeds: n in Table 1, the missing
/// results in the banner (from the run's footer, or for a report without one, the seeds its
/// other methods have), and the Friedman test over the seeds every method has.
#[test]
fn combined_reports_show_and_leave_out_missing_seeds() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = r#"[{"dataset": "set a", "method": "NONA", "seed": 1,
        "reason": "cell 4: training diverged: validation MSE is not finite at epoch 3"}]"#;
    write_report_metrics(
        &tmp.path().join("a"),
        "set a",
        &[0, 1, 2],
        &[("NONA", 1)],
        &[
            ("nona.report.dataset", "set a"),
            ("nona.report.seeds", "[0, 1, 2]"),
            ("nona.report.missing", missing),
        ],
    );
    write_report_metrics(&tmp.path().join("b"), "set b", &[0, 1, 2], &[], &[]);
    write_report_metrics(
        &tmp.path().join("c"),
        "set c",
        &[0, 1, 2],
        &[("Dense", 2)],
        &[],
    );
    let out = run_in(tmp.path(), &["report", "a", "b", "c", "--out", "combined"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report = std::fs::read_to_string(tmp.path().join("combined/report.md")).unwrap();
    assert!(
        report.contains("| set a | 10.1 ± 0.100 | 9.10 ± 0.141 (n = 2 of 3) | **8.10 ± 0.100** |"),
        "{report}"
    );
    assert!(
        report.contains(
            "> - set a, NONA, seed 1: cell 4: training diverged: validation MSE is not finite"
        ),
        "{report}"
    );
    assert!(
        report.contains("> - set c, Dense, seed 2: no reason recorded"),
        "{report}"
    );
    assert!(
        report.contains("(set a: 2 seeds, set b: 3 seeds, set c: 2 seeds)"),
        "{report}"
    );
}
