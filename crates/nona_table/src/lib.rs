//! Parquet/Arrow table I/O for nona.
//!
//! Every table nona writes is a *dataset*: a directory of Parquet parts (`part-00000.parquet`, …)
//! that pandas/pyarrow, polars and DuckDB open as is. Parts are written to a temporary name and
//! atomically renamed, so a reader (or a resumed run) never sees a half-written file. Files and
//! directories whose names start with `_` or `.` (run records, markers, temporaries, the errors
//! table) are ignored by dataset readers here and in pyarrow.

mod columns;
mod dataset;
mod error;
mod inspect;
mod manifest;
mod part;
pub mod schemas;

pub use columns::{
    embedding_array, embedding_list_array, embedding_rows, f64_column, i64_column,
    numeric_column_as_f64, optional_string_column, string_column,
};
pub use dataset::{Dataset, part_files};
pub use error::TableError;
pub use inspect::describe;
pub use manifest::{CsvLines, ManifestColumns, read_manifest_columns};
pub use part::{PartWriter, write_part};

/// Key-value metadata stored in a Parquet footer (pipeline, stage, model id, weights hash, …).
pub type Metadata = std::collections::BTreeMap<String, String>;
