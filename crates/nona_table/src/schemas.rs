//! The tables nona writes, as Arrow schemas, and conformance checks against the documented
//! schema files in the repository's `schemas/` directory.

use std::path::Path;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use serde::Deserialize;

use crate::TableError;

/// The `samples` table: one row per usable manifest row, written by the preprocess stage.
pub fn samples() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Utf8, false),
        Field::new("input", DataType::Utf8, false),
        Field::new("label", DataType::Float64, false),
        Field::new("group", DataType::Utf8, true),
        Field::new("source_row", DataType::Int64, false),
    ]))
}

/// The `embeddings` table: one pooled vector of `dim` floats per sample.
pub fn embeddings(dim: usize) -> SchemaRef {
    let item = Arc::new(Field::new("item", DataType::Float32, false));
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Utf8, false),
        Field::new("label", DataType::Float64, false),
        Field::new("group", DataType::Utf8, true),
        Field::new(
            "embedding",
            DataType::FixedSizeList(item, dim as i32),
            false,
        ),
    ]))
}

/// The `errors` table: one row per sample a stage could not process.
pub fn errors() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Utf8, true),
        Field::new("stage", DataType::Utf8, false),
        Field::new("source", DataType::Utf8, false),
        Field::new("message", DataType::Utf8, false),
    ]))
}

/// The `train` stage's `predictions` table: one row per (cell, sample).
pub fn train_predictions() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("cell", DataType::Int64, false),
        Field::new("seed", DataType::Int64, false),
        Field::new("head", DataType::Utf8, false),
        Field::new("id", DataType::Utf8, false),
        Field::new("split", DataType::Utf8, false),
        Field::new("label", DataType::Float64, false),
        Field::new("prediction", DataType::Float64, false),
        Field::new("label_scaled", DataType::Float64, false),
        Field::new("prediction_scaled", DataType::Float64, false),
    ]))
}

/// The `train` stage's `embeddings` table: the trained projector's output for every sample of
/// every cell. A list, not a fixed-size list, because a grid may vary the embedding dimension.
pub fn head_embeddings() -> SchemaRef {
    let item = Arc::new(Field::new("item", DataType::Float32, false));
    Arc::new(Schema::new(vec![
        Field::new("cell", DataType::Int64, false),
        Field::new("seed", DataType::Int64, false),
        Field::new("head", DataType::Utf8, false),
        Field::new("id", DataType::Utf8, false),
        Field::new("split", DataType::Utf8, false),
        Field::new("label", DataType::Float64, false),
        Field::new("embedding", DataType::List(item), false),
    ]))
}

/// The `train` stage's `curves` table: one row per (cell, epoch).
pub fn train_curves() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("cell", DataType::Int64, false),
        Field::new("epoch", DataType::Int64, false),
        Field::new("train_loss", DataType::Float64, false),
        Field::new("validation_mse", DataType::Float64, false),
    ]))
}

/// The `train` stage's `metrics` table: one row per (cell, split).
pub fn train_metrics() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("cell", DataType::Int64, false),
        Field::new("seed", DataType::Int64, false),
        Field::new("head", DataType::Utf8, false),
        Field::new("similarity", DataType::Utf8, true),
        Field::new("softstep", DataType::Utf8, true),
        Field::new("params", DataType::Utf8, true),
        Field::new("batch_size", DataType::Int64, false),
        Field::new("embedding_dim", DataType::Int64, false),
        Field::new("split", DataType::Utf8, false),
        Field::new("rows", DataType::Int64, false),
        Field::new("mse_scaled_e3", DataType::Float64, false),
        Field::new("mse", DataType::Float64, false),
        Field::new("mae", DataType::Float64, false),
        Field::new("best_epoch", DataType::Int64, false),
        Field::new("epochs_run", DataType::Int64, false),
    ]))
}

/// The leading columns of the `knn` stage's tables: what the k-NN ran on.
fn knn_source_fields() -> Vec<Field> {
    vec![
        Field::new("source", DataType::Utf8, false),
        Field::new("cell", DataType::Int64, true),
        Field::new("seed", DataType::Int64, false),
        Field::new("head", DataType::Utf8, true),
    ]
}

/// The `knn` stage's `predictions` table: one test-split prediction per (source, sample).
pub fn knn_predictions() -> SchemaRef {
    let mut fields = knn_source_fields();
    fields.extend([
        Field::new("id", DataType::Utf8, false),
        Field::new("split", DataType::Utf8, false),
        Field::new("label", DataType::Float64, false),
        Field::new("prediction", DataType::Float64, false),
        Field::new("label_scaled", DataType::Float64, false),
        Field::new("prediction_scaled", DataType::Float64, false),
    ]);
    Arc::new(Schema::new(fields))
}

/// The `knn` stage's `metrics` table: the tuned setting and test errors per source.
pub fn knn_metrics() -> SchemaRef {
    let mut fields = knn_source_fields();
    fields.extend([
        Field::new("k", DataType::Int64, false),
        Field::new("p", DataType::Int64, false),
        Field::new("weights", DataType::Utf8, false),
        Field::new("cv_mse", DataType::Float64, false),
        Field::new("train_rows", DataType::Int64, false),
        Field::new("test_rows", DataType::Int64, false),
        Field::new("mse_scaled_e3", DataType::Float64, false),
        Field::new("mse", DataType::Float64, false),
        Field::new("mae", DataType::Float64, false),
    ]);
    Arc::new(Schema::new(fields))
}

