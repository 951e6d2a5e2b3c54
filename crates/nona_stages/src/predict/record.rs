//! The embed stage that made a model's training embeddings, rebuilt for new inputs from the
//! model's `provenance.json` (or from a pipeline file that must agree with it), and the
//! refusals: another backbone, preprocessing, weights file or tokenizer than the record's.
//!
//! The stage is built by [`Stage::build`] from a pipeline like any other, so weights and
//! tokenizer are resolved, and options checked, exactly as `nona run` does: the recorded sections
//! are written as a pipeline file into a temporary folder beside the output, with the new data's
//! root.

use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use nona_backbones::backbone_names;
use nona_backbones::registry::registry_entry;
use nona_datasets::DatasetConfig;
use nona_pipeline::Stage;
use nona_pipeline::config::{ConfigErrors, Pipeline};
use serde::Serialize;
use serde_json::Value;

use super::RawOptions;
use crate::embed::EmbedStage;
use crate::embed::config::{EmbedConfig, SYNTHETIC_WEIGHTS};
use crate::preprocess::{PreprocessConfig, PreprocessStage};
use crate::train::provenance::{Provenance, RecordedFile};

/// Settings that change the embeddings, as `(section, key)`: a pipeline given to predict with
/// must agree with the model's record on each.
const EMBEDDING_SETTINGS: [(&str, &str); 9] = [
    ("dataset", "modality"),
    ("dataset", "label_transform"),
    ("preprocess", "image"),
    ("preprocess", "text"),
    ("preprocess", "audio"),
    ("embed", "backbone"),
    ("embed", "pooling"),
    ("embed", "normalize"),
    ("embed", "device"),
];

/// The embed stage for new samples, and the dataset section it was built with.
pub(super) struct Rebuilt {
    pub stage: EmbedStage,
    pub dataset: DatasetConfig,
    /// Keeps the recorded sections' pipeline file while the stage lives.
    _folder: tempfile::TempDir,
}

/// Where new samples are, for [`rebuild`].
pub(super) struct NewData<'a> {
    /// Their folder: relative sample paths start there.
    pub root: &'a Path,
    /// The manifest's file name in `root` (or what names the samples).
    pub manifest: &'a str,
    /// Where the recorded sections are written as a pipeline file while the stage is built:
    /// the output's folder.
    pub scratch: &'a Path,
}

/// Rebuilds the embed stage that made the model's embeddings, for `new` samples: from the
/// model's record, or from `options.pipeline` when it agrees with the record; weights and
/// tokenizer from `options` or where the training pipeline found them. Refuses a backbone this
/// nona does not know, settings that differ from the record, and weights or a tokenizer whose
/// SHA-256 is not the recorded one.
pub(super) fn rebuild(
    provenance: &Provenance,
    options: &RawOptions,
    new: &NewData,
) -> anyhow::Result<Rebuilt> {
    let backbone = &provenance.embed.backbone;
    if registry_entry(backbone).is_err() {
        let known: Vec<&str> = backbone_names().collect();
        anyhow::bail!(
            "the model's embeddings were made by backbone `{backbone}`, which this nona does not know (known: {}); predict with the nona that trained it",
            known.join(", ")
        );
    }
    let folder = tempfile::Builder::new()
        .prefix(".nona-predict-")
        .tempdir_in(new.scratch)
        .with_context(|| format!("creating a temporary folder in {}", new.scratch.display()))?;
    let recorded = folder.path().join(format!("{}.toml", provenance.pipeline));
    std::fs::write(&recorded, recorded_pipeline(provenance)?)
        .with_context(|| format!("writing {}", recorded.display()))?;
    let file = options.pipeline.as_deref().unwrap_or(&recorded);
    let overrides = overrides(provenance, options, new.root, new.manifest);
    let pipeline = Pipeline::load_with(file, crate::STAGES, &overrides)
        .map_err(|errors| config_error(file, options, errors))?;
    if options.pipeline.is_some() {
        refuse_other_settings(provenance, &pipeline, file)?;
    }
    let dataset = crate::dataset::require(&pipeline, EmbedStage::NAME).map_err(|error| {
        config_error(
            file,
            options,
            ConfigErrors {
                errors: vec![error],
            },
        )
    })?;
    let config: EmbedConfig = pipeline
        .section(EmbedStage::NAME)
        .map_err(|error| {
            config_error(
                file,
                options,
                ConfigErrors {
                    errors: vec![error],
                },
            )
        })?
        .ok_or_else(|| anyhow!("{} has no [embed] section", file.display()))?;
    let stage = EmbedStage::build(config, &pipeline)
        .map_err(|errors| config_error(file, options, ConfigErrors { errors }))?;
    match (&provenance.weights, stage.weights_file()?) {
        (Some(recorded), Some(found)) => {
            refuse_other_digest("weights", recorded, &found.path, &found.sha256)?;
        }
        (Some(recorded), None) => anyhow::bail!(
            "refusing to predict: the model's training embeddings were made with the weights {} (SHA-256 {}), but {} gives synthetic weights",
            recorded.path.display(),
            recorded.sha256,
            file.display()
        ),
        (None, Some(found)) => anyhow::bail!(
            "refusing to predict: the model's training embeddings were made with synthetic weights, but these inputs would be embedded with {}",
            found.path.display()
        ),
        (None, None) => {}
    }
    if let (Some(recorded), Some(found)) = (&provenance.tokenizer, stage.tokenizer_file()?) {
        refuse_other_digest("tokenizer", recorded, &found.path, &found.sha256)?;
    }
    Ok(Rebuilt {
        stage,
        dataset,
        _folder: folder,
    })
}

