//! Every table nona writes, as an Arrow schema (the one home of each; `schemas/*.schema.json`
//! documents them), and conformance checks against those documented schema files.

use std::path::Path;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, FieldRef, Schema, SchemaRef};
use serde::Deserialize;

use crate::TableError;

/// The `samples` table: one row per usable manifest row, written by the preprocess stage.
pub fn samples() -> SchemaRef {
    schema([
        utf8("id"),
        utf8("input"),
        float64("label"),
        nullable(utf8("group")),
        int64("source_row"),
    ])
}

/// The `embeddings` table: one pooled vector of `dim` floats per sample.
pub fn embeddings(dim: usize) -> SchemaRef {
    let embedding = DataType::FixedSizeList(float32_item(), dim as i32);
    schema([
        utf8("id"),
        float64("label"),
        nullable(utf8("group")),
        Field::new("embedding", embedding, false),
    ])
}

/// The `errors` table: one row per sample a stage could not process.
pub fn errors() -> SchemaRef {
    schema([
        nullable(utf8("id")),
        utf8("stage"),
        utf8("source"),
        utf8("message"),
    ])
}

/// The `train` stage's `predictions` table: one row per (cell, sample).
pub fn train_predictions() -> SchemaRef {
    schema(cell_sample_fields().into_iter().chain(prediction_fields()))
}

/// The `train` stage's `embeddings` table: the trained projector's output for every sample of
/// every cell. A list, not a fixed-size list, because a grid may vary the embedding dimension.
pub fn head_embeddings() -> SchemaRef {
    let embedding = Field::new("embedding", DataType::List(float32_item()), false);
    schema(cell_sample_fields().into_iter().chain([embedding]))
}

/// The `train` stage's `curves` table: one row per (cell, epoch).
pub fn train_curves() -> SchemaRef {
    schema([
        int64("cell"),
        int64("epoch"),
        float64("train_loss"),
        float64("validation_mse"),
    ])
}

/// The `train` stage's `metrics` table: one row per (cell, split).
pub fn train_metrics() -> SchemaRef {
    let cell = [
        int64("cell"),
        int64("seed"),
        utf8("head"),
        nullable(utf8("similarity")),
        nullable(utf8("softstep")),
        nullable(utf8("params")),
        int64("batch_size"),
        int64("embedding_dim"),
    ];
    schema(
        cell.into_iter()
            .chain([utf8("split"), int64("rows")])
            .chain(error_fields(""))
            .chain([int64("best_epoch"), int64("epochs_run")]),
    )
}

/// The `train` stage's `explanations` table: the top neighbours of every validation and test
/// prediction of a NONA cell, one row per (cell, sample, neighbour rank). Long rather than
/// nested lists, so every column is a plain type pandas, polars and DuckDB read alike; the
/// prediction's summaries repeat on each of its rows.
pub fn train_explanations() -> SchemaRef {
    let prediction = [
        int64("cell"),
        int64("seed"),
        utf8("id"),
        utf8("split"),
        float64("label"),
        float64("prediction"),
        float64("spread"),
        float64("top_k_mass"),
        float64("entropy"),
    ];
    schema(prediction.into_iter().chain(neighbour_fields()))
}

/// The `knn` stage's `explanations` table: the tuned `k` neighbours of every test prediction,
/// one row per (source, sample, neighbour rank), long like the train stage's.
pub fn knn_explanations() -> SchemaRef {
    let prediction = [
        utf8("id"),
        utf8("split"),
        float64("label"),
        float64("prediction"),
        float64("spread"),
        float64("entropy"),
    ];
    schema(
        source_fields()
            .into_iter()
            .chain(prediction)
            .chain(neighbour_fields()),
    )
}

/// The `knn` stage's `predictions` table: one test-split prediction per (source, sample).
pub fn knn_predictions() -> SchemaRef {
    let sample = [utf8("id"), utf8("split"), float64("label")];
    schema(
        source_fields()
            .into_iter()
            .chain(sample)
            .chain(prediction_fields()),
    )
}

/// The `knn` stage's `metrics` table: the tuned setting and test errors per source.
pub fn knn_metrics() -> SchemaRef {
    let tuned = [
        int64("k"),
        int64("p"),
        utf8("weights"),
        float64("cv_mse"),
        int64("train_rows"),
        int64("test_rows"),
    ];
    schema(
        source_fields()
            .into_iter()
            .chain(tuned)
            .chain(error_fields("")),
    )
}

