//! Building and reading the column types nona's tables use.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, FixedSizeListArray, Float32Array, Float64Array, Int64Array, ListArray,
    StringArray,
};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::DataType;
use arrow::record_batch::RecordBatch;

use crate::TableError;
use crate::schemas::float32_item;

/// Packs row-major `values` (rows × `dim`) as a non-null `FixedSizeList<Float32, dim>` column.
pub fn embedding_array(values: Vec<f32>, dim: usize) -> FixedSizeListArray {
    let values = embedding_values(values, dim);
    FixedSizeListArray::new(float32_item(), dim as i32, values, None)
}

/// Packs row-major `values` (rows × `dim`) as a non-null `List<Float32>` column (for tables whose
/// rows may differ in width between parts).
pub fn embedding_list_array(values: Vec<f32>, dim: usize) -> ListArray {
    let values = embedding_values(values, dim);
    let offsets = OffsetBuffer::from_lengths(std::iter::repeat_n(dim, values.len() / dim));
    ListArray::new(float32_item(), offsets, values, None)
}

/// The items of an embedding column, checked to form whole rows of `dim`.
fn embedding_values(values: Vec<f32>, dim: usize) -> ArrayRef {
    assert!(
        dim > 0 && values.len().is_multiple_of(dim),
        "{} values do not form rows of {dim}",
        values.len()
    );
    Arc::new(Float32Array::from(values))
}

/// Reads an embedding column as row-major values and the width `d`: a `FixedSizeList<Float32, d>`,
/// or a `List<Float32>` whose rows all have the same length (an empty batch has `d = 0`).
pub fn embedding_rows(
    batch: &RecordBatch,
    name: &str,
    path: &Path,
) -> Result<(Vec<f32>, usize), TableError> {
    let column = column(batch, name, path)?;
    if let Some(list) = column.as_any().downcast_ref::<ListArray>() {
        return list_rows(list, name, path);
    }
    let list = downcast::<FixedSizeListArray>(column, path, |found| {
        format!("column `{name}` is {found}, expected FixedSizeList<Float32, d> or List<Float32>")
    })?;
    let values = float_items(list.values(), name, path)?;
    if list.null_count() > 0 {
        return Err(null_rows(name, path));
    }
    let dim = list.value_length() as usize;
    let start = list.offset() * dim;
    let values = values.values()[start..start + list.len() * dim].to_vec();
    Ok((values, dim))
}

fn list_rows(list: &ListArray, name: &str, path: &Path) -> Result<(Vec<f32>, usize), TableError> {
    if list.null_count() > 0 {
        return Err(null_rows(name, path));
    }
    let dim = list.value_length(0) as usize;
    if let Some(row) = (0..list.len()).find(|&r| list.value_length(r) as usize != dim) {
        return Err(TableError::column(
            path,
            format!(
                "column `{name}`: row {row} has {} values, row 0 has {dim}",
                list.value_length(row)
            ),
        ));
    }
    let mut values = Vec::with_capacity(list.len() * dim);
    for row in 0..list.len() {
        values.extend_from_slice(float_items(&list.value(row), name, path)?.values());
    }
    Ok((values, dim))
}

/// The items of a list column's rows, which must be Float32.
fn float_items<'a>(
    items: &'a ArrayRef,
    name: &str,
    path: &Path,
) -> Result<&'a Float32Array, TableError> {
    downcast(items, path, |found| {
        format!("column `{name}` holds {found}, expected Float32 items")
    })
}

/// A non-null Utf8 column.
pub fn string_column<'a>(
    batch: &'a RecordBatch,
    name: &str,
    path: &Path,
) -> Result<&'a StringArray, TableError> {
    non_null(column(batch, name, path)?, name, path, "Utf8")
}

/// A nullable Utf8 column, or `None` when the table has no such column (or an all-null one of
/// type Null).
pub fn optional_string_column<'a>(
    batch: &'a RecordBatch,
    name: &str,
    path: &Path,
) -> Result<Option<&'a StringArray>, TableError> {
    if batch.schema().index_of(name).is_err() {
        return Ok(None);
    }
    let column = column(batch, name, path)?;
    if column.data_type() == &DataType::Null {
        // An all-null column as pandas/pyarrow write it (`[None] * n`).
        return Ok(None);
    }
    downcast(column, path, |found| {
        format!("column `{name}` is {found}, expected Utf8")
    })
    .map(Some)
}

/// A non-null Float64 column.
pub fn f64_column<'a>(
    batch: &'a RecordBatch,
    name: &str,
    path: &Path,
) -> Result<&'a Float64Array, TableError> {
    non_null(column(batch, name, path)?, name, path, "Float64")
}