/// The recorded `[dataset]`, `[preprocess]` and `[embed]` sections as a pipeline file.
fn recorded_pipeline(provenance: &Provenance) -> anyhow::Result<String> {
    let provenance = &clear_recorded_files(provenance);
    let mut table = toml::Table::new();
    table.insert("name".to_owned(), provenance.pipeline.clone().into());
    table.insert("dataset".to_owned(), toml_value(&provenance.dataset)?);
    table.insert(
        PreprocessStage::NAME.to_owned(),
        toml_value(&provenance.preprocess)?,
    );
    table.insert(EmbedStage::NAME.to_owned(), toml_value(&provenance.embed)?);
    Ok(format!(
        "# The sections recorded in a model's provenance.json, for nona predict.\n{}",
        toml::to_string(&table)?
    ))
}

/// `value` as TOML, its nulls (options left unset) dropped.
fn toml_value(value: &impl Serialize) -> anyhow::Result<toml::Value> {
    fn drop_nulls(value: &mut Value) {
        match value {
            Value::Object(map) => {
                map.retain(|_, v| !v.is_null());
                map.values_mut().for_each(drop_nulls);
            }
            Value::Array(items) => items.iter_mut().for_each(drop_nulls),
            _ => {}
        }
    }
    let mut json = serde_json::to_value(value)?;
    drop_nulls(&mut json);
    Ok(toml::Value::try_from(json)?)
}

/// `--set`-style overrides: the new data's root and manifest, and the weights and tokenizer
/// (given, else where the training pipeline found them, else resolved as embed resolves them).
fn overrides(
    provenance: &Provenance,
    options: &RawOptions,
    root: &Path,
    manifest: &str,
) -> Vec<(String, toml::Value)> {
    let path_value = |path: &Path| {
        let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        toml::Value::String(absolute.display().to_string())
    };
    let mut overrides = vec![
        ("dataset.root".to_owned(), path_value(root)),
        (
            "dataset.manifest".to_owned(),
            toml::Value::String(manifest.to_owned()),
        ),
    ];
    let recorded_file = |recorded: Option<&RecordedFile>| {
        recorded
            .map(|file| file.path.clone())
            .filter(|path| path.is_file())
    };
    let synthetic = provenance.embed.weights.as_deref() == Some(SYNTHETIC_WEIGHTS);
    let weights = options.weights.clone().or_else(|| {
        if options.pipeline.is_some() || synthetic {
            None
        } else {
            recorded_file(provenance.weights.as_ref())
        }
    });
    if let Some(weights) = weights {
        overrides.push(("embed.weights".to_owned(), path_value(&weights)));
    }
    let tokenizer: Option<PathBuf> = options.tokenizer.clone().or_else(|| {
        if options.pipeline.is_some() {
            None
        } else {
            recorded_file(provenance.tokenizer.as_ref())
        }
    });
    if let Some(tokenizer) = tokenizer {
        overrides.push(("embed.tokenizer".to_owned(), path_value(&tokenizer)));
    }
    overrides
}

/// The record's weights or tokenizer set aside: in the recorded sections, a file the training
/// pipeline named relative to itself is no longer where that path points, so it is found by
/// the overrides (the recorded file) or by the embed stage's own search.
fn clear_recorded_files(provenance: &Provenance) -> Provenance {
    let mut cleared = provenance.clone();
    if cleared.embed.weights.as_deref() != Some(SYNTHETIC_WEIGHTS) {
        cleared.embed.weights = None;
    }
    cleared.embed.tokenizer = None;
    cleared
}

/// A pipeline given with `--pipeline` whose settings differ from the record: names each.
fn refuse_other_settings(
    provenance: &Provenance,
    pipeline: &Pipeline,
    file: &Path,
) -> anyhow::Result<()> {
    let recorded = serde_json::json!({
        "dataset": provenance.dataset,
        "preprocess": provenance.preprocess,
        "embed": provenance.embed,
    });
    let given = serde_json::json!({
        "dataset": crate::dataset::read(pipeline).ok().flatten(),
        "preprocess": pipeline
            .section::<PreprocessConfig>(PreprocessStage::NAME)
            .ok()
            .flatten()
            .unwrap_or_default(),
        "embed": pipeline.section::<EmbedConfig>(EmbedStage::NAME).ok().flatten(),
    });
    let differences: Vec<String> = EMBEDDING_SETTINGS
        .iter()
        .filter_map(|(section, key)| {
            let model = &recorded[section][key];
            let other = &given[section][key];
            (model != other).then(|| {
                format!(
                    "`{section}.{key}` is {} for the model but {} in {}",
                    show(model),
                    show(other),
                    file.display()
                )
            })
        })
        .collect();
    anyhow::ensure!(
        differences.is_empty(),
        "refusing to predict: {} would embed the inputs differently from the model's training embeddings: {}",
        file.display(),
        differences.join("; ")
    );
    Ok(())
}

