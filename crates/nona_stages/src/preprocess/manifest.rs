//! The manifest side of `preprocess`: which source the rows come from (a plain CSV/Parquet
//! manifest, or a dataset layout's adapter), and the checks each row must pass to become a
//! sample (an id seen once, a finite label, an input the modality can read).

use std::path::{Path, PathBuf};

use nona_datasets::{DatasetConfig, LabelTransform, Layout, Modality, SampleRoot};
use nona_pipeline::RowError;
use nona_pipeline::config::{ConfigError, Pipeline, did_you_mean};

use super::PreprocessStage;
use crate::modality::{self, ModalityOptions};

/// One manifest row (or layout record), before its checks.
#[derive(Debug, Clone)]
pub(super) struct ManifestRow {
    pub(super) id: Option<String>,
    pub(super) input: Option<String>,
    pub(super) label: Option<String>,
    pub(super) group: Option<String>,
    pub(super) origin: String,
    /// Line/row of an earlier row with the same id.
    pub(super) duplicate_of: Option<String>,
    /// Why a layout adapter could not use the row.
    pub(super) problem: Option<String>,
}

impl PreprocessStage {
    /// The samples-table values of `row` (id, input, label), or why the row cannot be used.
    pub(super) fn check_row(
        &self,
        row: &ManifestRow,
        sample_root: &SampleRoot,
    ) -> Result<(String, String, f64), RowError> {
        let source = format!("{}:{}", self.manifest.display(), row.origin);
        let fail = |message: String| RowError {
            id: row.id.clone(),
            source: source.clone(),
            message,
        };
        let dataset = &self.dataset;
        if let Some(problem) = &row.problem {
            return Err(fail(problem.clone()));
        }
        // A layout's fields have fixed meanings; a plain manifest's are the configured columns.
        let field = |what: &str, column: &str| match self.layout {
            Some(layout) => format!("the `{}` layout's {what}", layout.name()),
            None => format!("column `{column}`"),
        };
        let label_field = field("label", &dataset.label_column);
        let input_field = field("input", &dataset.input_column);
        let id = row
            .id
            .clone()
            .ok_or_else(|| fail(format!("empty id ({})", field("id", &dataset.id_column))))?;
        if let Some(first) = &row.duplicate_of {
            return Err(fail(format!("duplicate id `{id}` (first seen at {first})")));
        }
        let label_text = row
            .label
            .as_deref()
            .ok_or_else(|| fail(format!("missing label ({label_field})")))?;
        let label = parse_label(label_text, dataset.label_transform, &label_field).map_err(fail)?;
        let raw = row
            .input
            .as_deref()
            .ok_or_else(|| fail(format!("empty input ({input_field})")))?;
        let input = if modality::input_is_file(dataset.modality, &self.config.modality) {
            let relative = match &dataset.input_template {
                Some(template) if self.layout.is_none() => template.replace("{}", raw),
                _ => raw.to_owned(),
            };
            sample_file(&relative, dataset.modality, sample_root)
                .map_err(|problem| problem.into_row(row.id.clone(), &source))?
                .display()
                .to_string()
        } else if raw.trim().is_empty() {
            return Err(fail(format!(
                "empty or whitespace-only text ({input_field})"
            )));
        } else {
            raw.to_owned()
        };
        Ok((id, input, label))
    }
}

/// A label read from the manifest's `text`, transformed as `[dataset] label_transform` says;
/// the error names `field` (where the label came from).
pub(crate) fn parse_label(
    text: &str,
    transform: Option<LabelTransform>,
    field: &str,
) -> Result<f64, String> {
    let label = text
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| format!("label `{text}` ({field}) is not a finite number"))?;
    match transform {
        Some(transform) => transform
            .apply(label)
            .map_err(|message| format!("{message} ({field})")),
        None => Ok(label),
    }
}

/// Why a sample file cannot be read.
pub(crate) enum FileProblem {
    /// The path leaves the sample root: the manifest row is at fault.
    Outside(String),
    /// The file at this path is missing or unreadable.
    Unreadable(PathBuf, String),
}

