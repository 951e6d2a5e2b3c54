//! Atomic Parquet part files: written under a temporary name, fsynced, then renamed into place.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use crate::{Metadata, TableError};

/// Streams record batches into one Parquet file that appears at its final path only on
/// [`PartWriter::finish`]. Dropping an unfinished writer removes the temporary file.
pub struct PartWriter {
    final_path: PathBuf,
    temp_path: PathBuf,
    writer: Option<ArrowWriter<File>>,
}

impl PartWriter {
    /// Starts a zstd-compressed part at `path` with `schema` and footer `metadata`.
    pub fn create(path: &Path, schema: SchemaRef, metadata: &Metadata) -> Result<Self, TableError> {
        let dir = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| TableError::io(dir, e))?;
        let temp_path = temporary_name(path);
        let file = File::create(&temp_path).map_err(|e| TableError::io(&temp_path, e))?;
        // Metadata goes into the Arrow schema (what pyarrow, polars and DuckDB show as schema
        // metadata); arrow-rs also writes each entry as a plain Parquet key-value pair.
        let schema = Arc::new(
            schema.as_ref().clone().with_metadata(
                metadata
                    .clone()
                    .into_iter()
                    .collect::<std::collections::HashMap<_, _>>(),
            ),
        );
        let properties = WriterProperties::builder()
            .set_compression(Compression::ZSTD(
                ZstdLevel::try_new(3).expect("valid zstd level"),
            ))
            .build();
        let writer = ArrowWriter::try_new(file, schema, Some(properties))
            .map_err(|e| TableError::parquet(&temp_path, e))?;
        Ok(Self {
            final_path: path.to_path_buf(),
            temp_path,
            writer: Some(writer),
        })
    }

    /// Appends a batch; it must have the schema the writer was created with.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), TableError> {
        let writer = self.writer.as_mut().expect("writer is open until finish");
        writer
            .write(batch)
            .map_err(|e| TableError::parquet(&self.temp_path, e))
    }

    /// Flushes, fsyncs and renames the part into place; returns its final path.
    pub fn finish(mut self) -> Result<PathBuf, TableError> {
        let writer = self.writer.take().expect("finish is called once");
        let file = writer
            .into_inner()
            .map_err(|e| TableError::parquet(&self.temp_path, e))?;
        file.sync_all()
            .map_err(|e| TableError::io(&self.temp_path, e))?;
        drop(file);
        std::fs::rename(&self.temp_path, &self.final_path)
            .map_err(|e| TableError::io(&self.final_path, e))?;
        sync_parent(&self.final_path)?;
        Ok(self.final_path.clone())
    }
}

impl Drop for PartWriter {
    fn drop(&mut self) {
        if self.writer.is_some() {
            let _ = std::fs::remove_file(&self.temp_path);
        }
    }
}

/// Writes `batches` (possibly none: an empty part still records the schema) as one atomic part.
pub fn write_part(
    path: &Path,
    schema: SchemaRef,
    batches: &[RecordBatch],
    metadata: &Metadata,
) -> Result<PathBuf, TableError> {
    let mut writer = PartWriter::create(path, schema, metadata)?;
    for batch in batches {
        writer.write(batch)?;
    }
    writer.finish()
}

/// `dir/part-00001.parquet` → `dir/.part-00001.parquet.tmp` (hidden from dataset readers).
fn temporary_name(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp"))
}

/// Makes the rename durable: fsync the directory entry.
fn sync_parent(path: &Path) -> Result<(), TableError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| TableError::io(dir, e))
}
