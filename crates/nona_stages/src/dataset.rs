//! The `[dataset]` section, shared by the stages that read samples: read through
//! [`Pipeline::section`] like a stage's own, then its paths resolved.

use std::path::PathBuf;

use nona_datasets::DatasetConfig;
use nona_pipeline::config::{ConfigError, Pipeline, expand_env};

/// The `[dataset]` section, if the pipeline has one: `root` with `${VAR}`/`${VAR:-default}`
/// expanded and made relative to the pipeline file that sets it, `manifest` with variables
/// expanded. Mistakes are reported at the line that made them.
pub(crate) fn read(pipeline: &Pipeline) -> Result<Option<DatasetConfig>, ConfigError> {
    let Some(mut dataset) = pipeline.section::<DatasetConfig>("dataset")? else {
        return Ok(None);
    };
    dataset.root = pipeline.resolve_path("dataset.root", &dataset.root);
    dataset.manifest = PathBuf::from(expand_env(&dataset.manifest.to_string_lossy()));
    Ok(Some(dataset))
}

/// The `[dataset]` section, or an error saying that stage `stage` needs one.
pub(crate) fn require(pipeline: &Pipeline, stage: &str) -> Result<DatasetConfig, ConfigError> {
    read(pipeline)?.ok_or_else(|| {
        let file = pipeline.files().last().unwrap_or(&pipeline.file);
        ConfigError::at_file(
            file,
            format!(
                "stage `{stage}` reads samples, so the pipeline needs a `[dataset]` table (root, manifest, modality, columns)"
            ),
        )
    })
}