/// A non-null numeric column (any integer or float type) as `f64` values, e.g. labels that a
/// user's table stores as float32 or int.
pub fn numeric_column_as_f64(
    batch: &RecordBatch,
    name: &str,
    path: &Path,
) -> Result<Vec<f64>, TableError> {
    let column = column(batch, name, path)?;
    if !column.data_type().is_numeric() {
        return Err(TableError::column(
            path,
            format!(
                "column `{name}` is {}, expected a number",
                column.data_type()
            ),
        ));
    }
    if column.null_count() > 0 {
        return Err(null_rows(name, path));
    }
    let cast = arrow::compute::cast(column, &DataType::Float64)
        .map_err(|e| TableError::column(path, format!("column `{name}`: {e}")))?;
    let floats = cast
        .as_any()
        .downcast_ref::<Float64Array>()
        .expect("cast to Float64 gives a Float64Array");
    Ok(floats.values().to_vec())
}

/// A non-null Int64 column.
pub fn i64_column<'a>(
    batch: &'a RecordBatch,
    name: &str,
    path: &Path,
) -> Result<&'a Int64Array, TableError> {
    non_null(column(batch, name, path)?, name, path, "Int64")
}

/// `column` as an `A` (whose Arrow type is called `expected` in the error) without nulls.
fn non_null<'a, A: Array + 'static>(
    column: &'a ArrayRef,
    name: &str,
    path: &Path,
    expected: &str,
) -> Result<&'a A, TableError> {
    let array = downcast::<A>(column, path, |found| {
        format!("column `{name}` is {found}, expected {expected}")
    })?;
    if array.null_count() > 0 {
        return Err(null_rows(name, path));
    }
    Ok(array)
}

/// `array` as an `A`, or the error `mismatch` words from the type it has.
fn downcast<'a, A: Array + 'static>(
    array: &'a ArrayRef,
    path: &Path,
    mismatch: impl FnOnce(&DataType) -> String,
) -> Result<&'a A, TableError> {
    array
        .as_any()
        .downcast_ref::<A>()
        .ok_or_else(|| TableError::column(path, mismatch(array.data_type())))
}

fn null_rows(name: &str, path: &Path) -> TableError {
    TableError::column(path, format!("column `{name}` has null rows"))
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

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::datatypes::{Field, Schema};

    fn batch_of(column: ArrayRef) -> RecordBatch {
        let schema = Schema::new(vec![Field::new("e", column.data_type().clone(), false)]);
        RecordBatch::try_new(Arc::new(schema), vec![column]).unwrap()
    }

    #[test]
    fn fixed_and_variable_lists_read_back_the_same_rows() {
        let values: Vec<f32> = (0..12).map(|v| v as f32).collect();
        let path = Path::new("t.parquet");
        for column in [
            Arc::new(embedding_array(values.clone(), 4)) as ArrayRef,
            Arc::new(embedding_list_array(values.clone(), 4)) as ArrayRef,
        ] {
            let (read, dim) = embedding_rows(&batch_of(column), "e", path).unwrap();
            assert_eq!((read, dim), (values.clone(), 4));
        }
        let sliced = batch_of(Arc::new(embedding_list_array(values.clone(), 3))).slice(2, 2);
        assert_eq!(
            embedding_rows(&sliced, "e", path).unwrap(),
            (values[6..12].to_vec(), 3)
        );
    }

    #[test]
    fn numeric_labels_of_any_width_read_as_f64_and_text_is_rejected() {
        let path = Path::new("t.parquet");
        for column in [
            Arc::new(Float32Array::from(vec![1.5, 2.0])) as ArrayRef,
            Arc::new(Int64Array::from(vec![3, 4])) as ArrayRef,
        ] {
            let values = numeric_column_as_f64(&batch_of(column.clone()), "e", path).unwrap();
            assert_eq!(values.len(), 2);
            assert_eq!(
                values[0],
                arrow::compute::cast(&column, &DataType::Float64)
                    .unwrap()
                    .as_any()
                    .downcast_ref::<Float64Array>()
                    .unwrap()
                    .value(0)
            );
        }
        let text = Arc::new(StringArray::from(vec!["a"])) as ArrayRef;
        let error = numeric_column_as_f64(&batch_of(text), "e", path)
            .unwrap_err()
            .to_string();
        assert!(error.contains("expected a number"), "{error}");
    }

    #[test]
    fn ragged_list_rows_are_rejected_with_the_row() {
        let item = Arc::new(Field::new("item", DataType::Float32, false));
        let ragged = ListArray::new(
            item,
            OffsetBuffer::from_lengths([2, 2, 3]),
            Arc::new(Float32Array::from(vec![0.0; 7])),
            None,
        );
        let error = embedding_rows(&batch_of(Arc::new(ragged)), "e", Path::new("t.parquet"))
            .unwrap_err()
            .to_string();
        assert!(error.contains("row 2 has 3 values, row 0 has 2"), "{error}");
    }
}
