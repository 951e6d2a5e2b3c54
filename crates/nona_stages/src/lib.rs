//! The built-in stages of nona, and the registry the CLI hands to the engine.
//!
//! Each stage lives in its own module, owns its `[section]` config type, and implements
//! [`nona_pipeline::Stage`]. Adding a stage is a module here plus one line in [`STAGES`] and
//! one in `CONSTRUCTORS`.

mod common;
mod dataset;
mod embed;
mod embedding_table;
pub mod knn;
pub mod predict;
mod preprocess;
pub mod report;
pub mod surfaces;
pub mod train;

use nona_pipeline::Stage;
use nona_pipeline::config::{ConfigError, ConfigErrors, Pipeline};

pub use common::OnError;
pub use embedding_table::{EmbeddingColumns, EmbeddingTable};

/// Stage section names, in execution (dependency) order.
pub const STAGES: &[&str] = &["preprocess", "embed", "train", "knn", "report", "surfaces"];

/// Reads a stage's section: `Ok(None)` when the pipeline does not declare it.
type Constructor = fn(&Pipeline) -> Result<Option<Box<dyn Stage>>, Vec<ConfigError>>;

/// One constructor per stage, in [`STAGES`] order.
const CONSTRUCTORS: &[Constructor] = &[
    |p| boxed(preprocess::PreprocessStage::from_pipeline(p)),
    |p| boxed(embed::EmbedStage::from_pipeline(p)),
    |p| boxed(train::TrainStage::from_pipeline(p)),
    |p| boxed(knn::KnnStage::from_pipeline(p)),
    |p| boxed(report::ReportStage::from_pipeline(p)),
    |p| boxed(surfaces::SurfacesStage::from_pipeline(p)),
];

fn boxed<S: Stage + 'static>(
    built: Result<Option<S>, Vec<ConfigError>>,
) -> Result<Option<Box<dyn Stage>>, Vec<ConfigError>> {
    built.map(|stage| stage.map(|s| Box::new(s) as Box<dyn Stage>))
}

/// Builds the stages `pipeline` declares, checking each section (keys, types, values, files).
/// All problems are reported together.
pub fn build(pipeline: &Pipeline) -> Result<Vec<Box<dyn Stage>>, ConfigErrors> {
    // `[dataset]` is shared by the stages that read samples: a mistake in it is reported once.
    dataset::read(pipeline)?;
    let mut stages: Vec<Box<dyn Stage>> = Vec::new();
    let mut errors = Vec::new();
    for construct in CONSTRUCTORS {
        match construct(pipeline) {
            Ok(Some(stage)) => stages.push(stage),
            Ok(None) => {}
            Err(mut found) => errors.append(&mut found),
        }
    }
    for stage in &stages {
        for dep in stage.depends_on() {
            if !pipeline.has_stage(dep) {
                errors.push(pipeline.error_at(
                    stage.name(),
                    format!("stage `{}` needs a `[{dep}]` section", stage.name()),
                ));
            }
        }
    }
    if errors.is_empty() {
        Ok(stages)
    } else {
        Err(ConfigErrors { errors })
    }
}
