//! A human-readable description of a table: schema, row count, metadata and the first rows.

use std::fmt::Write;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, FixedSizeListArray, Float32Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use arrow::util::pretty::pretty_format_batches;

use crate::schemas::type_name;
use crate::{Dataset, TableError};

/// Values of an embedding shown before the ellipsis in previews.
const PREVIEW_VALUES: usize = 4;

/// Describes the table at `path` (a Parquet file or a directory of parts) and its first `rows` rows.
pub fn describe(path: &Path, rows: usize) -> Result<String, TableError> {
    let dataset = Dataset::open(path)?;
    let mut out = String::new();
    let parts = dataset.parts().len();
    let _ = writeln!(
        out,
        "{}: {} rows in {} part{}",
        path.display(),
        dataset.num_rows(),
        parts,
        if parts == 1 { "" } else { "s" }
    );
    let _ = writeln!(out, "\nschema:");
    for field in dataset.schema().fields() {
        let null = if field.is_nullable() { "" } else { " not null" };
        let _ = writeln!(
            out,
            "  {}: {}{null}",
            field.name(),
            type_name(field.data_type())
        );
    }
    if !dataset.metadata().is_empty() {
        let _ = writeln!(out, "\nmetadata:");
        for (key, value) in dataset.metadata() {
            let _ = writeln!(out, "  {key} = {value}");
        }
    }
    if rows > 0 && dataset.num_rows() > 0 {
        let head: Vec<RecordBatch> = dataset
            .head(rows)?
            .iter()
            .map(summarise_lists)
            .collect::<Result<_, _>>()?;
        let table = pretty_format_batches(&head).map_err(|e| TableError::parquet(path, e))?;
        let shown = head.iter().map(RecordBatch::num_rows).sum::<usize>();
        let _ = writeln!(out, "\nfirst {shown} rows:\n{table}");
    }
    Ok(out)
}

/// Replaces fixed-size list columns by short text previews so wide embeddings fit a terminal.
fn summarise_lists(batch: &RecordBatch) -> Result<RecordBatch, TableError> {
    let mut fields = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        match column.as_any().downcast_ref::<FixedSizeListArray>() {
            Some(list) => {
                fields.push(Field::new(field.name(), DataType::Utf8, true));
                columns.push(Arc::new(preview(list)));
            }
            None => {
                fields.push(field.as_ref().clone());
                columns.push(column.clone());
            }
        }
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
        .map_err(|e| TableError::parquet(Path::new("<preview>"), e))
}

fn preview(list: &FixedSizeListArray) -> StringArray {
    let dim = list.value_length() as usize;
    (0..list.len())
        .map(|row| {
            if list.is_null(row) {
                return None;
            }
            let values = list.value(row);
            let shown = match values.as_any().downcast_ref::<Float32Array>() {
                Some(floats) => floats
                    .values()
                    .iter()
                    .take(PREVIEW_VALUES)
                    .map(|v| format!("{v:.4}"))
                    .collect::<Vec<_>>(),
                None => vec!["…".to_owned()],
            };
            let more = if dim > PREVIEW_VALUES { ", …" } else { "" };
            Some(format!("[{}{more}] ({dim})", shown.join(", ")))
        })
        .collect()
}
