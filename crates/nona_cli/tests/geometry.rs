//! The `geometry` stage end to end on a user-supplied embeddings table: one row per embedding
//! source, numbers equal to `nona_report::geometry` on the same training rows, and the report's
//! "Embedding geometry" section.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use arrow::array::{Array, AsArray};
use arrow::datatypes::{Float64Type, Int64Type};
use common::{assert_conforms, read, run_in, schema_file, splits_of, stderr};
use nona_report::geometry::{GeometryDiagnostics, HUBNESS_NEIGHBOURS, Points};

/// (source, cell or −1, seed) → (train_rows, rows, the 16 other numbers in column order).
type GeometryRows = BTreeMap<(String, i64, i64), (i64, i64, Vec<f64>)>;

const NUMBERS: [&str; 14] = [
    "distinct_rows",
    "columns",
    "intrinsic_dimension",
    "participation_ratio",
    "smoothness_nn_gap",
    "smoothness_random_gap",
    "smoothness_ratio",
    "hubness",
    "control_intrinsic_dimension",
    "control_participation_ratio",
    "control_smoothness_nn_gap",
    "control_smoothness_random_gap",
    "control_smoothness_ratio",
    "control_hubness",
];

fn geometry_rows(dir: &Path) -> GeometryRows {
    let mut rows = BTreeMap::new();
    for batch in read(dir) {
        let column = |name: &str| batch.column_by_name(name).unwrap().clone();
        let int = |name: &str, r: usize| column(name).as_primitive::<Int64Type>().value(r);
        for r in 0..batch.num_rows() {
            let cells = column("cell");
            let cell = if cells.is_null(r) { -1 } else { int("cell", r) };
            let source = column("source").as_string::<i32>().value(r).to_owned();
            let numbers = NUMBERS
                .iter()
                .map(
                    |&name| match column(name).as_primitive_opt::<Float64Type>() {
                        Some(values) => values.value(r),
                        None => int(name, r) as f64,
                    },
                )
                .collect();
            rows.insert(
                (source, cell, int("seed", r)),
                (int("train_rows", r), int("rows", r), numbers),
            );
        }
    }
    rows
}

/// id → (label, embedding) of every row of an embeddings table (`cell` = that cell's rows).
fn embeddings_of(dir: &Path, cell: Option<i64>) -> BTreeMap<String, (f64, Vec<f32>)> {
    let mut rows = BTreeMap::new();
    for batch in read(dir) {
        let ids = nona_table::string_column(&batch, "id", dir).unwrap();
        let labels = nona_table::f64_column(&batch, "label", dir).unwrap();
        let (values, dim) = nona_table::embedding_rows(&batch, "embedding", dir).unwrap();
        for r in 0..batch.num_rows() {
            if let Some(cell) = cell
                && nona_table::i64_column(&batch, "cell", dir)
                    .unwrap()
                    .value(r)
                    != cell
            {
                continue;
            }
            let row = values[r * dim..(r + 1) * dim].to_vec();
            rows.insert(ids.value(r).to_owned(), (labels.value(r), row));
        }
    }
    rows
}

/// The diagnostics of the training rows `ids` (table order) as the stage should compute them:
/// the first `max_rows` of NumPy's `RandomState(seed).permutation`, kept in table order.
fn expected(
    table_order: &[String],
    rows: &BTreeMap<String, (f64, Vec<f32>)>,
    train: &BTreeSet<String>,
    max_rows: usize,
    seed: u32,
) -> (usize, GeometryDiagnostics) {
    let ids: Vec<&String> = table_order
        .iter()
        .filter(|id| train.contains(*id))
        .collect();
    let mut kept = nona_knn::numpy_random::RandomState::new(seed).permutation(ids.len());
    kept.truncate(max_rows);
    kept.sort_unstable();
    let points: Vec<&[f32]> = kept.iter().map(|&i| rows[ids[i]].1.as_slice()).collect();
    let labels: Vec<f64> = kept.iter().map(|&i| rows[ids[i]].0).collect();
    let geometry = GeometryDiagnostics::compute(
        &Points::from_rows(&points).unwrap(),
        &labels,
        HUBNESS_NEIGHBOURS,
        seed.into(),
    )
    .unwrap();
    (ids.len(), geometry)
}

fn numbers_of(geometry: &GeometryDiagnostics) -> Vec<f64> {
    let mut numbers = vec![geometry.distinct_rows as f64, geometry.columns as f64];
    for estimates in [&geometry.observed, &geometry.control] {
        let smoothness = &estimates.label_smoothness;
        numbers.extend([
            estimates.intrinsic_dimension,
            estimates.participation_ratio,
            smoothness.nearest_neighbour_gap,
            smoothness.random_pair_gap,
            smoothness.ratio,
            estimates.hubness,
        ]);
    }
    numbers
}

