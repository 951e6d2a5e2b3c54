//! Reading a Parquet file, or a directory of parts, as one table.

use std::fs::File;
use std::path::{Path, PathBuf};

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ParquetRecordBatchReaderBuilder};

use crate::{Metadata, TableError};

/// One Parquet part of a dataset, described from its footer alone.
#[derive(Debug, Clone)]
pub struct Part {
    /// Where the part lives.
    pub path: PathBuf,
    /// Rows in the part.
    pub rows: usize,
    /// The part's own footer metadata (e.g. the `nona.fingerprint` it was made with).
    pub metadata: Metadata,
}

/// A table stored as one Parquet file or a directory of parts sharing one schema.
#[derive(Debug, Clone)]
pub struct Dataset {
    path: PathBuf,
    schema: SchemaRef,
    metadata: Metadata,
    parts: Vec<Part>,
}

impl Dataset {
    /// Opens `path`: a `.parquet` file, or a directory whose `*.parquet` files (not starting with
    /// `_` or `.`) are its parts in name order. Only footers are read.
    pub fn open(path: &Path) -> Result<Self, TableError> {
        let files = if path.is_dir() {
            part_files(path)?
        } else {
            vec![path.to_path_buf()]
        };
        let Some(first) = files.first() else {
            return Err(TableError::column(
                path,
                "directory holds no Parquet parts (*.parquet)",
            ));
        };
        let (schema, metadata, _) = read_footer(first)?;
        let mut parts = Vec::with_capacity(files.len());
        for file in &files {
            let (part_schema, part_metadata, rows) = read_footer(file)?;
            if part_schema.fields() != schema.fields() {
                return Err(TableError::SchemaMismatch {
                    path: file.clone(),
                    message: format!("{:?} vs {:?}", part_schema.fields(), schema.fields()),
                });
            }
            parts.push(Part {
                path: file.clone(),
                rows,
                metadata: part_metadata,
            });
        }
        Ok(Self {
            path: path.to_path_buf(),
            schema,
            metadata,
            parts,
        })
    }

    /// The path the dataset was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The Arrow schema shared by all parts.
    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    /// Footer key-value metadata of the first part.
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// The parts, in name order.
    pub fn parts(&self) -> &[Part] {
        &self.parts
    }

    /// Total rows over all parts.
    pub fn num_rows(&self) -> usize {
        self.parts.iter().map(|p| p.rows).sum()
    }

    /// Every record batch of every part, in order, each with the path of its part (for error
    /// messages). Parts are read one at a time, as the iteration reaches them.
    pub fn batches(&self) -> impl Iterator<Item = Result<(RecordBatch, &Path), TableError>> {
        self.parts.iter().flat_map(|part| {
            let path = part.path.as_path();
            let batches = match read_batches(path, None) {
                Ok(batches) => batches.into_iter().map(Ok).collect(),
                Err(error) => vec![Err(error)],
            };
            batches
                .into_iter()
                .map(move |batch| batch.map(|batch| (batch, path)))
        })
    }

    /// Reads every part, in order.
    pub fn read_all(&self) -> Result<Vec<RecordBatch>, TableError> {
        self.batches()
            .map(|batch| batch.map(|(batch, _)| batch))
            .collect()
    }

    /// Reads up to `limit` leading rows.
    pub fn head(&self, limit: usize) -> Result<Vec<RecordBatch>, TableError> {
        let mut out = Vec::new();
        let mut left = limit;
        for part in &self.parts {
            if left == 0 {
                break;
            }
            for batch in read_batches(&part.path, Some(left))? {
                let take = batch.num_rows().min(left);
                left -= take;
                out.push(batch.slice(0, take));
            }
        }
        Ok(out)
    }
}

/// The parts of the table in `dir`: its `*.parquet` files not starting with `_` or `.`, in name
/// order (what [`Dataset::open`] reads, and what pyarrow and DuckDB see).
pub fn part_files(dir: &Path) -> Result<Vec<PathBuf>, TableError> {
    let entries = std::fs::read_dir(dir).map_err(|e| TableError::io(dir, e))?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| TableError::io(dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let hidden = name.starts_with('_') || name.starts_with('.');
        if !hidden && name.ends_with(".parquet") && entry.path().is_file() {
            files.push(entry.path());
        }
    }
    files.sort();
    Ok(files)
}

fn read_footer(path: &Path) -> Result<(SchemaRef, Metadata, usize), TableError> {
    let file = File::open(path).map_err(|e| TableError::io(path, e))?;
    let meta = ArrowReaderMetadata::load(&file, Default::default())
        .map_err(|e| TableError::reading(path, e))?;
    let file_meta = meta.metadata().file_metadata();
    let rows = usize::try_from(file_meta.num_rows()).unwrap_or(0);
    // Plain Parquet key-value pairs (other writers) and Arrow schema metadata (ours, pyarrow's).
    let mut metadata: Metadata = file_meta
        .key_value_metadata()
        .map(|kvs| {
            kvs.iter()
                .filter(|kv| kv.key != "ARROW:schema")
                .map(|kv| (kv.key.clone(), kv.value.clone().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default();
    metadata.extend(
        meta.schema()
            .metadata()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone())),
    );
    Ok((meta.schema().clone(), metadata, rows))
}

fn read_batches(path: &Path, limit: Option<usize>) -> Result<Vec<RecordBatch>, TableError> {
    let file = File::open(path).map_err(|e| TableError::io(path, e))?;
    let mut builder =
        ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| TableError::reading(path, e))?;
    if let Some(limit) = limit {
        builder = builder.with_limit(limit);
    }
    let reader = builder.build().map_err(|e| TableError::reading(path, e))?;
    reader
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TableError::parquet(path, e))
}
