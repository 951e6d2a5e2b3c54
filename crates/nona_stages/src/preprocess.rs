//! The `preprocess` stage: reads the manifest, checks every sample, and writes the `samples`
//! table (id, input, label, group, source_row).
//!
//! Its section also carries each modality's options (`[preprocess.image]`, …: [`ModalityOptions`],
//! checked in [`crate::modality`]); those are applied on the fly by the `embed` stage as it
//! streams samples into the backbone, so large decoded tensors are never written to disk. They are part of this stage's fingerprint, hence of `embed`'s.
//!
//! The rows and their checks are in [`manifest`]; what a sample file must be, per modality, is
//! each modality's probe. A sample file must be inside the dataset root ([`SampleRoot`]) unless
//! `[dataset] allow_outside_root`.

mod manifest;

pub(crate) use manifest::{parse_label, sample_file};

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use arrow::array::{Float64Array, Int64Array, StringArray};
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use nona_datasets::{DatasetConfig, Layout, SampleRoot};
use nona_pipeline::config::{ConfigError, Pipeline};
use nona_pipeline::{Plan, Stage, StageContext, StageRun, UnitOutput, fingerprint};
use rayon::prelude::*;
use serde::de::{self, MapAccess};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::json;

use crate::common::{FlatSection, OnError, default_shard_rows, deserialize_flat};
use crate::modality::{self, ModalityOptions};
use manifest::{ManifestRow, check_layout};

/// The `[preprocess]` section.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PreprocessConfig {
    /// What to do with a sample that cannot be used.
    pub on_error: OnError,
    /// Manifest rows per work unit and per Parquet part.
    pub shard_rows: usize,
    /// The modality's options (`[preprocess.image]`, …), keys of this section.
    #[serde(flatten)]
    pub(crate) modality: ModalityOptions,
}

impl Default for PreprocessConfig {
    fn default() -> Self {
        Self {
            on_error: OnError::default(),
            shard_rows: default_shard_rows(),
            modality: ModalityOptions::default(),
        }
    }
}

/// The stage's own keys, then the modalities' tables.
const SECTION_KEYS: [&str; 2 + ModalityOptions::KEYS.len()] = {
    let mut keys = [""; 2 + ModalityOptions::KEYS.len()];
    keys[0] = "on_error";
    keys[1] = "shard_rows";
    let mut i = 0;
    while i < ModalityOptions::KEYS.len() {
        keys[2 + i] = ModalityOptions::KEYS[i];
        i += 1;
    }
    keys
};

/// Read as a [`FlatSection`], the modalities' tables being keys of this section.
impl FlatSection for PreprocessConfig {
    const KEYS: &'static [&'static str] = &SECTION_KEYS;

    fn read_value<'de, A: MapAccess<'de>>(
        &mut self,
        key: &str,
        map: &mut A,
    ) -> Result<(), A::Error> {
        match key {
            "on_error" => self.on_error = map.next_value()?,
            "shard_rows" => self.shard_rows = map.next_value()?,
            other => {
                if !self.modality.read_value(other, map)? {
                    return Err(de::Error::unknown_field(other, Self::KEYS));
                }
            }
        }
        Ok(())
    }
}

impl<'de> Deserialize<'de> for PreprocessConfig {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserialize_flat(deserializer)
    }
}

/// The preprocess stage.
pub struct PreprocessStage {
    config: PreprocessConfig,
    dataset: DatasetConfig,
    manifest: PathBuf,
    /// The adapter of `dataset.layout`; `None`: a plain manifest.
    layout: Option<&'static dyn Layout>,
    /// Where sample files may be (the root; a run adds the files a layout derives).
    sample_root: SampleRoot,
}

/// The preprocess stage with its manifest read.
pub struct PreprocessRun<'s> {
    stage: &'s PreprocessStage,
    /// Where sample files may be (the root; with a layout, also the files it derives).
    sample_root: SampleRoot,
    rows: Vec<ManifestRow>,
}

