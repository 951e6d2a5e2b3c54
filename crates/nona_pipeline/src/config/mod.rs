//! Pipeline files: loading with `extends`, typed sections, and errors that name file, line and key.
//!
//! A pipeline file has a few top-level keys (`name`, `description`, `extends`), a `[dataset]`
//! table that the engine owns, and one table per stage (`[preprocess]`, `[embed]`, …) that the
//! stage itself deserialises through [`Pipeline::section`].

mod error;
mod source;

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::DeserializeOwned;
use toml::{Table, Value};

pub use error::{ConfigError, ConfigErrors, did_you_mean};
pub use source::{LayeredSource, Origin};

/// Top-level keys that are not stage sections.
const TOP_LEVEL_KEYS: [&str; 4] = ["name", "description", "extends", "dataset"];

/// What kind of sample the dataset holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
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
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetConfig {
    /// Directory the manifest and sample paths are relative to. `${VAR}` and `${VAR:-default}`
    /// are expanded; a relative root is relative to the pipeline file that sets it.
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
    /// The dataset's public layout, read by an adapter of `nona_datasets` (e.g. `"houses"`);
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

/// A transform of the labels (`[dataset] label_transform`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
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

/// Why `name` cannot name a run directory, if it cannot: it must be one plain, non-empty path
/// component (not `.` or `..`) of letters, digits, `-`, `_` and `.`.
fn run_name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("is empty")
    } else if name == "." || name == ".." {
        Some("is not a plain directory name")
    } else if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        Some("may only use letters, digits, `-`, `_` and `.`")
    } else {
        None
    }
}

impl DatasetConfig {
    /// The manifest's full path.
    pub fn manifest_path(&self) -> PathBuf {
        self.root.join(&self.manifest)
    }
}

/// A loaded, structurally valid pipeline.
#[derive(Debug, Clone)]
pub struct Pipeline {
    /// Run name: the `name` key of the requested file, else its file stem. Outputs go to
    /// `runs/<name>/`.
    pub name: String,
    /// Free text shown in reports.
    pub description: Option<String>,
    /// The file that was requested.
    pub file: PathBuf,
    /// The dataset source; absent in pipelines that bring their own embeddings or generate
    /// their data (stages that read samples ask for it with [`Pipeline::require_dataset`]).
    pub dataset: Option<DatasetConfig>,
    /// Stage sections, by name, in file order of the stage registry.
    stages: Table,
    source: LayeredSource,
}

impl Pipeline {
    /// Loads `path` with everything it extends. `stage_names` are the stage sections the caller
    /// knows; any other top-level key is an error with a "did you mean".
    pub fn load(path: &Path, stage_names: &[&str]) -> Result<Self, ConfigErrors> {
        Self::load_with(path, stage_names, &[])
    }