/// The `geometry` stage's table: one row per embedding source (the backbone's for a seed, or a
/// cell's head), its training split's geometry and the controls'.
pub fn geometry() -> SchemaRef {
    let sizes = ["train_rows", "rows", "distinct_rows", "columns"].map(int64);
    let estimates = |prefix: &str| {
        [
            "intrinsic_dimension",
            "participation_ratio",
            "smoothness_nn_gap",
            "smoothness_random_gap",
            "smoothness_ratio",
            "hubness",
        ]
        .map(|name| float64(&format!("{prefix}{name}")))
    };
    schema(
        source_fields()
            .into_iter()
            .chain(sizes)
            .chain(estimates(""))
            .chain(estimates("control_")),
    )
}

/// The `report` stage's `metrics` table: Table 1's values, one row per (dataset, method, seed).
pub fn report_metrics() -> SchemaRef {
    schema([
        utf8("dataset"),
        utf8("method"),
        int64("seed"),
        float64("mse_x1e3"),
    ])
}

/// The `report` stage's `uncertainty` table: how well the spread of one method's test
/// predictions tracks their error, one row per (dataset, method, seed).
pub fn report_uncertainty() -> SchemaRef {
    schema([
        utf8("dataset"),
        utf8("method"),
        int64("seed"),
        int64("test_rows"),
        nullable(float64("spearman")),
        float64("coverage"),
    ])
}

/// The `report` stage's `geometry` table: the diagnostics its "Embedding geometry" section shows,
/// one row per (dataset, embedding source, seed), sources named as in Table 1.
pub fn report_geometry() -> SchemaRef {
    let diagnostics = [
        "intrinsic_dimension",
        "participation_ratio",
        "smoothness_ratio",
        "hubness",
    ];
    let observed = diagnostics.map(float64);
    let controls = diagnostics.map(|name| float64(&format!("control_{name}")));
    schema(
        [
            utf8("dataset"),
            utf8("source"),
            int64("seed"),
            int64("rows"),
        ]
        .into_iter()
        .chain(observed)
        .chain(controls),
    )
}

/// The `surfaces` stage's `metrics` table: one row per (surface, seed, method).
pub fn surfaces_metrics() -> SchemaRef {
    let sizes = [
        int64("points"),
        int64("train_rows"),
        int64("validation_rows"),
        int64("test_rows"),
    ];
    let extra = [
        float64("validation_mse_scaled_e3"),
        nullable(int64("best_epoch")),
        nullable(int64("epochs_run")),
        nullable(int64("knn_k")),
        nullable(int64("knn_p")),
        nullable(utf8("knn_weights")),
    ];
    schema(
        [utf8("surface"), int64("seed"), utf8("method")]
            .into_iter()
            .chain(sizes)
            .chain(error_fields("test_"))
            .chain(extra),
    )
}

/// The `surfaces` stage's `predictions` table: one row per (surface, seed, method, point).
pub fn surfaces_predictions() -> SchemaRef {
    let point = [
        utf8("surface"),
        int64("seed"),
        utf8("method"),
        utf8("split"),
        float64("x1"),
        float64("x2"),
        float64("label"),
    ];
    schema(point.into_iter().chain(prediction_fields()))
}

/// The file `nona predict` writes: one row per input row, with the label when the input has one.
pub fn predict_output(with_label: bool) -> SchemaRef {
    let label = with_label.then(|| float64("label"));
    schema(
        [
            utf8("id"),
            float64("prediction"),
            float64("prediction_scaled"),
            nullable(float64("spread")),
        ]
        .into_iter()
        .chain(label),
    )
}

/// `nona predict`'s explanations: the top neighbours of every NONA prediction, one row per
/// (sample, rank), with the columns of the train stage's `explanations` that make sense
/// outside a cell and split (`label` only when the input has labels).
pub fn predict_explanations(with_label: bool) -> SchemaRef {
    let label = with_label.then(|| float64("label"));
    let prediction = [
        float64("prediction"),
        float64("spread"),
        float64("top_k_mass"),
        float64("entropy"),
    ];
    schema(
        [utf8("id")]
            .into_iter()
            .chain(label)
            .chain(prediction)
            .chain(neighbour_fields()),
    )
}

