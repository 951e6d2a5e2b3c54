//! The `[dataset]` section of a pipeline file: where samples and labels come from.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::{SampleRoot, Source};

/// What kind of sample the dataset holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Modality {
    /// Image files (PNG, JPEG, BMP, TIFF).
    Image,
    /// Text in the manifest's input column.
    Text,
    /// Audio files (WAV, FLAC, MP3, OGG, M4A).
    Audio,
}

/// The `[dataset]` table: where samples and labels come from.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetConfig {
    /// Directory the manifest and sample paths are relative to. `${VAR}` and `${VAR:-default}`
    /// are expanded; a relative root is relative to the pipeline file that sets it (the reader
    /// of the section resolves it).
    pub root: PathBuf,
    /// The manifest (`.csv` or `.parquet`), relative to `root`.
    pub manifest: PathBuf,
    /// The kind of samples.
    pub modality: Modality,
    /// Column with a unique sample id.
    #[serde(default = "default_id_column")]
    pub id_column: String,
    /// Column with the sample's file path (image, audio) or its text (text).
    #[serde(default = "default_input_column")]
    pub input_column: String,
    /// Turns the input column's value into a path: `{}` is replaced by the value
    /// (e.g. `"boneage-training-dataset/{}.png"`).
    #[serde(default)]
    pub input_template: Option<String>,
    /// Column with the numeric regression target.
    #[serde(default = "default_label_column")]
    pub label_column: String,
    /// Optional column whose values keep related samples in one split.
    #[serde(default)]
    pub group_column: Option<String>,
    /// Set when the data is generated, so every output says so.
    #[serde(default)]
    pub synthetic: bool,
    /// The dataset's public layout, read by an adapter of this crate (e.g. `"houses"`);
    /// absent: the manifest is a plain table read through the column keys above.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layout: Option<String>,
    /// Applied to every label as it is read, e.g. `"log"` for log prices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_transform: Option<LabelTransform>,
    /// Lets sample paths leave `root` (absolute paths elsewhere, `..`, symbolic links to other
    /// places); by default such a sample is an errors-table row.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_outside_root: bool,
}

impl DatasetConfig {
    /// The manifest's full path.
    pub fn manifest_path(&self) -> PathBuf {
        self.root.join(&self.manifest)
    }

    /// The columns a plain manifest is read through: id, input, label, and the group's if set.
    pub fn manifest_columns(&self) -> Vec<&str> {
        let mut columns = vec![
            self.id_column.as_str(),
            self.input_column.as_str(),
            self.label_column.as_str(),
        ];
        columns.extend(self.group_column.as_deref());
        columns
    }

    /// What a layout adapter reads (and, with `work_dir`, where it may write derived files).
    pub fn layout_source(&self, work_dir: Option<PathBuf>) -> Source {
        Source {
            root: self.root.clone(),
            manifest: self.manifest.clone(),
            work_dir,
        }
    }

    /// Where sample files may be read from: inside `root`, unless `allow_outside_root`.
    pub fn sample_root(&self) -> SampleRoot {
        SampleRoot::new(&self.root, self.allow_outside_root)
    }
}

/// A transform of the labels (`[dataset] label_transform`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LabelTransform {
    /// The natural logarithm; a label that is not positive is an error.
    Log,
}

impl LabelTransform {
    /// The transformed label, or why there is none.
    pub fn apply(self, label: f64) -> Result<f64, String> {
        match self {
            Self::Log if label > 0.0 => Ok(label.ln()),
            Self::Log => Err(format!(
                "label {label} is not positive, so `label_transform = \"log\"` cannot take its logarithm"
            )),
        }
    }
}

fn default_id_column() -> String {
    "id".to_owned()
}
fn default_input_column() -> String {
    "path".to_owned()
}
fn default_label_column() -> String {
    "label".to_owned()
}