    /// [`Self::load`], then each `(dotted key, value)` of `overrides` set on top of the files
    /// (`nona run --set embed.device=cuda`).
    pub fn load_with(
        path: &Path,
        stage_names: &[&str],
        overrides: &[(String, Value)],
    ) -> Result<Self, ConfigErrors> {
        let mut source = LayeredSource::load(path)?;
        for (key, value) in overrides {
            source.set(key, value.clone())?;
        }
        let mut errors = Vec::new();
        let mut stages = Table::new();
        for (key, value) in &source.table {
            if TOP_LEVEL_KEYS.contains(&key.as_str()) {
                continue;
            }
            if stage_names.contains(&key.as_str()) {
                if value.is_table() {
                    stages.insert(key.clone(), value.clone());
                } else {
                    errors.push(ConfigError::new(
                        source.origin(key).cloned(),
                        format!("`{key}` must be a table (`[{key}]`)"),
                    ));
                }
                continue;
            }
            let known = TOP_LEVEL_KEYS.iter().chain(stage_names.iter()).copied();
            let hint = did_you_mean(key, known)
                .map(|s| format!("; did you mean `{s}`?"))
                .unwrap_or_default();
            let all: Vec<String> = TOP_LEVEL_KEYS
                .iter()
                .chain(stage_names)
                .map(|k| format!("`{k}`"))
                .collect();
            errors.push(ConfigError::new(
                source.origin(key).cloned(),
                format!(
                    "unknown key `{key}`{hint} (expected one of {})",
                    all.join(", ")
                ),
            ));
        }
        let name = match source.table.get("name") {
            Some(Value::String(name)) => {
                if let Some(problem) = run_name_problem(name) {
                    errors.push(ConfigError::new(
                        source.origin("name").cloned(),
                        format!("pipeline name `{name}` {problem} (it names the run directory runs/<name>/)"),
                    ));
                }
                name.clone()
            }
            Some(_) => {
                errors.push(ConfigError::new(
                    source.origin("name").cloned(),
                    "`name` must be a string".to_owned(),
                ));
                String::new()
            }
            None => {
                let stem = path
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
                if let Some(problem) = run_name_problem(&stem) {
                    errors.push(ConfigError::at_file(
                        path,
                        format!(
                            "the pipeline name comes from the file name, and `{stem}` {problem} (it names the run directory runs/<name>/); rename the file or set `name = \"...\"`"
                        ),
                    ));
                }
                stem
            }
        };
        let description = source
            .table
            .get("description")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let dataset = match source.table.get("dataset") {
            None => None,
            Some(value) => {
                let mut value = value.clone();
                resolve_dataset_paths(&mut value, &source);
                match deserialize_at::<DatasetConfig>(value, "dataset", &source) {
                    Ok(dataset) => Some(dataset),
                    Err(error) => {
                        errors.push(error);
                        None
                    }
                }
            }
        };
        if errors.is_empty() {
            Ok(Self {
                name,
                description,
                file: path.to_path_buf(),
                dataset,
                stages,
                source,
            })
        } else {
            Err(ConfigErrors { errors })
        }
    }

    /// The `[dataset]` table, or an error saying that stage `stage` needs one.
    pub fn require_dataset(&self, stage: &str) -> Result<&DatasetConfig, ConfigError> {
        self.dataset.as_ref().ok_or_else(|| {
            let file = self.source.files.last().unwrap_or(&self.file);
            ConfigError::at_file(
                file,
                format!(
                    "stage `{stage}` reads samples, so the pipeline needs a `[dataset]` table (root, manifest, modality, columns)"
                ),
            )
        })
    }

    /// Whether the pipeline's data is generated (`[dataset] synthetic = true`).
    pub fn synthetic_data(&self) -> bool {
        self.dataset.as_ref().is_some_and(|d| d.synthetic)
    }

    /// Whether the pipeline has a `[name]` stage section.
    pub fn has_stage(&self, name: &str) -> bool {
        self.stages.contains_key(name)
    }

    /// The raw `[name]` section, for fingerprints and records.
    pub fn section_value(&self, name: &str) -> Option<&Value> {
        self.stages.get(name)
    }

    /// Deserialises the `[name]` section into the stage's own config type. Unknown keys, wrong
    /// types and bad values are reported at the line that set them.
    pub fn section<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, ConfigError> {
        match self.stages.get(name) {
            None => Ok(None),
            Some(value) => deserialize_at(value.clone(), name, &self.source).map(Some),
        }
    }

    /// Where a dotted key path was set.
    pub fn origin(&self, key_path: &str) -> Option<&Origin> {
        self.source.origin(key_path)
    }

    /// Whether the pipeline sets `key_path` itself (rather than leaving it to its default).
    pub fn is_set(&self, key_path: &str) -> bool {
        self.source.is_set(key_path)
    }

    /// An error pointing at `key_path`.
    pub fn error_at(&self, key_path: &str, message: impl Into<String>) -> ConfigError {
        ConfigError::new(self.origin(key_path).cloned(), message.into())
    }

    /// Expands `${VAR}`/`${VAR:-default}` in a path-valued key and makes it relative to the file
    /// that set it.
    pub fn resolve_path(&self, key_path: &str, raw: &Path) -> PathBuf {
        resolve_relative(&expand_env(&raw.to_string_lossy()), self.origin(key_path))
    }

    /// Every pipeline file read, the requested one last.
    pub fn files(&self) -> &[PathBuf] {
        &self.source.files
    }
}