/// The `report` stage's `metrics` table: Table 1's values, one row per (dataset, method, seed).
pub fn report_metrics() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("dataset", DataType::Utf8, false),
        Field::new("method", DataType::Utf8, false),
        Field::new("seed", DataType::Int64, false),
        Field::new("mse_x1e3", DataType::Float64, false),
    ]))
}

/// The type names used in schema files: `utf8`, `int64`, `float64`, `fixed_size_list<float32>`, ….
pub fn type_name(data_type: &DataType) -> String {
    match data_type {
        DataType::FixedSizeList(item, dim) => {
            format!("fixed_size_list<{}, {dim}>", type_name(item.data_type()))
        }
        DataType::List(item) => format!("list<{}>", type_name(item.data_type())),
        other => format!("{other:?}").to_lowercase(),
    }
}

/// A documented table schema, as stored in `schemas/<table>.schema.json`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemaFile {
    /// The table's name.
    pub table: String,
    /// What one row is.
    pub description: String,
    /// Where the table is written, relative to the run directory.
    pub location: String,
    /// Columns in order.
    pub columns: Vec<ColumnSpec>,
    /// Footer metadata keys the table carries.
    #[serde(default)]
    pub metadata: Vec<MetadataSpec>,
}

/// One documented column.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnSpec {
    /// Column name.
    pub name: String,
    /// Type name (see [`type_name`]); `fixed_size_list<float32, d>` accepts any width.
    #[serde(rename = "type")]
    pub data_type: String,
    /// Whether nulls may occur.
    pub nullable: bool,
    /// What the column holds.
    pub description: String,
}

/// One documented footer metadata key.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetadataSpec {
    /// Key name.
    pub key: String,
    /// Whether every file of the table carries it.
    #[serde(default)]
    pub required: bool,
    /// What the value means.
    pub description: String,
}

impl SchemaFile {
    /// Loads a schema file.
    pub fn load(path: &Path) -> Result<Self, TableError> {
        let text = std::fs::read_to_string(path).map_err(|e| TableError::io(path, e))?;
        serde_json::from_str(&text)
            .map_err(|e| TableError::column(path, format!("invalid schema file: {e}")))
    }

    /// Lists every way `schema` (and its footer `metadata`) departs from this documented schema.
    pub fn violations(&self, schema: &Schema, metadata: &crate::Metadata) -> Vec<String> {
        let mut problems = Vec::new();
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        let documented: Vec<&str> = self.columns.iter().map(|c| c.name.as_str()).collect();
        if names != documented {
            problems.push(format!("columns are {names:?}, documented {documented:?}"));
        }
        for spec in &self.columns {
            let Ok(field) = schema.field_with_name(&spec.name) else {
                continue;
            };
            let actual = type_name(field.data_type());
            if !type_matches(&spec.data_type, &actual) {
                problems.push(format!(
                    "column `{}` is {actual}, documented {}",
                    spec.name, spec.data_type
                ));
            }
            if field.is_nullable() != spec.nullable {
                problems.push(format!(
                    "column `{}` nullable = {}, documented {}",
                    spec.name,
                    field.is_nullable(),
                    spec.nullable
                ));
            }
        }
        for key in self.metadata.iter().filter(|m| m.required) {
            if !metadata.contains_key(&key.key) {
                problems.push(format!("footer metadata lacks required key `{}`", key.key));
            }
        }
        problems
    }
}

/// `fixed_size_list<float32, d>` in a schema file matches any width; other types match exactly.
fn type_matches(documented: &str, actual: &str) -> bool {
    match documented.strip_suffix(", d>") {
        Some(prefix) => actual
            .strip_prefix(prefix)
            .and_then(|rest| rest.strip_prefix(", "))
            .and_then(|rest| rest.strip_suffix('>'))
            .is_some_and(|width| width.parse::<usize>().is_ok()),
        None => documented == actual,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_are_stable() {
        assert_eq!(type_name(&DataType::Utf8), "utf8");
        assert_eq!(type_name(&DataType::Float64), "float64");
        let item = Arc::new(Field::new("item", DataType::Float32, false));
        assert_eq!(
            type_name(&DataType::FixedSizeList(item, 25)),
            "fixed_size_list<float32, 25>"
        );
    }

    #[test]
    fn width_placeholder_matches_any_width_only() {
        assert!(type_matches(
            "fixed_size_list<float32, d>",
            "fixed_size_list<float32, 512>"
        ));
        assert!(!type_matches(
            "fixed_size_list<float32, d>",
            "fixed_size_list<float64, 512>"
        ));
        assert!(!type_matches("fixed_size_list<float32, d>", "float32"));
        assert!(type_matches("utf8", "utf8"));
        assert!(!type_matches("utf8", "largeutf8"));
    }
}
