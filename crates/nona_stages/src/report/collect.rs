//! Reads the train and knn stages' tables into Table 1 records and plot data.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use nona_report::table::MseRecord;

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
    pub head: String,
    /// Settings that tell this cell's method apart from others of its head.
    settings: Vec<(&'static str, String)>,
    pub test_mse_e3: f64,
}

/// Everything the report needs from a run.
#[derive(Debug, Default)]
pub(super) struct RunResults {
    pub cells: Vec<Cell>,
    /// cell index → Table 1 method name.
    pub methods: BTreeMap<i64, String>,
    /// Test MSE ×10³ per (method, seed), in Table 1 column order.
    pub records: Vec<MseRecord>,
}

/// Reads `train/metrics` and (when present) `knn/metrics` into records for dataset `dataset`.
pub(super) fn read_results(
    train: &Path,
    knn: Option<&Path>,
    dataset: &str,
) -> anyhow::Result<RunResults> {
    let cells = read_cells(&train.join("metrics"))?;
    let methods = method_names(&cells);
    let mut records = Vec::new();
    for cell in &cells {
        records.push(MseRecord::new(
            dataset,
            &methods[&cell.index],
            cell.seed,
            cell.test_mse_e3,
        ));
    }
    if let Some(knn) = knn {
        let table = nona_table::Dataset::open(&knn.join("metrics"))?;
        for (index, part) in table.parts().iter().enumerate() {
            for batch in table.read_part(index)? {
                let path = &part.path;
                let sources = nona_table::string_column(&batch, "source", path)?;
                let cell_column = arrow::array::AsArray::as_primitive::<arrow::datatypes::Int64Type>(
                    batch.column(batch.schema().index_of("cell")?),
                );
                let seeds = nona_table::i64_column(&batch, "seed", path)?;
                let mse = nona_table::f64_column(&batch, "mse_scaled_e3", path)?;
                for row in 0..batch.num_rows() {
                    let method = if sources.value(row) == crate::knn::SOURCE_BACKBONE {
                        KNN.to_owned()
                    } else {
                        let cell = cell_column.value(row);
                        let base = methods.get(&cell).ok_or_else(|| {
                            anyhow::anyhow!(
                                "{}: cell {cell} is not in the train metrics",
                                path.display()
                            )
                        })?;
                        format!("{base}{PLUS_KNN}")
                    };
                    records.push(MseRecord::new(
                        dataset,
                        &method,
                        seeds.value(row) as u64,
                        mse.value(row),
                    ));
                }
            }
        }
    }
    records.sort_by(|a, b| {
        (column_rank(&a.method), &a.method, a.seed).cmp(&(
            column_rank(&b.method),
            &b.method,
            b.seed,
        ))
    });
    Ok(RunResults {
        cells,
        methods,
        records,
    })
}

/// Table 1's column order: Dense, Dense + k-NN, NONA, NONA + k-NN, then k-NN on the backbone.
fn column_rank(method: &str) -> (u8, bool) {
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
    for (index, part) in table.parts().iter().enumerate() {
        for batch in table.read_part(index)? {
            let path = &part.path;
            let column = |name: &str| nona_table::optional_string_column(&batch, name, path);
            let (similarity, softstep, params) = (
                column("similarity")?,
                column("softstep")?,
                column("params")?,
            );
            let cell_ids = nona_table::i64_column(&batch, "cell", path)?;
            let seeds = nona_table::i64_column(&batch, "seed", path)?;
            let heads = nona_table::string_column(&batch, "head", path)?;
            let batch_sizes = nona_table::i64_column(&batch, "batch_size", path)?;
            let dims = nona_table::i64_column(&batch, "embedding_dim", path)?;
            let splits = nona_table::string_column(&batch, "split", path)?;
            let mse = nona_table::f64_column(&batch, "mse_scaled_e3", path)?;
            for row in (0..batch.num_rows()).filter(|&r| splits.value(r) == "test") {
                let setting = |values: Option<&arrow::array::StringArray>| {
                    values
                        .filter(|v| !arrow::array::Array::is_null(*v, row))
                        .map(|v| v.value(row).to_owned())
                        .unwrap_or_default()
                };
                cells.push(Cell {
                    index: cell_ids.value(row),
                    seed: seeds.value(row) as u64,
                    head: heads.value(row).to_owned(),
                    settings: vec![
                        ("similarity", setting(similarity)),
                        ("softstep", setting(softstep)),
                        ("params", setting(params)),
                        ("batch", batch_sizes.value(row).to_string()),
                        ("d", dims.value(row).to_string()),
                    ],
                    test_mse_e3: mse.value(row),
                });
            }
        }
    }
    cells.sort_by_key(|c| c.index);
    Ok(cells)
}

/// `Dense`, `NONA`, or with the settings that vary within a head: `NONA (l1, s2, batch 64)`.
fn method_names(cells: &[Cell]) -> BTreeMap<i64, String> {
    let mut names = BTreeMap::new();
    for cell in cells {
        let base = if cell.head == "dense" { DENSE } else { NONA };
        let varying: Vec<String> = cell
            .settings
            .iter()
            .enumerate()
            .filter(|(axis, _)| {
                cells
                    .iter()
                    .filter(|other| other.head == cell.head)
                    .map(|other| &other.settings[*axis].1)
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
        names.insert(cell.index, name);
    }
    names
}