fn resolve_dataset_paths(dataset: &mut Value, source: &LayeredSource) {
    let Some(table) = dataset.as_table_mut() else {
        return;
    };
    if let Some(Value::String(root)) = table.get("root") {
        let resolved = resolve_relative(&expand_env(root), source.origin("dataset.root"));
        table.insert(
            "root".to_owned(),
            Value::String(resolved.to_string_lossy().into_owned()),
        );
    }
    if let Some(Value::String(manifest)) = table.get("manifest") {
        table.insert("manifest".to_owned(), Value::String(expand_env(manifest)));
    }
}

/// Joins a relative path to the directory of the file that wrote it, and makes it absolute when it
/// exists, so that outputs (e.g. the samples table's paths) do not depend on the working directory.
fn resolve_relative(raw: &str, origin: Option<&Origin>) -> PathBuf {
    let path = PathBuf::from(raw);
    let joined = match origin.and_then(|o| o.file.parent()) {
        Some(dir) if path.is_relative() => dir.join(path),
        _ => path,
    };
    std::fs::canonicalize(&joined).unwrap_or(joined)
}

/// Parses a `--set` argument `KEY=VALUE`: the value as a TOML value (`32`, `true`,
/// `["l1", "l2"]`, `"text"`), or as a bare string when it is not valid TOML (`cuda`).
pub fn parse_override(argument: &str) -> Result<(String, Value), String> {
    let (key, raw) = argument
        .split_once('=')
        .ok_or_else(|| format!("`{argument}`: expected KEY=VALUE, e.g. embed.device=cuda"))?;
    let value = toml::from_str::<Table>(&format!("v = {raw}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| Value::String(raw.to_owned()));
    Ok((key.trim().to_owned(), value))
}

/// Expands `${VAR}` and `${VAR:-default}`; an unset variable without default expands to "".
pub fn expand_env(raw: &str) -> String {
    let mut out = String::new();
    let mut rest = raw;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('}') else {
            out.push_str(&rest[start..]);
            return out;
        };
        let inner = &rest[start + 2..start + end];
        let (var, default) = match inner.split_once(":-") {
            Some((var, default)) => (var, Some(default)),
            None => (inner, None),
        };
        match std::env::var(var) {
            Ok(value) if !value.is_empty() => out.push_str(&value),
            _ => out.push_str(default.unwrap_or("")),
        }
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    out
}

/// Typed deserialisation with the failing key's path, origin and a "did you mean".
fn deserialize_at<T: DeserializeOwned>(
    value: Value,
    prefix: &str,
    source: &LayeredSource,
) -> Result<T, ConfigError> {
    serde_path_to_error::deserialize::<_, T>(value).map_err(|error| {
        let inner = error.inner().message().to_owned();
        let relative = error.path().to_string();
        let mut key_path = if relative == "." {
            prefix.to_owned()
        } else {
            format!("{prefix}.{relative}")
        };
        let message = if let Some((kind, unknown, expected)) = parse_unknown(&inner) {
            key_path = format!("{key_path}.{unknown}").replace("..", ".");
            let hint = did_you_mean(&unknown, expected.iter().map(String::as_str))
                .map(|s| format!("; did you mean `{s}`?"))
                .unwrap_or_default();
            let list: Vec<String> = expected.iter().map(|e| format!("`{e}`")).collect();
            if kind == "value" {
                key_path.truncate(key_path.rfind('.').unwrap_or(0));
            }
            format!(
                "unknown {kind} `{unknown}` in `{prefix}`{hint} (expected one of {})",
                list.join(", ")
            )
        } else {
            format!("`{key_path}`: {inner}")
        };
        ConfigError::new(source.origin(&key_path).cloned(), message)
    })
}

/// Reads serde's "unknown field `x`, expected one of `a`, `b`" (or variant) messages.
fn parse_unknown(message: &str) -> Option<(&'static str, String, Vec<String>)> {
    let (kind, rest) = if let Some(rest) = message.strip_prefix("unknown field `") {
        ("key", rest)
    } else if let Some(rest) = message.strip_prefix("unknown variant `") {
        ("value", rest)
    } else {
        return None;
    };
    let (unknown, tail) = rest.split_once('`')?;
    let expected = tail
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect();
    Some((kind, unknown.to_owned(), expected))
}
