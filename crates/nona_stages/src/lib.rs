//! The built-in stages of nona, and the registry the CLI hands to the engine.
//!
//! Each stage lives in its own module, owns its `[section]` config type, and implements
//! [`nona_pipeline::Stage`]. Adding a stage is a module here plus one line in [`STAGES`] and
//! [`build`].

mod common;
mod embed;
mod preprocess;

use nona_pipeline::Stage;
use nona_pipeline::config::{ConfigErrors, Pipeline};

pub use common::OnError;

/// Stage section names, in execution (dependency) order.
pub const STAGES: &[&str] = &["preprocess", "embed"];

/// Builds the stages `pipeline` declares, checking each section (keys, types, values, files).
/// All problems are reported together.
pub fn build(pipeline: &Pipeline) -> Result<Vec<Box<dyn Stage>>, ConfigErrors> {
    let mut stages: Vec<Box<dyn Stage>> = Vec::new();
    let mut errors = Vec::new();
    match preprocess::PreprocessStage::from_pipeline(pipeline) {
        Ok(Some(stage)) => stages.push(Box::new(stage)),
        Ok(None) => {}
        Err(mut found) => errors.append(&mut found),
    }
    match embed::EmbedStage::from_pipeline(pipeline) {
        Ok(Some(stage)) => stages.push(Box::new(stage)),
        Ok(None) => {}
        Err(mut found) => errors.append(&mut found),
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
