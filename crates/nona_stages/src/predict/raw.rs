//! Raw inputs for `nona predict`: the rows of a manifest with the training pipeline's columns, or
//! the files of a glob, checked as the preprocess stage checks manifest rows (its own
//! functions), embedded by the embed stage's code ([`record::rebuild`]), then predicted.
//! A row that fails a check or cannot be decoded becomes an errors row; the others are predicted.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use nona_datasets::DatasetConfig;
use nona_pipeline::RowError;
use nona_pipeline::progress::Progress;

use super::RawOptions;
use super::output::{Outputs, Predicted, Rows};
use super::record::{self, NewData, Rebuilt};
use crate::modality::Sample;
use crate::preprocess::{parse_label, sample_file};
use crate::train::provenance::Provenance;

/// One input before its checks: a manifest row or a matched file.
#[derive(Debug)]
struct RawRow {
    id: Option<String>,
    input: Option<String>,
    /// `None` when the input has no label column.
    label: Option<Option<String>>,
    /// `manifest:line`, or the file.
    source: String,
    /// Why the manifest row could not be read.
    problem: Option<String>,
}

/// Raw inputs.
pub(super) enum RawInput<'a> {
    /// [`super::PredictInput::Manifest`].
    Manifest(&'a Path),
    /// [`super::PredictInput::Files`].
    Files(&'a str),
}

/// Where raw inputs are: their folder (relative sample paths start there) and their rows.
struct RawSource {
    root: PathBuf,
    /// The manifest's file name, or a description of the glob.
    manifest: String,
    /// Whether sample paths go through `[dataset] input_template` (manifest inputs).
    templated: bool,
    has_label: bool,
}

/// Predicts for raw `input` with the embed stage the model's `provenance` records.
pub(super) fn predict(
    provenance: &Provenance,
    input: &RawInput,
    options: &RawOptions,
    outputs: &Outputs,
    top_k: usize,
) -> anyhow::Result<Predicted> {
    let (source, description) = match input {
        RawInput::Manifest(path) => (manifest_source(path)?, path.display().to_string()),
        RawInput::Files(pattern) => (glob_source(pattern)?, (*pattern).to_owned()),
    };
    let scratch = match outputs.path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(scratch).with_context(|| format!("creating {}", scratch.display()))?;
    let new = NewData {
        root: &source.root,
        manifest: &source.manifest,
        scratch,
    };
    let rebuilt = record::rebuild(provenance, options, &new)?;
    let dataset = &rebuilt.dataset;
    let (rows, has_label) = match input {
        RawInput::Manifest(path) => read_manifest(path, dataset)?,
        RawInput::Files(pattern) => {
            anyhow::ensure!(
                rebuilt.stage.sample_root().is_some(),
                "the model reads texts from the manifest's `{}` column, not files: pass them with --manifest",
                dataset.input_column
            );
            (matched_files(pattern)?, false)
        }
    };
    let source = RawSource {
        has_label,
        ..source
    };
    let (samples, mut errors) = check_rows(rows, &source, &rebuilt);
    let progress = Progress::new("predict", samples.len() as u64);
    let embedder = rebuilt.stage.embedder(samples)?;
    anyhow::ensure!(
        embedder.dim() == outputs.model.input_dim(),
        "the backbone gives {}-wide embeddings, but the model takes {}",
        embedder.dim(),
        outputs.model.input_dim()
    );
    let embedded = embedder.embed(&progress)?;
    progress.finish();
    errors.extend(embedded.errors);
    let mut metadata = nona_table::Metadata::new();
    metadata.insert(
        "nona.model_id".to_owned(),
        rebuilt.stage.backbone_name().to_owned(),
    );
    let weights = rebuilt.stage.weights_file()?;
    metadata.insert(
        "nona.weights_sha256".to_owned(),
        weights.map_or_else(|| "synthetic".to_owned(), |w| w.sha256.clone()),
    );
    if let Some(tokenizer) = rebuilt.stage.tokenizer_file()? {
        metadata.insert("nona.tokenizer_sha256".to_owned(), tokenizer.sha256.clone());
    }
    let rows = Rows {
        ids: embedded.kept.iter().map(|s| s.id.clone()).collect(),
        labels: source
            .has_label
            .then(|| embedded.kept.iter().map(|s| s.label).collect()),
        features: embedded.values,
        metadata,
    };
    outputs.write(&rows, &description, top_k, &errors)
}

/// A manifest's folder and file name.
fn manifest_source(path: &Path) -> anyhow::Result<RawSource> {
    anyhow::ensure!(path.is_file(), "manifest {} does not exist", path.display());
    let absolute = std::path::absolute(path)?;
    Ok(RawSource {
        root: absolute.parent().map(Path::to_path_buf).unwrap_or_default(),
        manifest: absolute
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        templated: true,
        has_label: false,
    })
}

/// The folder of a glob before its first wildcard (empty: the working directory).
fn glob_base(pattern: &str) -> PathBuf {
    Path::new(pattern)
        .components()
        .take_while(|c| !c.as_os_str().to_string_lossy().contains(['*', '?', '[']))
        .collect()
}

/// A glob's base, where its files' ids start.
fn glob_source(pattern: &str) -> anyhow::Result<RawSource> {
    let base = glob_base(pattern);
    let base = if base.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        base
    };
    anyhow::ensure!(
        base.is_dir(),
        "the glob `{pattern}` starts in {}, which is not a folder",
        base.display()
    );
    Ok(RawSource {
        root: std::path::absolute(&base)?,
        manifest: pattern.to_owned(),
        templated: false,
        has_label: false,
    })
}

