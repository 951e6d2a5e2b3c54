//! Reading a dataset manifest (CSV or Parquet) as text columns.

use std::path::Path;

use arrow::array::{Array, ArrayRef, AsArray};
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
    /// Why a row cannot be read (a CSV line with the wrong number of fields, a cell that is not
    /// UTF-8); such a row's cells are all `None`. The other rows are unaffected.
    pub row_problem: Vec<Option<String>>,
}

/// Reads the named columns of a `.csv` or `.parquet` manifest. A missing column is an error
/// that lists the columns the file does have; a row that cannot be read is kept, with its
/// [`ManifestColumns::row_problem`].
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

impl ManifestColumns {
    fn new(width: usize) -> Self {
        Self {
            columns: vec![Vec::new(); width],
            row_origin: Vec::new(),
            row_problem: Vec::new(),
        }
    }

    fn push(&mut self, origin: String, cells: Result<Vec<Option<String>>, String>) {
        match cells {
            Ok(cells) => {
                for (column, cell) in self.columns.iter_mut().zip(cells) {
                    column.push(cell);
                }
                self.row_problem.push(None);
            }
            Err(problem) => {
                for column in &mut self.columns {
                    column.push(None);
                }
                self.row_problem.push(Some(problem));
            }
        }
        self.row_origin.push(origin);
    }
}

fn read_csv(path: &Path, names: &[&str]) -> Result<ManifestColumns, TableError> {
    let bytes = std::fs::read(path).map_err(|e| TableError::io(path, e))?;
    // Flexible, byte records: a ragged line or a stray byte is one row's problem, not the file's.
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(bytes.as_slice());
    let header: Vec<String> = reader
        .byte_headers()
        .map_err(|e| csv_error(path, &e))?
        .iter()
        .map(|name| {
            std::str::from_utf8(name)
                .map(str::to_owned)
                .map_err(|e| TableError::Csv {
                    path: path.to_path_buf(),
                    message: format!("line 1: the header is not UTF-8 text: {e}"),
                })
        })
        .collect::<Result<_, _>>()?;
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
    let mut manifest = ManifestColumns::new(names.len());
    let mut lines = CsvLines::new(&bytes);
    for record in reader.byte_records() {
        let record = record.map_err(|e| csv_error(path, &e))?;
        let line = lines.line_of(record.position());
        let cells = if record.len() == header.len() {
            indices
                .iter()
                .zip(names)
                .map(|(&index, name)| text_cell(&record[index], name))
                .collect()
        } else {
            Err(format!(
                "has {} comma-separated fields, the header has {}",
                record.len(),
                header.len()
            ))
        };
        manifest.push(format!("line {line}"), cells);
    }
    Ok(manifest)
}

/// A CSV cell as trimmed text (`None` when empty), or why it is not text.
fn text_cell(cell: &[u8], column: &str) -> Result<Option<String>, String> {
    let text = std::str::from_utf8(cell).map_err(|e| {
        let byte = cell[e.valid_up_to()];
        format!(
            "column `{column}` is not UTF-8 text (byte 0x{byte:02x} after `{}`)",
            String::from_utf8_lossy(&cell[..e.valid_up_to()])
        )
    })?;
    let text = text.trim();
    Ok((!text.is_empty()).then(|| text.to_owned()))
}

/// 1-based line numbers of the records of a CSV file read from `bytes`. The csv crate's own line
/// count lags one line behind after a `\r\n` ending (it counts the `\n` as part of the next
/// record), so a record is located by its first byte instead.
pub struct CsvLines<'a> {
    bytes: &'a [u8],
    /// Bytes before `offset` hold `newlines` line feeds.
    offset: usize,
    newlines: usize,
}

impl<'a> CsvLines<'a> {
    /// Numbers the records of the CSV file `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self {
            bytes,
            offset: 0,
            newlines: 0,
        }
    }

    /// The line where the record at `position` (its [`csv::ByteRecord::position`] or
    /// [`csv::StringRecord::position`]) starts; records are asked for in file order.
    pub fn line_of(&mut self, position: Option<&csv::Position>) -> usize {
        let position = position
            .map_or(0, |p| usize::try_from(p.byte()).unwrap_or(usize::MAX))
            .min(self.bytes.len());
        // The reported start may sit on the previous line ending or on blank lines before it.
        let start = position
            + self.bytes[position..]
                .iter()
                .take_while(|&&b| b == b'\r' || b == b'\n')
                .count();
        if start >= self.offset {
            self.newlines += self.bytes[self.offset..start]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            self.offset = start;
        }
        self.newlines + 1
    }
}

fn read_parquet(path: &Path, names: &[&str]) -> Result<ManifestColumns, TableError> {
    let dataset = Dataset::open(path)?;
    let schema = dataset.schema();
    let indices = names
        .iter()
        .map(|name| {
            schema.index_of(name).map_err(|_| {
                let have: Vec<_> = schema.fields().iter().map(|f| f.name().clone()).collect();
                TableError::column(
                    path,
                    format!("no column `{name}` (columns: {})", have.join(", ")),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut manifest = ManifestColumns::new(names.len());
    for batch in dataset.read_all()? {
        let columns = indices
            .iter()
            .zip(names)
            .map(|(&index, name)| column_text(batch.column(index), name, path))
            .collect::<Result<Vec<_>, _>>()?;
        for row in 0..batch.num_rows() {
            let cells = columns.iter().map(|column| column[row].clone()).collect();
            manifest.push(format!("row {}", manifest.row_origin.len()), cells);
        }
    }
    Ok(manifest)
}

/// A Parquet column as text, one entry per row: `None` for a null, or why the value is not text
/// (a binary value that is not UTF-8). A column of a type without a text form is an error.
fn column_text(
    array: &ArrayRef,
    name: &str,
    path: &Path,
) -> Result<Vec<Result<Option<String>, String>>, TableError> {
    let binary = |value: &[u8]| {
        std::str::from_utf8(value)
            .map(str::to_owned)
            .map_err(|e| format!("column `{name}` is not UTF-8 text: {e}"))
    };
    let cells = match array.data_type() {
        DataType::Binary => array
            .as_binary::<i32>()
            .iter()
            .map(|v| v.map(binary).transpose())
            .collect(),
        DataType::LargeBinary => array
            .as_binary::<i64>()
            .iter()
            .map(|v| v.map(binary).transpose())
            .collect(),
        _ => {
            let text = cast(array, &DataType::Utf8).map_err(|e| {
                TableError::column(path, format!("column `{name}` cannot be read as text: {e}"))
            })?;
            text.as_string::<i32>()
                .iter()
                .map(|v| Ok(v.map(str::to_owned)))
                .collect()
        }
    };
    Ok(cells)
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
