//! The report's "Embedding geometry" section, from the `geometry` stage's table: per embedding
//! source, mean ± sd over seeds of each diagnostic beside its control.

use std::collections::BTreeMap;
use std::path::Path;

use arrow::array::AsArray;
use arrow::datatypes::Int64Type;
use nona_report::table::{CellSummary, format_significant};

use crate::train_sources::SOURCE_BACKBONE;

/// The diagnostics shown, as (heading, column); the control's column is `control_<column>`.
const NUMBERS: [(&str, &str); 4] = [
    ("intrinsic dimension", "intrinsic_dimension"),
    ("participation ratio", "participation_ratio"),
    ("label smoothness", "smoothness_ratio"),
    ("hubness", "hubness"),
];

/// One source's rows over seeds: rows used, and each column of [`NUMBERS`] with its control.
#[derive(Debug, Default)]
pub(super) struct SourceGeometry {
    rows: Vec<i64>,
    /// column → (observed, control) per seed.
    values: BTreeMap<&'static str, (Vec<f64>, Vec<f64>)>,
}

/// Reads the geometry table at `dir`: source name (`backbone`, or the cell's Table 1 method
/// from `methods`) → its rows, sources in table order of first appearance.
pub(super) fn read(
    dir: &Path,
    methods: &BTreeMap<i64, String>,
) -> anyhow::Result<Vec<(String, SourceGeometry)>> {
    let dataset = nona_table::Dataset::open(dir)?;
    let mut sources: Vec<(String, SourceGeometry)> = Vec::new();
    for batch in dataset.batches() {
        let (batch, path) = batch?;
        let source = nona_table::string_column(&batch, "source", path)?;
        // Null for backbone rows, so read without the not-null check.
        let cells = batch
            .column_by_name("cell")
            .and_then(|column| column.as_primitive_opt::<Int64Type>())
            .ok_or_else(|| anyhow::anyhow!("{}: no int64 column `cell`", path.display()))?;
        let rows = nona_table::i64_column(&batch, "rows", path)?;
        for row in 0..batch.num_rows() {
            let name = if source.value(row) == SOURCE_BACKBONE {
                "backbone".to_owned()
            } else {
                let cell = cells.value(row);
                methods
                    .get(&cell)
                    .cloned()
                    .unwrap_or_else(|| format!("cell {cell}"))
            };
            let index = match sources.iter().position(|(n, _)| *n == name) {
                Some(index) => index,
                None => {
                    sources.push((name, SourceGeometry::default()));
                    sources.len() - 1
                }
            };
            let geometry = &mut sources[index].1;
            geometry.rows.push(rows.value(row));
            for (_, column) in NUMBERS {
                let observed = nona_table::f64_column(&batch, column, path)?.value(row);
                let control =
                    nona_table::f64_column(&batch, &format!("control_{column}"), path)?.value(row);
                let entry = geometry.values.entry(column).or_default();
                entry.0.push(observed);
                entry.1.push(control);
            }
        }
    }
    Ok(sources)
}

/// `mean ± sd` of `values` (the mean alone for one seed).
fn summary(values: &[f64]) -> String {
    let cell = CellSummary::from_values(values);
    match cell.sd {
        Some(sd) => format!(
            "{} ± {}",
            format_significant(cell.mean),
            format_significant(sd)
        ),
        None => format_significant(cell.mean),
    }
}

/// The rows measured over seeds: `n`, or `min–max` when seeds differ.
fn row_range(rows: &[i64]) -> String {
    let (min, max) = (rows.iter().min(), rows.iter().max());
    match (min, max) {
        (Some(min), Some(max)) if min != max => format!("{min}–{max}"),
        (Some(min), _) => min.to_string(),
        _ => String::new(),
    }
}

/// The "Embedding geometry" section (empty without sources).
pub(super) fn markdown(sources: &[(String, SourceGeometry)]) -> String {
    if sources.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "\n## Embedding geometry\n\n\
         Training split of each embedding source, mean ± sd over seeds; each number is followed \
         by its control in parentheses (labels shuffled for label smoothness, every feature \
         permuted on its own for the others).\n\n\
         | source | seeds | rows |",
    );
    for (heading, _) in NUMBERS {
        out.push_str(&format!(" {heading} (control) |"));
    }
    out.push_str("\n|---|---|---|");
    out.push_str(&"---|".repeat(NUMBERS.len()));
    out.push('\n');
    for (name, geometry) in sources {
        out.push_str(&format!(
            "| {} | {} | {} |",
            name.replace('|', "\\|"),
            geometry.rows.len(),
            row_range(&geometry.rows)
        ));
        for (_, column) in NUMBERS {
            let (observed, control) = &geometry.values[column];
            out.push_str(&format!(" {} ({}) |", summary(observed), summary(control)));
        }
        out.push('\n');
    }
    out.push_str(
        "\nHow to read it: a label smoothness (nearest-neighbour label gap over a random pair's) \
         well below its control, which is about 1, means labels vary smoothly over the \
         neighbourhoods, so a neighbour vote (k-NN, NONA) has something to go on. An intrinsic \
         dimension or participation ratio far below its control means the rows lie near a \
         low-dimensional set; hubness above its control means a few rows are everybody's \
         neighbours.\n",
    );
    out
}
