//! The embedding sources a completed `train` stage offers to the stages after it (`knn`,
//! `geometry`): the backbone embeddings with each seed's splits, and each trained cell's head
//! embeddings.
//!
//! The splits come from train's `predictions/` (every cell of a seed has the same), the
//! backbone table from the path its footer records (`nona.input`) read with the columns of
//! train's record, the head embeddings from train's `embeddings/`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, anyhow};
use arrow::array::{ArrayRef, Int64Array, StringArray};
use nona_pipeline::Plan;
use nona_pipeline::engine::RunRecord;
use serde::Serialize;

use crate::embedding_table::{EmbeddingColumns, EmbeddingTable};

/// `source` of rows computed on the backbone's embeddings.
pub const SOURCE_BACKBONE: &str = "backbone";
/// `source` of rows computed on a trained head's embeddings.
pub const SOURCE_HEAD: &str = "head";

/// One embedding source.
#[derive(Debug, Clone)]
pub enum Source {
    /// The backbone embeddings with the splits of `seed`.
    Backbone { seed: u64 },
    /// The head embeddings of one trained cell.
    Head { cell: i64 },
}

impl Source {
    /// The source in words, for error messages.
    pub fn describe(&self) -> String {
        match self {
            Source::Backbone { seed } => format!("backbone embeddings, seed {seed}"),
            Source::Head { cell } => format!("head embeddings of cell {cell}"),
        }
    }
}

/// Identifies a unit's source in every row it writes: the leading `source`, `cell`, `seed`,
/// `head` columns of the `knn` and `geometry` tables.
pub struct SourceKey<'a> {
    pub source: &'a Source,
    pub seed: u64,
    pub head: Option<&'a str>,
}

impl SourceKey<'_> {
    /// The four columns, `rows` long.
    pub fn columns(&self, rows: usize) -> Vec<ArrayRef> {
        let (source, cell) = match self.source {
            Source::Backbone { .. } => (SOURCE_BACKBONE, None),
            Source::Head { cell } => (SOURCE_HEAD, Some(*cell)),
        };
        vec![
            Arc::new(StringArray::from(vec![source; rows])),
            Arc::new(Int64Array::from(vec![cell; rows])),
            Arc::new(Int64Array::from(vec![self.seed as i64; rows])),
            Arc::new(StringArray::from(vec![self.head; rows])),
        ]
    }
}

/// Rows of one source: ids, labels, split names and row-major embeddings.
#[derive(Debug, Default, Clone)]
pub struct SourceRows {
    pub seed: u64,
    pub head: Option<String>,
    pub ids: Vec<String>,
    pub labels: Vec<f64>,
    pub splits: Vec<String>,
    pub features: Vec<f32>,
    pub dim: usize,
}

impl SourceRows {
    /// Indices of the rows in split `name` (`train`, `validation`, `test`), in table order.
    pub fn split(&self, name: &str) -> Vec<usize> {
        (0..self.ids.len())
            .filter(|&i| self.splits[i] == name)
            .collect()
    }
}

/// The sources of a completed train stage, read into memory.
pub struct TrainSources {
    /// The sources asked for: the backbone for each seed, then each trained cell.
    pub units: Vec<Source>,
    backbone: Option<EmbeddingTable>,
    /// seed → id → split name.
    splits: BTreeMap<u64, BTreeMap<String, String>>,
    heads: BTreeMap<i64, SourceRows>,
    /// Footer metadata of train's predictions (`nona.input`, backbone, weights, …).
    input_metadata: nona_table::Metadata,
}

impl TrainSources {
    /// Reads the train stage's outputs at `train`: the backbone embeddings when `backbone`,
    /// the head embeddings when `heads`.
    pub fn read(train: &Path, backbone: bool, heads: bool) -> anyhow::Result<Self> {
        let predictions = train.join("predictions");
        let splits = read_splits(&predictions)?;
        let input_metadata = nona_table::Dataset::open(&predictions)?.metadata().clone();
        let mut units = Vec::new();
        let mut backbone_table = None;
        if backbone {
            let path = PathBuf::from(input_metadata.get("nona.input").ok_or_else(|| {
                anyhow!(
                    "{}: no `nona.input` metadata naming the embeddings table",
                    predictions.display()
                )
            })?);
            let record = RunRecord::load(&train.join("_record.json"))?;
            let columns: EmbeddingColumns =
                serde_json::from_value(record.config["columns"].clone())
                    .context("reading the train stage's input columns from its record")?;
            backbone_table = Some(
                EmbeddingTable::read(&path, &columns)
                    .with_context(|| format!("reading the embeddings table {}", path.display()))?,
            );
            units.extend(splits.keys().map(|&seed| Source::Backbone { seed }));
        }
        let heads = if heads {
            let heads = read_heads(&train.join("embeddings"))?;
            units.extend(heads.keys().map(|&cell| Source::Head { cell }));
            heads
        } else {
            BTreeMap::new()
        };
        Ok(Self {
            units,
            backbone: backbone_table,
            splits,
            heads,
            input_metadata,
        })
    }

