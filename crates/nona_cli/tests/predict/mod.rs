//! What the `nona predict` tests read back: the train stage's NONA model, test predictions and
//! evidence of a run, and the files predict writes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use arrow::array::{Array, AsArray};
use arrow::datatypes::{Float64Type, Int64Type};

use crate::common::read;

/// The cell index and directory of the NONA model of `run`.
pub fn nona_model(run: &Path) -> (i64, PathBuf) {
    std::fs::read_dir(run.join("train/models"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|path| {
            std::fs::read_to_string(path.join("model.json"))
                .unwrap()
                .contains("\"head\": \"nona\"")
        })
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name["cell-".len()..].parse().unwrap(), path)
        })
        .expect("a NONA model")
}

/// The test split of `cell` in `run`: id → (label, prediction) from `train/predictions`.
pub fn test_predictions(run: &Path, cell: i64) -> BTreeMap<String, (f64, f64)> {
    let mut rows = BTreeMap::new();
    for batch in read(&run.join("train/predictions")) {
        let cells = batch
            .column_by_name("cell")
            .unwrap()
            .as_primitive::<Int64Type>();
        let ids = batch.column_by_name("id").unwrap().as_string::<i32>();
        let splits = batch.column_by_name("split").unwrap().as_string::<i32>();
        let float = |name: &str| {
            batch
                .column_by_name(name)
                .unwrap()
                .as_primitive::<Float64Type>()
                .clone()
        };
        let (labels, predictions) = (float("label"), float("prediction"));
        for r in 0..batch.num_rows() {
            if cells.value(r) == cell && splits.value(r) == "test" {
                rows.insert(
                    ids.value(r).to_owned(),
                    (labels.value(r), predictions.value(r)),
                );
            }
        }
    }
    rows
}

/// The test rows of `cell` in `run`'s `train/explanations`, as [`explanation_rows`] gives them.
pub fn test_explanations(run: &Path, cell: i64) -> BTreeMap<(String, i64), Vec<String>> {
    explanation_rows(&run.join("train/explanations"), |batch, r| {
        let cells = batch
            .column_by_name("cell")
            .unwrap()
            .as_primitive::<Int64Type>();
        let splits = batch.column_by_name("split").unwrap().as_string::<i32>();
        cells.value(r) == cell && splits.value(r) == "test"
    })
}

/// (id, rank) → the values of the evidence columns (bits of the floats), of the rows of the
/// explanations table at `path` that `keep` accepts.
pub fn explanation_rows(
    path: &Path,
    keep: impl Fn(&arrow::record_batch::RecordBatch, usize) -> bool,
) -> BTreeMap<(String, i64), Vec<String>> {
    let mut rows = BTreeMap::new();
    for batch in read(path) {
        let ids = batch.column_by_name("id").unwrap().as_string::<i32>();
        let ranks = batch
            .column_by_name("rank")
            .unwrap()
            .as_primitive::<Int64Type>();
        for r in (0..batch.num_rows()).filter(|&r| keep(&batch, r)) {
            let mut values = Vec::new();
            for name in [
                "prediction",
                "spread",
                "top_k_mass",
                "entropy",
                "neighbour_label",
                "weight",
                "similarity",
            ] {
                let column = batch
                    .column_by_name(name)
                    .unwrap()
                    .as_primitive::<Float64Type>();
                values.push(format!("{name}={:#x}", column.value(r).to_bits()));
            }
            let neighbour = batch
                .column_by_name("neighbour_id")
                .unwrap()
                .as_string::<i32>();
            values.push(format!("neighbour={}", neighbour.value(r)));
            rows.insert((ids.value(r).to_owned(), ranks.value(r)), values);
        }
    }
    rows
}

/// id → (prediction, spread, label) of a predict output file.
pub fn predicted(path: &Path) -> BTreeMap<String, (f64, Option<f64>, Option<f64>)> {
    let mut rows = BTreeMap::new();
    for batch in read(path) {
        let ids = batch.column_by_name("id").unwrap().as_string::<i32>();
        let float = |name: &str| {
            batch
                .column_by_name(name)
                .map(|c| c.as_primitive::<Float64Type>().clone())
        };
        let (predictions, spreads, labels) = (
            float("prediction").unwrap(),
            float("spread").unwrap(),
            float("label"),
        );
        for r in 0..batch.num_rows() {
            rows.insert(
                ids.value(r).to_owned(),
                (
                    predictions.value(r),
                    (!spreads.is_null(r)).then(|| spreads.value(r)),
                    labels.as_ref().map(|l| l.value(r)),
                ),
            );
        }
    }
    rows
}