impl Stage for PreprocessStage {
    const NAME: &'static str = "preprocess";

    /// 2: sample files outside the dataset root, ragged or non-UTF-8 CSV lines are errors-table
    /// rows, and CSV lines are numbered right after `\r\n` endings.
    const VERSION: u32 = 2;

    type Config = PreprocessConfig;
    type Run<'s> = PreprocessRun<'s>;

    /// Checks `[preprocess]` and the dataset it reads.
    fn build(config: PreprocessConfig, pipeline: &Pipeline) -> Result<Self, Vec<ConfigError>> {
        let mut errors = Vec::new();
        if config.shard_rows == 0 {
            errors.push(
                pipeline.error_at("preprocess.shard_rows", "`shard_rows` must be at least 1"),
            );
        }
        let dataset = &crate::dataset::require(pipeline, Self::NAME).map_err(|e| vec![e])?;
        modality::check_options(pipeline, &config.modality, dataset.modality, &mut errors);
        let layout = check_layout(pipeline, dataset, &config.modality);
        let layout_ok = layout.is_ok();
        let layout = layout.unwrap_or_else(|mut problems| {
            errors.append(&mut problems);
            None
        });
        if !dataset.root.is_dir() {
            errors.push(pipeline.error_at(
                "dataset.root",
                format!("dataset root {} is not a directory", dataset.root.display()),
            ));
        } else if !dataset.manifest_path().exists() {
            errors.push(pipeline.error_at(
                "dataset.manifest",
                format!(
                    "manifest {} does not exist",
                    dataset.manifest_path().display()
                ),
            ));
        } else if let Some(layout) = layout {
            if let Err(error) = layout.check(&dataset.layout_source(None)) {
                errors.push(pipeline.error_at(
                    "dataset.manifest",
                    format!("not the `{}` layout: {error}", layout.name()),
                ));
            }
        } else if layout_ok
            && let Err(error) = nona_table::read_manifest_columns(
                &dataset.manifest_path(),
                &dataset.manifest_columns(),
            )
        {
            errors.push(pipeline.error_at("dataset.manifest", error.to_string()));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Self {
            config,
            dataset: dataset.clone(),
            manifest: dataset.manifest_path(),
            layout,
            sample_root: dataset.sample_root(),
        })
    }

    fn fingerprint(&self) -> anyhow::Result<serde_json::Value> {
        let digest = fingerprint::of_file(&self.manifest)
            .with_context(|| format!("reading {}", self.manifest.display()))?;
        Ok(json!({
            "preprocess": self.config,
            "dataset": self.dataset,
            "manifest_sha256": digest,
        }))
    }

    fn fail_on_error(&self) -> bool {
        self.config.on_error == OnError::Fail
    }

    fn load<'s>(&'s self, ctx: &StageContext) -> anyhow::Result<PreprocessRun<'s>> {
        let mut sample_root = self.sample_root.clone();
        let rows = match self.layout {
            Some(layout) => {
                // Absolute, since sample paths are joined to the dataset root.
                let files = std::path::absolute(ctx.dir_path().join("files"))?;
                sample_root = sample_root.also_allow(&files);
                let source = self.dataset.layout_source(Some(files));
                layout.read(&source)?
            }
            None => {
                let names = self.dataset.manifest_columns();
                let table = nona_table::read_manifest_columns(&self.manifest, &names)?;
                let group_index = self.dataset.group_column.as_ref().map(|_| 3);
                (0..table.row_origin.len())
                    .map(|r| nona_datasets::Row {
                        id: table.columns[0][r].clone(),
                        input: table.columns[1][r].clone(),
                        label: table.columns[2][r].clone(),
                        group: group_index.and_then(|g| table.columns[g][r].clone()),
                        origin: table.row_origin[r].clone(),
                        problem: table.row_problem[r].clone(),
                    })
                    .collect()
            }
        };
        let mut first_seen: HashMap<String, String> = HashMap::new();
        let rows = rows
            .into_iter()
            .map(|row| {
                let duplicate_of = row.id.as_ref().and_then(|id| match first_seen.get(id) {
                    Some(first) => Some(first.clone()),
                    None => {
                        first_seen.insert(id.clone(), row.origin.clone());
                        None
                    }
                });
                ManifestRow {
                    id: row.id,
                    input: row.input,
                    label: row.label,
                    group: row.group,
                    origin: row.origin,
                    duplicate_of,
                    problem: row.problem,
                }
            })
            .collect();
        Ok(PreprocessRun {
            stage: self,
            sample_root,
            rows,
        })
    }
}