fn show(value: &Value) -> String {
    match value {
        Value::Null => "unset".to_owned(),
        other => other.to_string(),
    }
}

/// Refuses the `weights` or `tokenizer` file at `path` when its SHA-256 is not the recorded
/// one, naming both digests and both files.
fn refuse_other_digest(
    what: &str,
    recorded: &RecordedFile,
    path: &Path,
    sha256: &str,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        sha256 == recorded.sha256,
        "refusing to predict: the {what} file {} has SHA-256 {sha256}, but the model's training embeddings were made with {what} of SHA-256 {} ({}); pass that file with --{what}",
        path.display(),
        recorded.sha256,
        recorded.path.display()
    );
    Ok(())
}

/// A pipeline that could not be read or built: from `--pipeline`, or the model's record.
fn config_error(file: &Path, options: &RawOptions, errors: ConfigErrors) -> anyhow::Error {
    let lines: Vec<String> = errors.errors.iter().map(ToString::to_string).collect();
    let whose = match options.pipeline {
        Some(_) => format!("pipeline {}", file.display()),
        None => {
            "the model's recorded [dataset], [preprocess] and [embed] sections (provenance.json)"
                .to_owned()
        }
    };
    anyhow!(
        "{whose} cannot embed these inputs:\n  {}",
        lines.join("\n  ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provenance(root: &Path) -> Provenance {
        Provenance {
            format_version: 1,
            pipeline: "clinic".to_owned(),
            dataset: toml::from_str(&format!(
                "root = \"{}\"\nmanifest = \"old.csv\"\nmodality = \"image\"\ninput_column = \"id\"\ninput_template = \"img/{{}}.png\"\nlabel_transform = \"log\"",
                root.display()
            ))
            .unwrap(),
            preprocess: toml::from_str(
                "shard_rows = 7\n[image]\ntransforms = [{ resize = [48, 40] }, { center_crop = 32 }, { normalize = { mean = [0.5], std = [0.25] } }]",
            )
            .unwrap(),
            embed: toml::from_str(
                "backbone = \"efficientnet_lite0\"\nweights = \"synthetic\"\nbatch_size = 3",
            )
            .unwrap(),
            weights: None,
            tokenizer: None,
            embedding_dim: 1280,
            explain_top_k: 5,
        }
    }

    /// The sections written as a pipeline file read back as recorded, but for the new data's
    /// root and manifest.
    #[test]
    fn the_recorded_sections_read_back_as_recorded() {
        let tmp = tempfile::tempdir().unwrap();
        let recorded = provenance(&tmp.path().join("old"));
        let file = tmp.path().join("clinic.toml");
        std::fs::write(&file, recorded_pipeline(&recorded).unwrap()).unwrap();
        let new_root = tmp.path().join("new");
        std::fs::create_dir_all(&new_root).unwrap();
        let overrides = overrides(&recorded, &RawOptions::default(), &new_root, "new.csv");
        let pipeline = Pipeline::load_with(&file, crate::STAGES, &overrides).unwrap();
        let dataset = crate::dataset::read(&pipeline).unwrap().unwrap();
        assert_eq!(
            dataset,
            DatasetConfig {
                root: new_root.canonicalize().unwrap(),
                manifest: "new.csv".into(),
                ..recorded.dataset.clone()
            }
        );
        let preprocess: PreprocessConfig = pipeline.section("preprocess").unwrap().unwrap();
        assert_eq!(preprocess, recorded.preprocess);
        let embed: EmbedConfig = pipeline.section("embed").unwrap().unwrap();
        assert_eq!(embed, recorded.embed);
    }

    #[test]
    fn a_file_of_another_digest_is_refused_naming_both_digests_and_files() {
        let recorded = RecordedFile {
            path: "/models/tokenizer.json".into(),
            sha256: "a".repeat(64),
        };
        let error = refuse_other_digest(
            "tokenizer",
            &recorded,
            Path::new("/new/tokenizer.json"),
            &"b".repeat(64),
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            error,
            format!(
                "refusing to predict: the tokenizer file /new/tokenizer.json has SHA-256 {}, but the model's training embeddings were made with tokenizer of SHA-256 {} (/models/tokenizer.json); pass that file with --tokenizer",
                "b".repeat(64),
                "a".repeat(64)
            )
        );
        refuse_other_digest("tokenizer", &recorded, Path::new("/x"), &"a".repeat(64)).unwrap();
    }
}
