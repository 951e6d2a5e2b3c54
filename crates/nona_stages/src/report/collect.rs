//! Reads the train and knn stages' tables into Table 1 records and plot data, and finds the
//! results the train grid asked for that are missing (cells that diverged), with their reasons.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use nona_report::markdown::MissingResult;
use nona_report::table::MseRecord;
use nona_train::{Grid, HeadKind};

use crate::train::describe_cell;

/// Table 1 method names.
pub(super) const DENSE: &str = "Dense";
pub(super) const NONA: &str = "NONA";
pub(super) const KNN: &str = "k-NN";
const PLUS_KNN: &str = " + k-NN";

/// One trained cell, as the metrics table describes it.
#[derive(Debug, Clone)]
pub(super) struct Cell {
    pub index: i64,
    pub seed: u64,
    pub test_mse_e3: f64,
}

/// What the knn stage was asked to compute, and where its output is.
pub(super) struct KnnRun<'a> {
    /// The knn stage's directory.
    pub dir: &'a Path,
    /// k-NN on the backbone embeddings of every seed.
    pub backbone: bool,
    /// k-NN on every cell's head embeddings.
    pub heads: bool,
}

/// Everything the report needs from a run.
#[derive(Debug, Default)]
pub(super) struct RunResults {
    pub cells: Vec<Cell>,
    /// cell index → Table 1 method name (every cell of the grid, trained or not).
    pub methods: BTreeMap<i64, String>,
    /// Test MSE ×10³ per (method, seed), in Table 1 column order.
    pub records: Vec<MseRecord>,
    /// Results the grid asked for that are not in `records`, in Table 1 column order.
    pub missing: Vec<MissingResult>,
}

/// Reads `train/metrics` and (when present) `knn/metrics` into records for dataset `dataset`,
/// and lists what `grid` (the train stage's) and `knn` asked for but is missing.
pub(super) fn read_results(
    train: &Path,
    knn: Option<&KnnRun>,
    dataset: &str,
    grid: &Grid,
) -> anyhow::Result<RunResults> {
    let cells = read_cells(&train.join("metrics"))?;
    let methods = method_names(grid);
    let mut records = Vec::new();
    for cell in &cells {
        let name = methods.get(&cell.index).ok_or_else(|| {
            anyhow::anyhow!(
                "{}: cell {} is not in the train grid",
                train.join("metrics").display(),
                cell.index
            )
        })?;
        records.push(MseRecord::new(dataset, name, cell.seed, cell.test_mse_e3));
    }
    if let Some(knn) = knn {
        let table = nona_table::Dataset::open(&knn.dir.join("metrics"))?;
        for batch in table.batches() {
            let (batch, path) = batch?;
            let sources = nona_table::string_column(&batch, "source", path)?;
            let cell_column = arrow::array::AsArray::as_primitive::<arrow::datatypes::Int64Type>(
                batch.column(batch.schema().index_of("cell")?),
            );
            let seeds = nona_table::i64_column(&batch, "seed", path)?;
            let mse = nona_table::f64_column(&batch, "mse_scaled_e3", path)?;
            for row in 0..batch.num_rows() {
                let method =
                    knn_method(sources.value(row), cell_column.value(row), &methods, path)?;
                records.push(MseRecord::new(
                    dataset,
                    &method,
                    seeds.value(row) as u64,
                    mse.value(row),
                ));
            }
        }
    }
    let table_order = |a: &MseRecord, b: &MseRecord| {
        (column_rank(&a.method), &a.method, a.seed).cmp(&(
            column_rank(&b.method),
            &b.method,
            b.seed,
        ))
    };
    records.sort_by(table_order);
    let asked = Asked {
        grid,
        methods: &methods,
        knn_backbone: knn.is_some_and(|knn| knn.backbone),
        knn_heads: knn.is_some_and(|knn| knn.heads),
    };
    let knn_failed = match knn {
        Some(knn) => !error_messages(&knn.dir.join("_errors"))?.is_empty(),
        None => false,
    };
    let train_errors = error_messages(&train.join("_errors"))?;
    let mut missing = asked.missing(dataset, &records, &train_errors, knn_failed);
    missing.sort_by(|a, b| {
        table_order(
            &MseRecord::new(dataset, &a.method, a.seed, 0.0),
            &MseRecord::new(dataset, &b.method, b.seed, 0.0),
        )
    });
    Ok(RunResults {
        cells,
        methods,
        records,
        missing,
    })
}

