//! Atomic Parquet part files: written under a temporary name, fsynced, then renamed into place.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

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
        Self::on_file(path, temp_path, file, schema, metadata)
    }

    /// A writer streaming into `file`, which lives at `temp_path` and becomes `path` on finish.
    fn on_file(
        path: &Path,
        temp_path: PathBuf,
        file: File,
        schema: SchemaRef,
        metadata: &Metadata,
    ) -> Result<Self, TableError> {
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
            .map_err(|e| TableError::writing(&temp_path, e))?;
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
            .map_err(|e| TableError::writing(&self.temp_path, e))
    }

    /// Flushes, fsyncs and renames the part into place; returns its final path. On failure the
    /// temporary file is removed.
    pub fn finish(mut self) -> Result<PathBuf, TableError> {
        let mut writer = self.writer.take().expect("finish is called once");
        // `finish` flushes with the I/O error intact (`into_inner` would flatten it to text).
        let written = writer
            .finish()
            .map_err(|e| TableError::writing(&self.temp_path, e))
            .and_then(|_| {
                writer
                    .inner()
                    .sync_all()
                    .map_err(|e| TableError::io(&self.temp_path, e))
            });
        drop(writer);
        if let Err(error) = written {
            let _ = std::fs::remove_file(&self.temp_path);
            return Err(error);
        }
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

/// `dir/part-00001.parquet` → `dir/.part-00001.<pid>-<n>.parquet.tmp`: hidden from dataset
/// readers, and unique to this writer, so that two processes (or threads) writing the same part
/// never write into or rename each other's temporary file.
fn temporary_name(path: &Path) -> PathBuf {
    static WRITERS: AtomicU64 = AtomicU64::new(0);
    let stem = path
        .file_stem()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let writer = WRITERS.fetch_add(1, Ordering::Relaxed);
    path.with_file_name(format!(
        ".{stem}.{}-{writer}.parquet.tmp",
        std::process::id()
    ))
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

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::Int32Array;
    use arrow::datatypes::{DataType, Field, Schema};

    fn batch() -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Int32, false)]));
        RecordBatch::try_new(schema, vec![Arc::new(Int32Array::from(vec![1, 2, 3]))]).unwrap()
    }

    /// A full disk is reported as such, with the path, not as an unreadable Parquet file.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_full_disk_says_so_with_the_path() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("part-00000.parquet");
        let temp = temporary_name(&path);
        let full = File::options().write(true).open("/dev/full").unwrap();
        let batch = batch();
        let mut writer =
            PartWriter::on_file(&path, temp.clone(), full, batch.schema(), &Metadata::new())
                .unwrap();
        let error = writer
            .write(&batch)
            .and_then(|()| writer.finish().map(|_| ()))
            .unwrap_err();
        let message = error.to_string();
        assert!(
            matches!(&error, TableError::Io { source, .. } if source.kind() == std::io::ErrorKind::StorageFull),
            "{message}"
        );
        assert!(
            message.contains(&temp.display().to_string())
                && message.contains("No space left on device")
                && !message.contains("not a readable Parquet file"),
            "{message}"
        );
        assert!(!path.exists(), "nothing appears at the final path");
    }

    #[test]
    fn temporary_names_are_hidden_and_unique() {
        let path = Path::new("dir/part-00001.parquet");
        let (a, b) = (temporary_name(path), temporary_name(path));
        assert_ne!(a, b);
        for temp in [a, b] {
            let name = temp.file_name().unwrap().to_string_lossy().into_owned();
            assert!(
                name.starts_with(".part-00001.") && name.ends_with(".parquet.tmp"),
                "{name}"
            );
        }
    }
}