impl StageRun for PreprocessRun<'_> {
    fn schema(&self) -> SchemaRef {
        nona_table::schemas::samples()
    }

    fn metadata(&self) -> nona_table::Metadata {
        let stage = self.stage;
        let mut metadata = nona_table::Metadata::new();
        metadata.insert(
            "nona.modality".to_owned(),
            format!("{:?}", stage.dataset.modality).to_lowercase(),
        );
        metadata.insert(
            "nona.manifest".to_owned(),
            stage.manifest.display().to_string(),
        );
        metadata.insert(
            "nona.preprocess".to_owned(),
            serde_json::to_string(&stage.config).unwrap_or_default(),
        );
        metadata
    }

    fn plan(&self) -> Plan {
        Plan::chunks(self.rows.len() as u64, self.stage.config.shard_rows as u64)
    }

    fn run_unit(&self, ctx: &StageContext, unit: usize) -> anyhow::Result<UnitOutput> {
        let shard_rows = self.stage.config.shard_rows;
        let start = unit * shard_rows;
        let end = (start + shard_rows).min(self.rows.len());
        let rows = &self.rows[start.min(end)..end];
        let checked: Vec<_> = rows
            .par_iter()
            .map(|row| self.stage.check_row(row, &self.sample_root))
            .collect();
        ctx.progress.advance(rows.len() as u64);
        let mut ids = Vec::new();
        let mut inputs = Vec::new();
        let mut labels = Vec::new();
        let mut groups = Vec::new();
        let mut source_rows = Vec::new();
        let mut errors = Vec::new();
        for (offset, (row, result)) in rows.iter().zip(checked).enumerate() {
            match result {
                Ok((id, input, label)) => {
                    ids.push(id);
                    inputs.push(input);
                    labels.push(label);
                    groups.push(row.group.clone());
                    source_rows.push((start + offset) as i64);
                }
                Err(error) => errors.push(error),
            }
        }
        let batch = RecordBatch::try_new(
            self.schema(),
            vec![
                Arc::new(StringArray::from(ids)),
                Arc::new(StringArray::from(inputs)),
                Arc::new(Float64Array::from(labels)),
                Arc::new(StringArray::from(groups)),
                Arc::new(Int64Array::from(source_rows)),
            ],
        )?;
        Ok(UnitOutput {
            rows: vec![batch],
            errors,
            ..UnitOutput::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// As the fingerprint and the `nona.preprocess` metadata write the section.
    #[test]
    fn the_section_is_written_with_every_key_in_order() {
        let config: PreprocessConfig =
            toml::from_str("shard_rows = 8\n[text]\nsource = \"file\"").unwrap();
        assert_eq!(
            serde_json::to_string(&config).unwrap(),
            r#"{"on_error":"skip","shard_rows":8,"image":null,"text":{"source":"file","max_tokens":null},"audio":null}"#
        );
    }

    #[test]
    fn an_unknown_key_is_told_every_key() {
        let error = toml::from_str::<PreprocessConfig>("imag = 1").unwrap_err();
        assert_eq!(
            error.message(),
            "unknown field `imag`, expected one of `on_error`, `shard_rows`, `image`, `text`, `audio`"
        );
    }
}