/// The Table 1 name of a k-NN result of `source` (a row of a knn table at `path`): `k-NN` on
/// the backbone, `<cell's method> + k-NN` on a head's embeddings.
pub(super) fn knn_method(
    source: &str,
    cell: i64,
    methods: &BTreeMap<i64, String>,
    path: &Path,
) -> anyhow::Result<String> {
    if source == crate::knn::SOURCE_BACKBONE {
        return Ok(KNN.to_owned());
    }
    let base = methods.get(&cell).ok_or_else(|| {
        anyhow::anyhow!(
            "{}: cell {cell} is not in the train metrics",
            path.display()
        )
    })?;
    Ok(format!("{base}{PLUS_KNN}"))
}

/// What a run asked for: every cell of the train grid, and k-NN on the backbone (per seed) and on
/// every cell's head embeddings.
struct Asked<'a> {
    grid: &'a Grid,
    /// cell index → Table 1 method name.
    methods: &'a BTreeMap<i64, String>,
    knn_backbone: bool,
    knn_heads: bool,
}

impl Asked<'_> {
    /// The results asked for that are not in `records`: a cell that did not train (its reason
    /// from `train_errors`, the train stage's errors by source), its "+ k-NN" result, and k-NN
    /// results the knn stage did not write (`knn_failed`: its errors table has rows).
    fn missing(
        &self,
        dataset: &str,
        records: &[MseRecord],
        train_errors: &BTreeMap<String, String>,
        knn_failed: bool,
    ) -> Vec<MissingResult> {
        let present: BTreeSet<(&str, u64)> = records
            .iter()
            .map(|r| (r.method.as_str(), r.seed))
            .collect();
        let knn_reason = || {
            knn_failed.then(|| "k-NN failed; see the knn stage's errors table (_errors)".to_owned())
        };
        let mut missing = Vec::new();
        let mut add = |method: String, seed: u64, reason: Option<String>| {
            if !present.contains(&(method.as_str(), seed)) {
                missing.push(MissingResult {
                    dataset: dataset.to_owned(),
                    method,
                    seed,
                    reason,
                });
            }
        };
        for (index, cell) in self.grid.cells().iter().enumerate() {
            let method = &self.methods[&(index as i64)];
            let trained = present.contains(&(method.as_str(), cell.seed));
            let description = describe_cell(index, cell);
            if self.knn_heads {
                let reason = if trained {
                    knn_reason()
                } else {
                    Some(format!("no head embeddings: cell {index} did not train"))
                };
                add(format!("{method}{PLUS_KNN}"), cell.seed, reason);
            }
            let reason = train_errors
                .get(&description)
                .map(|message| format!("{description}: {message}"));
            add(method.clone(), cell.seed, reason);
        }
        if self.knn_backbone {
            let seeds: BTreeSet<u64> = self.grid.cells().iter().map(|c| c.seed).collect();
            for seed in seeds {
                add(KNN.to_owned(), seed, knn_reason());
            }
        }
        missing
    }
}

/// `source → message` of a stage's errors table; empty when it has none.
fn error_messages(dir: &Path) -> anyhow::Result<BTreeMap<String, String>> {
    let mut messages = BTreeMap::new();
    if !dir.is_dir() {
        return Ok(messages);
    }
    let table = nona_table::Dataset::open(dir)?;
    for batch in table.batches() {
        let (batch, path) = batch?;
        let sources = nona_table::string_column(&batch, "source", path)?;
        let texts = nona_table::string_column(&batch, "message", path)?;
        for row in 0..batch.num_rows() {
            messages.insert(sources.value(row).to_owned(), texts.value(row).to_owned());
        }
    }
    Ok(messages)
}

/// Table 1's column order: Dense, Dense + k-NN, NONA, NONA + k-NN, then k-NN on the backbone.
pub(super) fn column_rank(method: &str) -> (u8, bool) {
    let knn = method.ends_with(PLUS_KNN);
    let head = if method.starts_with(DENSE) {
        0
    } else if method.starts_with(NONA) {
        1
    } else {
        2
    };
    (head, knn)
}

fn read_cells(metrics: &Path) -> anyhow::Result<Vec<Cell>> {
    let table = nona_table::Dataset::open(metrics)?;
    let mut cells = Vec::new();
    for batch in table.batches() {
        let (batch, path) = batch?;
        let cell_ids = nona_table::i64_column(&batch, "cell", path)?;
        let seeds = nona_table::i64_column(&batch, "seed", path)?;
        let splits = nona_table::string_column(&batch, "split", path)?;
        let mse = nona_table::f64_column(&batch, "mse_scaled_e3", path)?;
        for row in (0..batch.num_rows()).filter(|&r| splits.value(r) == "test") {
            cells.push(Cell {
                index: cell_ids.value(row),
                seed: seeds.value(row) as u64,
                test_mse_e3: mse.value(row),
            });
        }
    }
    cells.sort_by_key(|c| c.index);
    Ok(cells)
}

