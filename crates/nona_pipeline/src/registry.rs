//! The list of stages a program offers, and building those a pipeline declares.
//!
//! A registry is a slice of [`StageEntry`]s in execution (dependency) order, one per stage type:
//! `&[StageEntry::of::<PreprocessStage>(), StageEntry::of::<EmbedStage>(), …]`. Each stage's
//! name is its [`Stage::NAME`]; the list of section names ([`stage_names`]), reading each
//! section and building the stage ([`build`]) all derive from the registry.

use crate::config::{ConfigError, ConfigErrors, Pipeline};
use crate::stage::{DynStage, Erased, Stage};

/// Reads a stage's section and builds it: `Ok(None)` when the pipeline does not declare it.
type Build = fn(&Pipeline) -> Result<Option<Box<dyn DynStage>>, Vec<ConfigError>>;

/// One stage type of a registry.
#[derive(Clone, Copy)]
pub struct StageEntry {
    /// The stage's [`Stage::NAME`].
    pub name: &'static str,
    build: Build,
}

impl StageEntry {
    /// The entry of stage `S`.
    pub const fn of<S: Stage>() -> Self {
        Self {
            name: S::NAME,
            build: build_one::<S>,
        }
    }
}

fn build_one<S: Stage>(pipeline: &Pipeline) -> Result<Option<Box<dyn DynStage>>, Vec<ConfigError>> {
    Ok(S::from_pipeline(pipeline)?.map(|stage| Box::new(Erased(stage)) as Box<dyn DynStage>))
}

/// The section names of `registry`, in its order; `N` is `registry.len()` (for a `const`).
pub const fn stage_names<const N: usize>(registry: &[StageEntry]) -> [&'static str; N] {
    let mut names = [""; N];
    let mut index = 0;
    while index < N {
        names[index] = registry[index].name;
        index += 1;
    }
    names
}

/// Builds the stages of `registry` that `pipeline` declares, in registry order, checking each
/// section (keys, types, values, files) and that every stage's inputs are declared too. All
/// problems are reported together.
pub fn build(
    registry: &[StageEntry],
    pipeline: &Pipeline,
) -> Result<Vec<Box<dyn DynStage>>, ConfigErrors> {
    let mut stages = Vec::new();
    let mut errors = Vec::new();
    for entry in registry {
        match (entry.build)(pipeline) {
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