/// The rows of the manifest at `path`, read through the dataset's columns (the label column
/// only when the manifest has it), and whether it has labels.
fn read_manifest(path: &Path, dataset: &DatasetConfig) -> anyhow::Result<(Vec<RawRow>, bool)> {
    anyhow::ensure!(
        dataset.layout.is_none(),
        "the model's dataset was read by the `{}` layout, which names its own files; pass new files with --input 'FOLDER/*.EXT'",
        dataset.layout.as_deref().unwrap_or_default()
    );
    let with_label = [
        dataset.id_column.as_str(),
        dataset.input_column.as_str(),
        dataset.label_column.as_str(),
    ];
    let (table, has_label) = match nona_table::read_manifest_columns(path, &with_label) {
        Ok(table) => (table, true),
        Err(_) => (
            nona_table::read_manifest_columns(path, &with_label[..2])
                .with_context(|| format!("reading the manifest {}", path.display()))?,
            false,
        ),
    };
    let rows = (0..table.row_origin.len())
        .map(|r| RawRow {
            id: table.columns[0][r].clone(),
            input: table.columns[1][r].clone(),
            label: has_label.then(|| table.columns[2][r].clone()),
            source: format!("{}:{}", path.display(), table.row_origin[r]),
            problem: table.row_problem[r].clone(),
        })
        .collect();
    Ok((rows, has_label))
}

/// The files `pattern` matches, sorted, each with its path relative to the glob's base as id.
fn matched_files(pattern: &str) -> anyhow::Result<Vec<RawRow>> {
    let base = glob_base(pattern);
    let mut files = Vec::new();
    for entry in glob::glob(pattern).map_err(|e| anyhow!("bad glob `{pattern}`: {e}"))? {
        let path = entry.map_err(|e| anyhow!("listing `{pattern}`: {e}"))?;
        if path.is_dir() {
            continue;
        }
        let relative = path.strip_prefix(&base).unwrap_or(&path);
        let id = relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        files.push(RawRow {
            id: Some(id),
            input: Some(std::path::absolute(&path)?.display().to_string()),
            label: None,
            source: path.display().to_string(),
            problem: None,
        });
    }
    anyhow::ensure!(!files.is_empty(), "no file matches `{pattern}`");
    files.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(files)
}

