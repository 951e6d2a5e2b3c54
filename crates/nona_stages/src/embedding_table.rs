//! Reading an embeddings table (ours, or one a user brings) into memory for the train and k-NN
//! stages.

use std::path::{Path, PathBuf};

use arrow::array::Array;
use nona_pipeline::fingerprint;
use serde::{Deserialize, Serialize};

/// Column names of an embeddings table. Defaults are the names nona's `embed` stage writes.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmbeddingColumns {
    /// Unique sample id (Utf8).
    pub id: String,
    /// Regression target (any numeric type).
    pub label: String,
    /// Split group (Utf8, nullable); ignored when the table has no such column.
    pub group: String,
    /// Embedding (`FixedSizeList<Float32, d>` or `List<Float32>` of one width).
    pub embedding: String,
}

impl Default for EmbeddingColumns {
    fn default() -> Self {
        Self {
            id: "id".to_owned(),
            label: "label".to_owned(),
            group: "group".to_owned(),
            embedding: "embedding".to_owned(),
        }
    }
}

/// An embeddings table in memory: one row per sample.
#[derive(Debug, Clone)]
pub struct EmbeddingTable {
    /// Where it was read from.
    pub path: PathBuf,
    /// Sample ids.
    pub ids: Vec<String>,
    /// Labels in original units.
    pub labels: Vec<f64>,
    /// Split groups (`None`: the sample is its own group).
    pub groups: Vec<Option<String>>,
    /// Row-major embeddings (`ids.len() × dim`).
    pub features: Vec<f32>,
    /// Embedding width.
    pub dim: usize,
    /// Footer metadata of the table (backbone, weights hash, …, when nona wrote it).
    pub metadata: nona_table::Metadata,
}

impl EmbeddingTable {
    /// Reads the table at `path` (a Parquet file or a directory of parts). Errors name the file
    /// and the column or row that is wrong: missing columns, nulls, non-finite values, widths
    /// that differ, duplicate ids, fewer than two rows.
    pub fn read(path: &Path, columns: &EmbeddingColumns) -> anyhow::Result<Self> {
        let dataset = nona_table::Dataset::open(path)?;
        let mut table = Self {
            path: path.to_path_buf(),
            ids: Vec::with_capacity(dataset.num_rows()),
            labels: Vec::with_capacity(dataset.num_rows()),
            groups: Vec::with_capacity(dataset.num_rows()),
            features: Vec::new(),
            dim: 0,
            metadata: dataset.metadata().clone(),
        };
        for batch in dataset.batches() {
            let (batch, file) = batch?;
            let ids = nona_table::string_column(&batch, &columns.id, file)?;
            let labels = nona_table::numeric_column_as_f64(&batch, &columns.label, file)?;
            let groups = nona_table::optional_string_column(&batch, &columns.group, file)?;
            let (features, dim) = nona_table::embedding_rows(&batch, &columns.embedding, file)?;
            if batch.num_rows() == 0 {
                continue;
            }
            if table.dim != 0 && dim != table.dim {
                anyhow::bail!(
                    "{}: column `{}` has width {dim}, earlier parts have {}",
                    file.display(),
                    columns.embedding,
                    table.dim
                );
            }
            table.dim = dim;
            for row in 0..batch.num_rows() {
                let label = labels[row];
                let values = &features[row * dim..(row + 1) * dim];
                if !label.is_finite() || values.iter().any(|v| !v.is_finite()) {
                    anyhow::bail!(
                        "{}: row {row} (id `{}`) has a non-finite label or embedding value",
                        file.display(),
                        ids.value(row)
                    );
                }
                table.ids.push(ids.value(row).to_owned());
                table.labels.push(label);
                table.groups.push(
                    groups
                        .filter(|g| !g.is_null(row))
                        .map(|g| g.value(row).to_owned()),
                );
            }
            table.features.extend_from_slice(&features);
        }
        if table.ids.len() < 2 {
            anyhow::bail!(
                "{}: {} rows; training and k-NN need at least 2",
                path.display(),
                table.ids.len()
            );
        }
        let mut seen = std::collections::HashSet::new();
        if let Some(duplicate) = table.ids.iter().find(|id| !seen.insert(id.as_str())) {
            anyhow::bail!(
                "{}: id `{duplicate}` appears more than once",
                path.display()
            );
        }
        Ok(table)
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether the table has no rows (never, for a table [`Self::read`] accepted).
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Whether any sample has a group.
    pub fn has_groups(&self) -> bool {
        self.groups.iter().any(Option::is_some)
    }

    /// The split groups, ungrouped samples each forming their own group.
    pub fn group_keys(&self) -> Vec<String> {
        self.groups
            .iter()
            .zip(&self.ids)
            .map(|(group, id)| match group {
                Some(group) => format!("g:{group}"),
                None => format!("id:{id}"),
            })
            .collect()
    }
}

/// SHA-256 over the Parquet files of a table (a file, or a directory's parts in name order), for
/// the fingerprint of a stage that reads a table from outside the run.
pub fn table_digest(path: &Path) -> anyhow::Result<String> {
    let dataset = nona_table::Dataset::open(path)?;
    let mut digests = Vec::new();
    for part in dataset.parts() {
        digests.push(
            fingerprint::of_file(&part.path)
                .map_err(|error| anyhow::anyhow!("reading {}: {error}", part.path.display()))?,
        );
    }
    Ok(fingerprint::of_json(&serde_json::json!(digests)))
}