    /// One work unit per source.
    pub fn plan(&self) -> Plan {
        Plan {
            unit_items: vec![1; self.units.len()],
        }
    }

    /// The source of work unit `unit` and its rows.
    pub fn unit(&self, unit: usize) -> anyhow::Result<(&Source, SourceRows)> {
        let source = self
            .units
            .get(unit)
            .ok_or_else(|| anyhow!("no unit {unit}: there are {} sources", self.units.len()))?;
        Ok((source, self.rows(source)?))
    }

    /// Footer metadata of a stage reading these sources: the backbone keys of train's
    /// predictions, and the stage's `section` as JSON under `key`.
    pub fn metadata(&self, key: &str, section: &impl Serialize) -> nona_table::Metadata {
        let mut metadata = nona_table::Metadata::new();
        for name in ["nona.input", "nona.model_id", "nona.weights_sha256"] {
            if let Some(value) = self.input_metadata.get(name) {
                metadata.insert(name.to_owned(), value.clone());
            }
        }
        metadata.insert(
            key.to_owned(),
            serde_json::to_string(section).unwrap_or_default(),
        );
        metadata
    }

    /// The rows `source` covers, with their split names.
    pub fn rows(&self, source: &Source) -> anyhow::Result<SourceRows> {
        match source {
            Source::Head { cell } => self
                .heads
                .get(cell)
                .cloned()
                .ok_or_else(|| anyhow!("no embeddings for cell {cell}")),
            Source::Backbone { seed } => {
                let table = self
                    .backbone
                    .as_ref()
                    .ok_or_else(|| anyhow!("backbone table not loaded"))?;
                let assignment = self
                    .splits
                    .get(seed)
                    .ok_or_else(|| anyhow!("no splits for seed {seed}"))?;
                let mut rows = SourceRows {
                    seed: *seed,
                    dim: table.dim,
                    ..SourceRows::default()
                };
                for (index, id) in table.ids.iter().enumerate() {
                    let Some(split) = assignment.get(id) else {
                        continue;
                    };
                    rows.ids.push(id.clone());
                    rows.labels.push(table.labels[index]);
                    rows.splits.push(split.clone());
                    rows.features.extend_from_slice(
                        &table.features[index * table.dim..(index + 1) * table.dim],
                    );
                }
                Ok(rows)
            }
        }
    }
}

/// seed → id → split, from the train stage's predictions (every cell of a seed has the same).
fn read_splits(predictions: &Path) -> anyhow::Result<BTreeMap<u64, BTreeMap<String, String>>> {
    let dataset = nona_table::Dataset::open(predictions)?;
    let mut splits: BTreeMap<u64, BTreeMap<String, String>> = BTreeMap::new();
    let mut seen_cell_of_seed: BTreeMap<u64, i64> = BTreeMap::new();
    for batch in dataset.batches() {
        let (batch, path) = batch?;
        let cells = nona_table::i64_column(&batch, "cell", path)?;
        let seeds = nona_table::i64_column(&batch, "seed", path)?;
        let ids = nona_table::string_column(&batch, "id", path)?;
        let names = nona_table::string_column(&batch, "split", path)?;
        for row in 0..batch.num_rows() {
            let seed = seeds.value(row) as u64;
            let cell = *seen_cell_of_seed
                .entry(seed)
                .or_insert_with(|| cells.value(row));
            if cell == cells.value(row) {
                splits
                    .entry(seed)
                    .or_default()
                    .insert(ids.value(row).to_owned(), names.value(row).to_owned());
            }
        }
    }
    Ok(splits)
}

/// cell → its rows, from the train stage's head embeddings.
fn read_heads(embeddings: &Path) -> anyhow::Result<BTreeMap<i64, SourceRows>> {
    let dataset = nona_table::Dataset::open(embeddings)?;
    let mut heads: BTreeMap<i64, SourceRows> = BTreeMap::new();
    for batch in dataset.batches() {
        let (batch, path) = batch?;
        let cells = nona_table::i64_column(&batch, "cell", path)?;
        let seeds = nona_table::i64_column(&batch, "seed", path)?;
        let head_names = nona_table::string_column(&batch, "head", path)?;
        let ids = nona_table::string_column(&batch, "id", path)?;
        let names = nona_table::string_column(&batch, "split", path)?;
        let labels = nona_table::f64_column(&batch, "label", path)?;
        let (features, dim) = nona_table::embedding_rows(&batch, "embedding", path)?;
        for row in 0..batch.num_rows() {
            let rows = heads.entry(cells.value(row)).or_default();
            rows.seed = seeds.value(row) as u64;
            rows.head = Some(head_names.value(row).to_owned());
            rows.dim = dim;
            rows.ids.push(ids.value(row).to_owned());
            rows.splits.push(names.value(row).to_owned());
            rows.labels.push(labels.value(row));
            rows.features
                .extend_from_slice(&features[row * dim..(row + 1) * dim]);
        }
    }
    Ok(heads)
}