/// The rows that pass preprocess's checks (an id seen once, a finite label when there is a
/// label column, an input the modality can read inside the root) as samples, and the others as
/// errors rows.
fn check_rows(
    rows: Vec<RawRow>,
    source: &RawSource,
    rebuilt: &Rebuilt,
) -> (Vec<Sample>, Vec<RowError>) {
    let mut first_seen: HashMap<String, String> = HashMap::new();
    let mut samples = Vec::new();
    let mut errors = Vec::new();
    for (index, row) in rows.into_iter().enumerate() {
        match check_row(&row, source, rebuilt, &mut first_seen) {
            Ok((id, input, label)) => samples.push(Sample {
                id,
                input,
                label,
                group: None,
                source_row: index as i64,
            }),
            Err(error) => errors.push(error),
        }
    }
    (samples, errors)
}

/// The id, input and label (NaN without a label column) of `row`, or its errors row;
/// `first_seen` holds where each id was first seen.
fn check_row(
    row: &RawRow,
    source: &RawSource,
    rebuilt: &Rebuilt,
    first_seen: &mut HashMap<String, String>,
) -> Result<(String, String, f64), RowError> {
    let dataset = &rebuilt.dataset;
    let fail = |message: String| RowError {
        id: row.id.clone(),
        source: row.source.clone(),
        message,
    };
    if let Some(problem) = &row.problem {
        return Err(fail(problem.clone()));
    }
    let column = |name: &str| format!("column `{name}`");
    let id = row
        .id
        .clone()
        .ok_or_else(|| fail(format!("empty id ({})", column(&dataset.id_column))))?;
    if let Some(first) = first_seen.get(&id) {
        return Err(fail(format!("duplicate id `{id}` (first seen at {first})")));
    }
    first_seen.insert(id.clone(), row.source.clone());
    let label = match &row.label {
        None => f64::NAN,
        Some(text) => {
            let field = column(&dataset.label_column);
            let text = text
                .as_deref()
                .ok_or_else(|| fail(format!("missing label ({field})")))?;
            parse_label(text, dataset.label_transform, &field).map_err(fail)?
        }
    };
    let raw = row
        .input
        .as_deref()
        .ok_or_else(|| fail(format!("empty input ({})", column(&dataset.input_column))))?;
    let input = match rebuilt.stage.sample_root() {
        Some(root) => {
            let relative = match &dataset.input_template {
                Some(template) if source.templated => template.replace("{}", raw),
                _ => raw.to_owned(),
            };
            sample_file(&relative, dataset.modality, root)
                .map_err(|problem| problem.into_row(row.id.clone(), &row.source))?
                .display()
                .to_string()
        }
        None if raw.trim().is_empty() => {
            return Err(fail(format!(
                "empty or whitespace-only text ({})",
                column(&dataset.input_column)
            )));
        }
        None => raw.to_owned(),
    };
    Ok((id, input, label))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ids are paths relative to the folder before the first wildcard, `/`-separated, sorted;
    /// folders that match are not inputs.
    #[test]
    fn a_globs_files_are_named_from_its_base() {
        let tmp = tempfile::tempdir().unwrap();
        let base = tmp.path().join("photos");
        std::fs::create_dir_all(base.join("b/c.png")).unwrap();
        std::fs::create_dir_all(base.join("a")).unwrap();
        for file in ["z.png", "a/2.png", "a/1.png", "a/note.txt"] {
            std::fs::write(base.join(file), b"x").unwrap();
        }
        let pattern = format!("{}/**/*.png", base.display());
        let files = matched_files(&pattern).unwrap();
        let ids: Vec<&str> = files.iter().filter_map(|f| f.id.as_deref()).collect();
        assert_eq!(ids, ["a/1.png", "a/2.png", "z.png"]);
        assert_eq!(
            files[0].input.as_deref(),
            Some(base.join("a/1.png").display().to_string().as_str())
        );
        assert_eq!(glob_source(&pattern).unwrap().root, base);
        let none = matched_files(&format!("{}/*.jpg", base.display())).unwrap_err();
        assert!(none.to_string().starts_with("no file matches"), "{none}");
    }
}