/// The settings that can tell a cell's method apart from others of its head.
fn settings(cell: &nona_train::CellConfig) -> [(&'static str, String); 5] {
    let model = &cell.model;
    let nona = |value: String| {
        if model.head == HeadKind::Nona {
            value
        } else {
            String::new()
        }
    };
    [
        ("similarity", nona(model.similarity.to_string())),
        ("softstep", nona(model.softstep.to_string())),
        ("params", nona(model.params.to_string())),
        ("batch", cell.optim.batch_size.to_string()),
        ("d", model.embedding_dim.to_string()),
    ]
}

/// Every grid cell's method: `Dense`, `NONA`, or with the settings that vary within a head:
/// `NONA (l1, s2, batch 64)`.
fn method_names(grid: &Grid) -> BTreeMap<i64, String> {
    let cells: Vec<(HeadKind, [(&str, String); 5])> = grid
        .cells()
        .iter()
        .map(|cell| (cell.model.head, settings(cell)))
        .collect();
    let mut names = BTreeMap::new();
    for (index, (head, cell_settings)) in cells.iter().enumerate() {
        let base = if *head == HeadKind::Dense {
            DENSE
        } else {
            NONA
        };
        let varying: Vec<String> = cell_settings
            .iter()
            .enumerate()
            .filter(|(axis, _)| {
                cells
                    .iter()
                    .filter(|(other, _)| other == head)
                    .map(|(_, other)| &other[*axis].1)
                    .collect::<BTreeSet<_>>()
                    .len()
                    > 1
            })
            .map(|(_, (name, value))| match *name {
                "batch" | "d" => format!("{name} {value}"),
                _ => value.clone(),
            })
            .collect();
        let name = if varying.is_empty() {
            base.to_owned()
        } else {
            format!("{base} ({})", varying.join(", "))
        };
        names.insert(index as i64, name);
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Dense and NONA over seeds 0..3 (cells 0-2 dense, 3-5 NONA), k-NN on backbone and heads.
    fn grid() -> Grid {
        let spec: nona_train::GridSpec = serde_json::from_value(serde_json::json!({
            "seeds": 3,
        }))
        .unwrap();
        Grid::new(&spec).unwrap()
    }

    #[test]
    fn a_diverged_cell_is_missing_with_its_reason_and_so_is_its_knn_result() {
        let grid = grid();
        let methods = method_names(&grid);
        assert_eq!(methods[&0], DENSE);
        assert_eq!(methods[&4], NONA);
        let mut records = Vec::new();
        for (index, cell) in grid.cells().iter().enumerate() {
            if index == 4 {
                continue; // NONA, seed 1 diverged
            }
            records.push(MseRecord::new(
                "d",
                &methods[&(index as i64)],
                cell.seed,
                1.0,
            ));
            let knn = format!("{}{PLUS_KNN}", methods[&(index as i64)]);
            records.push(MseRecord::new("d", &knn, cell.seed, 1.0));
        }
        for seed in 0..3 {
            records.push(MseRecord::new("d", KNN, seed, 1.0));
        }
        let description = describe_cell(4, &grid.cells()[4]);
        assert_eq!(
            description,
            "cell 4: nona (l2, s2, pointwise), batch 32, d 25, seed 1"
        );
        let errors: BTreeMap<String, String> = [(
            description.clone(),
            "training diverged at epoch 7".to_owned(),
        )]
        .into();
        let asked = Asked {
            grid: &grid,
            methods: &methods,
            knn_backbone: true,
            knn_heads: true,
        };
        let missing = asked.missing("d", &records, &errors, false);
        let shown: Vec<(&str, u64, Option<&str>)> = missing
            .iter()
            .map(|m| (m.method.as_str(), m.seed, m.reason.as_deref()))
            .collect();
        assert_eq!(
            shown,
            [
                (
                    "NONA + k-NN",
                    1,
                    Some("no head embeddings: cell 4 did not train")
                ),
                (
                    "NONA",
                    1,
                    Some(format!("{description}: training diverged at epoch 7").as_str())
                ),
            ]
        );
        // Without k-NN asked for, only the cell itself is missing.
        let asked = Asked {
            knn_backbone: false,
            knn_heads: false,
            ..asked
        };
        assert_eq!(asked.missing("d", &records, &errors, false).len(), 1);
    }

    #[test]
    fn methods_are_named_from_the_grid_even_when_a_setting_never_trained() {
        let spec: nona_train::GridSpec = serde_json::from_value(serde_json::json!({
            "similarities": ["l2", "l1"],
            "seeds": 1,
        }))
        .unwrap();
        let names = method_names(&Grid::new(&spec).unwrap());
        let names: Vec<&str> = names.values().map(String::as_str).collect();
        assert_eq!(names, ["Dense", "NONA (l2)", "NONA (l1)"]);
    }
}
