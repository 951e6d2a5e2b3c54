//! The train, knn and report stages end to end on a user-supplied embeddings table, and
//! `nona predict` on their saved models (the table and pipeline writers are in `common`, shared
//! with `explanations.rs`).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use arrow::array::{Array, AsArray, Float64Array, StringArray};
use arrow::datatypes::{Float64Type, Int64Type};
use arrow::record_batch::RecordBatch;
use common::{
    DIM, assert_conforms, knn_predictions, read, run_in, schema_file, splits_of, stderr, stdout,
    table_rows, write_embeddings, write_pipeline,
};

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
                // Bit for bit: a row's prediction does not depend on the rows beside it.
                assert_eq!(
                    got.to_bits(),
                    expected.to_bits(),
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

/// Table 1, the Friedman test and CD diagram across runs, then the runs' geometry (a and b have
/// `[geometry]`, c has not) and uncertainty sections side by side, and where their neighbour
/// evidence is.
#[test]
fn reports_of_several_runs_combine_into_one_table_with_a_cd_diagram() {
    let tmp = tempfile::tempdir().unwrap();
    write_embeddings(&tmp.path().join("emb.parquet"), 60, false);
    let pipeline = tmp.path().join("base.toml");
    for (name, seeds) in [("a", "[0, 1]"), ("b", "[2, 3]"), ("c", "[4, 5]")] {
        write_pipeline(tmp.path(), "base", 2, 2);
        if name != "c" {
            let text = std::fs::read_to_string(&pipeline).unwrap();
            std::fs::write(&pipeline, text + "\n[geometry]\nmax_rows = 40\n").unwrap();
        }
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
    let geometry = &report[report.find("## Embedding geometry").expect("geometry")..];
    for dataset in ["set a", "set b"] {
        assert!(
            geometry.contains(&format!("| {dataset} | backbone | 2 | 40 |")),
            "{geometry}"
        );
    }
    assert!(
        geometry.contains("No geometry for set c (its pipeline has no `[geometry]` section)"),
        "{geometry}"
    );
    let uncertainty = &report[report.find("## Uncertainty").expect("uncertainty")..];
    for dataset in ["set a", "set b", "set c"] {
        assert!(
            uncertainty.contains(&format!("| {dataset} | NONA | 2 |")),
            "{uncertainty}"
        );
    }
    let evidence = &report[report.find("## Neighbour evidence").expect("evidence")..];
    assert!(
        evidence.contains(&format!(
            "- set b: {}",
            Path::new("runs-b/base/report/report.md").display()
        )),
        "{evidence}"
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
    assert!(
        report.contains("None of the combined reports has uncertainty scores"),
        "{report}"
    );
    assert!(!report.contains("## Embedding geometry"), "{report}");
}
