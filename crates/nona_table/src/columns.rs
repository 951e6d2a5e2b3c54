//! Building and reading the column types nona's tables use.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, FixedSizeListArray, Float32Array, Float64Array, StringArray};
use arrow::datatypes::{DataType, Field};
use arrow::record_batch::RecordBatch;

use crate::TableError;

/// Packs row-major `values` (rows × `dim`) as a non-null `FixedSizeList<Float32, dim>` column.
pub fn embedding_array(values: Vec<f32>, dim: usize) -> FixedSizeListArray {
    assert!(
        dim > 0 && values.len().is_multiple_of(dim),
        "{} values do not form rows of {dim}",
        values.len()
    );
    let item = Arc::new(Field::new("item", DataType::Float32, false));
    let values: ArrayRef = Arc::new(Float32Array::from(values));
    FixedSizeListArray::new(item, dim as i32, values, None)
}

/// Reads a `FixedSizeList<Float32, d>` column as row-major values and `d`.
pub fn embedding_rows(
    batch: &RecordBatch,
    name: &str,
    path: &Path,
) -> Result<(Vec<f32>, usize), TableError> {
    let column = column(batch, name, path)?;
    let list = column
        .as_any()
        .downcast_ref::<FixedSizeListArray>()
        .ok_or_else(|| {
            TableError::column(
                path,
                format!(
                    "column `{name}` is {}, expected FixedSizeList<Float32, d>",
                    column.data_type()
                ),
            )
        })?;
    let values = list
        .values()
        .as_any()
        .downcast_ref::<Float32Array>()
        .ok_or_else(|| {
            TableError::column(
                path,
                format!(
                    "column `{name}` holds {}, expected Float32 items",
                    list.value_type()
                ),
            )
        })?;
    if list.null_count() > 0 {
        return Err(TableError::column(
            path,
            format!("column `{name}` has null rows"),
        ));
    }
    let dim = list.value_length() as usize;
    let start = list.offset() * dim;
    let values = values.values()[start..start + list.len() * dim].to_vec();
    Ok((values, dim))
}

/// A non-null Utf8 column.
pub fn string_column<'a>(
    batch: &'a RecordBatch,
    name: &str,
    path: &Path,
) -> Result<&'a StringArray, TableError> {
    let column = column(batch, name, path)?;
    let strings = column
        .as_any()
        .downcast_ref::<StringArray>()
        .ok_or_else(|| {
            TableError::column(
                path,
                format!("column `{name}` is {}, expected Utf8", column.data_type()),
            )
        })?;
    if strings.null_count() > 0 {
        return Err(TableError::column(
            path,
            format!("column `{name}` has null rows"),
        ));
    }
    Ok(strings)
}

/// A nullable Utf8 column, or `None` when the table has no such column.
pub fn optional_string_column<'a>(
    batch: &'a RecordBatch,
    name: &str,
    path: &Path,
) -> Result<Option<&'a StringArray>, TableError> {
    match batch.schema().index_of(name) {
        Err(_) => Ok(None),
        Ok(_) => {
            let column = column(batch, name, path)?;
            column
                .as_any()
                .downcast_ref::<StringArray>()
                .map(Some)
                .ok_or_else(|| {
                    TableError::column(
                        path,
                        format!("column `{name}` is {}, expected Utf8", column.data_type()),
                    )
                })
        }
    }
}

/// A non-null Float64 column.
pub fn f64_column<'a>(
    batch: &'a RecordBatch,
    name: &str,
    path: &Path,
) -> Result<&'a Float64Array, TableError> {
    let column = column(batch, name, path)?;
    let floats = column
        .as_any()
        .downcast_ref::<Float64Array>()
        .ok_or_else(|| {
            TableError::column(
                path,
                format!(
                    "column `{name}` is {}, expected Float64",
                    column.data_type()
                ),
            )
        })?;
    if floats.null_count() > 0 {
        return Err(TableError::column(
            path,
            format!("column `{name}` has null rows"),
        ));
    }
    Ok(floats)
}

fn column<'a>(batch: &'a RecordBatch, name: &str, path: &Path) -> Result<&'a ArrayRef, TableError> {
    let index = batch.schema().index_of(name).map_err(|_| {
        let names: Vec<_> = batch
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        TableError::column(
            path,
            format!("no column `{name}` (columns: {})", names.join(", ")),
        )
    })?;
    Ok(batch.column(index))
}
