//! Reading a dataset manifest (CSV or Parquet) as text columns.

use std::path::Path;

use arrow::array::Array;
use arrow::compute::cast;
use arrow::datatypes::DataType;

use crate::{Dataset, TableError};

/// Manifest columns as text, each with one entry per data row (`None` for an empty cell or null).
#[derive(Debug, Clone)]
pub struct ManifestColumns {
    /// The requested columns, in request order.
    pub columns: Vec<Vec<Option<String>>>,
    /// Where each row came from, for error messages (`line 12` for CSV, `row 11` for Parquet).
    pub row_origin: Vec<String>,
}

/// Reads the named columns of a `.csv` or `.parquet` manifest. A missing column is an error
/// that lists the columns the file does have.
pub fn read_manifest_columns(path: &Path, names: &[&str]) -> Result<ManifestColumns, TableError> {
    let is_parquet = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("parquet"))
        || path.is_dir();
    if is_parquet {
        read_parquet(path, names)
    } else {
        read_csv(path, names)
    }
}

fn read_csv(path: &Path, names: &[&str]) -> Result<ManifestColumns, TableError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_path(path)
        .map_err(|e| csv_error(path, &e))?;
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| csv_error(path, &e))?
        .iter()
        .map(str::to_owned)
        .collect();
    let indices = names
        .iter()
        .map(|name| {
            header.iter().position(|h| h == name).ok_or_else(|| {
                TableError::column(
                    path,
                    format!("no column `{name}` (columns: {})", header.join(", ")),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut columns = vec![Vec::new(); names.len()];
    let mut row_origin = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| csv_error(path, &e))?;
        let line = record.position().map_or(0, |p| p.line());
        for (column, &index) in columns.iter_mut().zip(&indices) {
            let cell = record.get(index).unwrap_or("").trim();
            column.push((!cell.is_empty()).then(|| cell.to_owned()));
        }
        row_origin.push(format!("line {line}"));
    }
    Ok(ManifestColumns {
        columns,
        row_origin,
    })
}

fn read_parquet(path: &Path, names: &[&str]) -> Result<ManifestColumns, TableError> {
    let dataset = Dataset::open(path)?;
    let schema = dataset.schema();
    for name in names {
        if schema.index_of(name).is_err() {
            let have: Vec<_> = schema.fields().iter().map(|f| f.name().clone()).collect();
            return Err(TableError::column(
                path,
                format!("no column `{name}` (columns: {})", have.join(", ")),
            ));
        }
    }
    let mut columns = vec![Vec::new(); names.len()];
    for batch in dataset.read_all()? {
        for (column, name) in columns.iter_mut().zip(names) {
            let array = batch.column(schema.index_of(name).expect("checked above"));
            let text = cast(array, &DataType::Utf8).map_err(|e| {
                TableError::column(path, format!("column `{name}` cannot be read as text: {e}"))
            })?;
            let text = text
                .as_any()
                .downcast_ref::<arrow::array::StringArray>()
                .expect("cast to Utf8");
            column.extend(
                (0..text.len()).map(|i| (!text.is_null(i)).then(|| text.value(i).to_owned())),
            );
        }
    }
    let rows = columns.first().map_or(0, Vec::len);
    Ok(ManifestColumns {
        columns,
        row_origin: (0..rows).map(|r| format!("row {r}")).collect(),
    })
}

fn csv_error(path: &Path, err: &csv::Error) -> TableError {
    let message = match err.position() {
        Some(pos) => format!("line {}: {err}", pos.line()),
        None => err.to_string(),
    };
    TableError::Csv {
        path: path.to_path_buf(),
        message,
    }
}
