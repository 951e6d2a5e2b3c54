//! The report's "Embedding geometry" rows: read from the `geometry` stage's table with each
//! source named as in Table 1, kept as the report's `geometry/` table, and read back from it
//! by `nona report`.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, Float64Array, Int64Array, StringArray};
use arrow::datatypes::Int64Type;
use arrow::record_batch::RecordBatch;
use nona_report::geometry::{GeometryRecord, SHOWN_DIAGNOSTICS};

use crate::train_sources::SOURCE_BACKBONE;

/// The report's table of them, in the stage directory.
pub(super) const TABLE: &str = "geometry";

/// Reads the geometry stage's table at `dir`: one record per row, on `dataset`, the source
/// named `backbone` or by its cell's Table 1 method from `methods`.
pub(super) fn read_stage_table(
    dir: &Path,
    dataset: &str,
    methods: &BTreeMap<i64, String>,
) -> anyhow::Result<Vec<GeometryRecord>> {
    let table = nona_table::Dataset::open(dir)?;
    let mut records = Vec::new();
    for batch in table.batches() {
        let (batch, path) = batch?;
        let sources = nona_table::string_column(&batch, "source", path)?;
        // Null for backbone rows, so read without the not-null check.
        let cells = batch
            .column_by_name("cell")
            .and_then(|column| column.as_primitive_opt::<Int64Type>())
            .ok_or_else(|| anyhow::anyhow!("{}: no int64 column `cell`", path.display()))?;
        let source_of = |row: usize| {
            if sources.value(row) == SOURCE_BACKBONE {
                "backbone".to_owned()
            } else {
                let cell = cells.value(row);
                methods
                    .get(&cell)
                    .cloned()
                    .unwrap_or_else(|| format!("cell {cell}"))
            }
        };
        records.extend(rows(&batch, path, |_| dataset.to_owned(), source_of)?);
    }
    Ok(records)
}

/// The report's `geometry` table of `records`.
pub(super) fn batch(records: &[GeometryRecord]) -> anyhow::Result<RecordBatch> {
    let strings = |field: fn(&GeometryRecord) -> &str| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(records.iter().map(field)))
    };
    let mut columns = vec![
        strings(|r| &r.dataset),
        strings(|r| &r.source),
        Arc::new(Int64Array::from_iter_values(
            records.iter().map(|r| r.seed as i64),
        )) as ArrayRef,
        Arc::new(Int64Array::from_iter_values(records.iter().map(|r| r.rows))),
    ];
    for pick in [|pair: (f64, f64)| pair.0, |pair: (f64, f64)| pair.1] {
        for index in 0..SHOWN_DIAGNOSTICS.len() {
            columns.push(Arc::new(Float64Array::from_iter_values(
                records.iter().map(|r| pick(r.values[index])),
            )));
        }
    }
    Ok(RecordBatch::try_new(
        nona_table::schemas::report_geometry(),
        columns,
    )?)
}

/// Reads a report's `geometry` table back (`nona report`).
pub(super) fn read_report_table(dir: &Path) -> anyhow::Result<Vec<GeometryRecord>> {
    let table = nona_table::Dataset::open(dir)?;
    let mut records = Vec::new();
    for batch in table.batches() {
        let (batch, path) = batch?;
        let datasets = nona_table::string_column(&batch, "dataset", path)?;
        let sources = nona_table::string_column(&batch, "source", path)?;
        records.extend(rows(
            &batch,
            path,
            |row| datasets.value(row).to_owned(),
            |row| sources.value(row).to_owned(),
        )?);
    }
    Ok(records)
}

/// The records of one batch of either table (both have `seed`, `rows` and the shown
/// diagnostics with their controls).
fn rows(
    batch: &RecordBatch,
    path: &Path,
    dataset_of: impl Fn(usize) -> String,
    source_of: impl Fn(usize) -> String,
) -> anyhow::Result<Vec<GeometryRecord>> {
    let seeds = nona_table::i64_column(batch, "seed", path)?;
    let sizes = nona_table::i64_column(batch, "rows", path)?;
    let mut pairs = Vec::new();
    for (_, column) in SHOWN_DIAGNOSTICS {
        pairs.push((
            nona_table::f64_column(batch, column, path)?,
            nona_table::f64_column(batch, &format!("control_{column}"), path)?,
        ));
    }
    Ok((0..batch.num_rows())
        .map(|row| GeometryRecord {
            dataset: dataset_of(row),
            source: source_of(row),
            seed: seeds.value(row) as u64,
            rows: sizes.value(row),
            values: std::array::from_fn(|index| {
                (pairs[index].0.value(row), pairs[index].1.value(row))
            }),
        })
        .collect())
}