/// `neighbours.parquet` of a saved NONA model: the training sample of every row of its neighbour
/// bank, in bank order.
pub fn model_neighbours() -> SchemaRef {
    schema([utf8("id"), float64("label")])
}

/// The leading columns of the `train` stage's per-sample tables: which cell, and which sample.
fn cell_sample_fields() -> [Field; 6] {
    [
        int64("cell"),
        int64("seed"),
        utf8("head"),
        utf8("id"),
        utf8("split"),
        float64("label"),
    ]
}

/// The leading columns of the `knn` and `geometry` stages' tables: the embedding source.
fn source_fields() -> [Field; 4] {
    [
        utf8("source"),
        nullable(int64("cell")),
        int64("seed"),
        nullable(utf8("head")),
    ]
}

/// One neighbour of a prediction in an explanations table.
fn neighbour_fields() -> [Field; 5] {
    [
        int64("rank"),
        utf8("neighbour_id"),
        float64("neighbour_label"),
        float64("weight"),
        float64("similarity"),
    ]
}

/// A prediction in original units, and the label and prediction on the scaled range.
fn prediction_fields() -> [Field; 3] {
    [
        float64("prediction"),
        float64("label_scaled"),
        float64("prediction_scaled"),
    ]
}

/// The errors of a split's predictions: MSE × 10³ on the scaled range, MSE and MAE.
fn error_fields(prefix: &str) -> [Field; 3] {
    ["mse_scaled_e3", "mse", "mae"].map(|name| float64(&format!("{prefix}{name}")))
}

fn schema(fields: impl IntoIterator<Item = Field>) -> SchemaRef {
    Arc::new(Schema::new(fields.into_iter().collect::<Vec<_>>()))
}

fn utf8(name: &str) -> Field {
    Field::new(name, DataType::Utf8, false)
}

fn int64(name: &str) -> Field {
    Field::new(name, DataType::Int64, false)
}

fn float64(name: &str) -> Field {
    Field::new(name, DataType::Float64, false)
}

fn nullable(field: Field) -> Field {
    field.with_nullable(true)
}

/// The non-null Float32 items of an embedding column.
pub(crate) fn float32_item() -> FieldRef {
    Arc::new(Field::new("item", DataType::Float32, false))
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

    /// Each schema here is the one its file in `schemas/` documents (footer keys aside: they
    /// are the writer's).
    #[test]
    fn every_schema_is_the_documented_one() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas");
        for (file, schema) in [
            ("samples", samples()),
            ("embeddings", embeddings(7)),
            ("errors", errors()),
            ("train-predictions", train_predictions()),
            ("head-embeddings", head_embeddings()),
            ("train-curves", train_curves()),
            ("train-metrics", train_metrics()),
            ("train-explanations", train_explanations()),
            ("knn-predictions", knn_predictions()),
            ("knn-metrics", knn_metrics()),
            ("knn-explanations", knn_explanations()),
            ("geometry", geometry()),
            ("report-metrics", report_metrics()),
            ("report-uncertainty", report_uncertainty()),
            ("report-geometry", report_geometry()),
            ("surfaces-metrics", surfaces_metrics()),
            ("surfaces-predictions", surfaces_predictions()),
            ("predict-output", predict_output(true)),
            ("predict-explanations", predict_explanations(true)),
            ("model-neighbours", model_neighbours()),
        ] {
            let documented = SchemaFile::load(&dir.join(format!("{file}.schema.json"))).unwrap();
            let problems: Vec<String> = documented
                .violations(&schema, &crate::Metadata::new())
                .into_iter()
                .filter(|p| !p.starts_with("footer metadata"))
                .collect();
            assert!(problems.is_empty(), "{file}: {problems:?}");
        }
        let without_label: Vec<String> = predict_output(false)
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        assert_eq!(
            without_label,
            ["id", "prediction", "prediction_scaled", "spread"]
        );
        let names = |schema: SchemaRef| -> Vec<String> {
            schema.fields().iter().map(|f| f.name().clone()).collect()
        };
        let mut with_label = names(predict_explanations(true));
        with_label.retain(|name| name != "label");
        assert_eq!(names(predict_explanations(false)), with_label);
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
