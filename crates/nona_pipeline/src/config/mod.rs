//! Pipeline files: loading with `extends`, typed sections, and errors that name file, line and key.
//!
//! A pipeline file has a few top-level keys (`name`, `description`, `extends`), a `[dataset]`
//! table shared by the stages that read samples, and one table per stage (`[preprocess]`,
//! `[embed]`, …). Whoever reads a section deserialises it into its own type through
//! [`Pipeline::section`]; of `[dataset]` the engine itself knows only `synthetic`.

mod error;
mod source;

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use toml::{Table, Value};

pub use error::{ConfigError, ConfigErrors, did_you_mean};
pub use source::{LayeredSource, Origin};

/// The section that describes the samples, shared by the stages that read them.
const DATASET: &str = "dataset";

/// Top-level keys that are not stage sections.
const TOP_LEVEL_KEYS: [&str; 4] = ["name", "description", "extends", DATASET];

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
    /// Stage sections and `[dataset]`, by name.
    sections: Table,
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
        let mut sections = Table::new();
        for (key, value) in &source.table {
            if key == DATASET {
                // Its reader reports a value that is not a table, as for any other mistake in it.
                sections.insert(key.clone(), value.clone());
                continue;
            }
            if TOP_LEVEL_KEYS.contains(&key.as_str()) {
                continue;
            }
            if stage_names.contains(&key.as_str()) {
                if value.is_table() {
                    sections.insert(key.clone(), value.clone());
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
        if errors.is_empty() {
            Ok(Self {
                name,
                description,
                file: path.to_path_buf(),
                sections,
                source,
            })
        } else {
            Err(ConfigErrors { errors })
        }
    }

    /// Whether the pipeline's data is generated (`[dataset] synthetic = true`), the one thing
    /// the engine knows of the dataset (for run records and footers). A `synthetic` that is not
    /// a boolean counts as `false` here; the `[dataset]` section's reader reports it.
    pub fn synthetic_data(&self) -> bool {
        self.sections
            .get(DATASET)
            .and_then(|dataset| dataset.get("synthetic"))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }

    /// Whether the pipeline has a `[name]` stage section.
    pub fn has_stage(&self, name: &str) -> bool {
        name != DATASET && self.sections.contains_key(name)
    }

    /// The raw `[name]` section, for fingerprints and records.
    pub fn section_value(&self, name: &str) -> Option<&Value> {
        self.sections.get(name)
    }

    /// Deserialises the `[name]` section (a stage's, or `[dataset]`) into its reader's own config
    /// type. Unknown keys, wrong types and bad values are reported at the line that set them.
    pub fn section<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, ConfigError> {
        match self.sections.get(name) {
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