/// Two seeds, both heads: a row for the backbone of each seed and for each cell's head, each
/// equal (bit for bit) to the estimators run directly on that source's training rows, 25 of
/// them drawn as NumPy would; report.md shows the section.
#[test]
fn every_embedding_source_gets_its_geometry_and_the_report_shows_it() {
    let tmp = tempfile::tempdir().unwrap();
    common::write_embeddings(&tmp.path().join("emb.parquet"), 60, false);
    common::write_pipeline(tmp.path(), "g", 2, 2);
    let pipeline = tmp.path().join("g.toml");
    let text = std::fs::read_to_string(&pipeline).unwrap();
    std::fs::write(
        &pipeline,
        format!("{text}\n[geometry]\nmax_rows = 25\nseed = 3\n"),
    )
    .unwrap();
    let out = run_in(tmp.path(), &["run", "g.toml"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let run = tmp.path().join("runs/g");
    assert_conforms(&schema_file("geometry.schema.json"), &run.join("geometry"));
    let got = geometry_rows(&run.join("geometry"));

    let splits = splits_of(&run.join("train/predictions"));
    let train_of = |cell: i64| -> BTreeSet<String> {
        splits
            .iter()
            .filter(|((c, _, _), split)| *c == cell && split.as_str() == "train")
            .map(|((_, _, id), _)| id.clone())
            .collect()
    };
    let backbone = embeddings_of(&tmp.path().join("emb.parquet"), None);
    let backbone_order: Vec<String> = common::read_embeddings(&tmp.path().join("emb.parquet")).0;
    let mut wanted = BTreeMap::new();
    // cell → seed; every cell of a seed has the seed's split, which the backbone row uses.
    let cells: BTreeMap<i64, i64> = splits.keys().map(|(c, s, _)| (*c, *s)).collect();
    assert_eq!(cells.len(), 4, "2 seeds × 2 heads");
    for (&cell, &seed) in &cells {
        let train = train_of(cell);
        wanted
            .entry(("backbone".to_owned(), -1, seed))
            .or_insert_with(|| expected(&backbone_order, &backbone, &train, 25, 3));
        let heads = embeddings_of(&run.join("train/embeddings"), Some(cell));
        let head_order: Vec<String> = read(&run.join("train/embeddings"))
            .iter()
            .flat_map(|batch| {
                let cells = nona_table::i64_column(batch, "cell", Path::new("e")).unwrap();
                let ids = nona_table::string_column(batch, "id", Path::new("e")).unwrap();
                (0..batch.num_rows())
                    .filter(|&r| cells.value(r) == cell)
                    .map(|r| ids.value(r).to_owned())
                    .collect::<Vec<_>>()
            })
            .collect();
        wanted.insert(
            ("head".to_owned(), cell, seed),
            expected(&head_order, &heads, &train, 25, 3),
        );
    }
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        wanted.keys().collect::<Vec<_>>()
    );
    for (key, (train_rows, geometry)) in &wanted {
        let (got_train, got_rows, got_numbers) = &got[key];
        assert!(*train_rows > 25, "{key:?}: the subsample is exercised");
        assert_eq!((*got_train, *got_rows), (*train_rows as i64, 25), "{key:?}");
        let want = numbers_of(geometry);
        for ((name, got), want) in NUMBERS.iter().zip(got_numbers).zip(&want) {
            assert_eq!(
                got.to_bits(),
                want.to_bits(),
                "{key:?} {name}: {got} vs {want}"
            );
        }
    }

    let report = std::fs::read_to_string(run.join("report/report.md")).unwrap();
    let section = report
        .split("## Embedding geometry")
        .nth(1)
        .expect("the geometry section");
    // Up to the next section.
    let section = section.split("\n## ").next().unwrap_or(section);
    assert!(section.contains("| backbone | 2 | 25 |"), "{section}");
    assert!(section.contains("How to read it"), "{section}");
    assert_eq!(
        section.matches("\n| ").count(),
        1 + 3,
        "header, backbone, 2 head methods: {section}"
    );
}

/// Without `[geometry]` the stage does not run and the report has no geometry section.
#[test]
fn a_pipeline_without_the_section_runs_no_geometry() {
    let tmp = tempfile::tempdir().unwrap();
    common::write_embeddings(&tmp.path().join("emb.parquet"), 40, false);
    common::write_pipeline(tmp.path(), "n", 1, 2);
    let out = run_in(tmp.path(), &["run", "n.toml"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let run = tmp.path().join("runs/n");
    assert!(!run.join("geometry").exists());
    let report = std::fs::read_to_string(run.join("report/report.md")).unwrap();
    assert!(!report.contains("Embedding geometry"), "{report}");
}
