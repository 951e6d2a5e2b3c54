//! The manifest side of `preprocess`: which source the rows come from (a plain CSV/Parquet
//! manifest, or a dataset layout's adapter), and the checks each row must pass to become a
//! sample (an id seen once, a finite label, an input the modality can read).

use std::path::Path;

use nona_datasets::{DatasetConfig, Layout, SampleRoot};
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
        let mut label = label_text
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| {
                fail(format!(
                    "label `{label_text}` ({label_field}) is not a finite number"
                ))
            })?;
        if let Some(transform) = dataset.label_transform {
            label = transform
                .apply(label)
                .map_err(|message| fail(format!("{message} ({label_field})")))?;
        }
        let raw = row
            .input
            .as_deref()
            .ok_or_else(|| fail(format!("empty input ({input_field})")))?;
        let input = if modality::input_is_file(dataset.modality, &self.config.modality) {
            let relative = match &dataset.input_template {
                Some(template) if self.layout.is_none() => template.replace("{}", raw),
                _ => raw.to_owned(),
            };
            let path = sample_root.sample_path(&relative).map_err(fail)?;
            modality::probe_file(&path, dataset.modality).map_err(|message| RowError {
                id: row.id.clone(),
                source: path.display().to_string(),
                message: match same_stem(&path) {
                    Some(other) => format!(
                        "{message}; {other} is there: a file in another format (convert it, see README \"Datasets of the paper\") or another `input_template` extension?"
                    ),
                    None => message,
                },
            })?;
            path.display().to_string()
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