impl FileProblem {
    /// The errors-table row of sample `id`, whose manifest row is `source`.
    pub(crate) fn into_row(self, id: Option<String>, source: &str) -> RowError {
        match self {
            Self::Outside(message) => RowError {
                id,
                source: source.to_owned(),
                message,
            },
            Self::Unreadable(path, message) => RowError {
                id,
                source: path.display().to_string(),
                message,
            },
        }
    }
}

/// The sample file `relative` (to the dataset root, or absolute) names, once it is known to be
/// inside `sample_root` and readable as `modality` (its probe).
pub(crate) fn sample_file(
    relative: &str,
    modality: Modality,
    sample_root: &SampleRoot,
) -> Result<PathBuf, FileProblem> {
    let path = sample_root
        .sample_path(relative)
        .map_err(FileProblem::Outside)?;
    modality::probe_file(&path, modality).map_err(|message| {
        let message = match same_stem(&path) {
            Some(other) => format!(
                "{message}; {other} is there: a file in another format (convert it, see README \"Datasets of the paper\") or another `input_template` extension?"
            ),
            None => message,
        };
        FileProblem::Unreadable(path.clone(), message)
    })?;
    Ok(path)
}

/// For a missing file, the name of one beside it with the same stem (`<uuid>.webm` for a missing
/// `<uuid>.wav`), if any.
fn same_stem(path: &Path) -> Option<String> {
    if path.exists() {
        return None;
    }
    // A few stat calls, not a directory listing: a folder may hold tens of thousands of samples.
    const EXTENSIONS: [&str; 14] = [
        "webm", "ogg", "opus", "wav", "flac", "mp3", "m4a", "png", "jpg", "jpeg", "bmp", "tif",
        "tiff", "txt",
    ];
    EXTENSIONS
        .iter()
        .map(|extension| path.with_extension(extension))
        .find(|other| other.is_file())
        .and_then(|other| Some(other.file_name()?.to_string_lossy().into_owned()))
}

/// The adapter `dataset.layout` names (`None`: a plain manifest), checked against the modality,
/// the modality's `options` and the column keys, which a layout does not read.
pub(super) fn check_layout(
    pipeline: &Pipeline,
    dataset: &DatasetConfig,
    options: &ModalityOptions,
) -> Result<Option<&'static dyn Layout>, Vec<ConfigError>> {
    let Some(name) = &dataset.layout else {
        return Ok(None);
    };
    let Some(layout) = nona_datasets::layout(name) else {
        let names = nona_datasets::layouts().iter().map(|l| l.name());
        let hint = did_you_mean(name, names.clone())
            .map(|s| format!("; did you mean `{s}`?"))
            .unwrap_or_default();
        let all: Vec<String> = names.map(|n| format!("`{n}`")).collect();
        return Err(vec![pipeline.error_at(
            "dataset.layout",
            format!(
                "unknown layout `{name}`{hint} (known: {}; leave `layout` out for a plain CSV/Parquet manifest)",
                all.join(", ")
            ),
        )]);
    };
    let mut errors = Vec::new();
    let modality = layout.modality();
    if dataset.modality != modality {
        errors.push(pipeline.error_at(
            "dataset.modality",
            format!(
                "the `{name}` layout holds {} samples, but `dataset.modality` is {:?}",
                format!("{modality:?}").to_lowercase(),
                dataset.modality
            ),
        ));
    }
    modality::check_layout_options(pipeline, name, modality, options, &mut errors);
    for key in [
        "id_column",
        "input_column",
        "input_template",
        "label_column",
        "group_column",
    ] {
        if pipeline.is_set(&format!("dataset.{key}")) {
            errors.push(pipeline.error_at(
                &format!("dataset.{key}"),
                format!(
                    "`{key}` is for plain manifests; the `{name}` layout knows its own fields (see README \"Datasets of the paper\")"
                ),
            ));
        }
    }
    if errors.is_empty() {
        Ok(Some(layout))
    } else {
        Err(errors)
    }
}
