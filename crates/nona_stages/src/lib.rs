//! The built-in stages of nona, and the registry the CLI hands to the engine.
//!
//! Each stage lives in its own module, owns its `[section]` config type, and implements
//! [`nona_pipeline::Stage`]; [`REGISTRY`] lists them.

mod common;
mod dataset;
mod embed;
mod embedding_table;
mod explanation_rows;
pub mod geometry;
pub mod knn;
mod modality;
pub mod predict;
mod preprocess;
pub mod report;
pub mod surfaces;
pub mod train;
mod train_sources;

use nona_pipeline::DynStage;
use nona_pipeline::config::{ConfigErrors, Pipeline};
use nona_pipeline::registry::{self, StageEntry};

pub use common::OnError;
pub use embedding_table::{EmbeddingColumns, EmbeddingTable};

/// Every stage nona offers, in execution (dependency) order.
///
/// To add a stage: write a module with a type implementing [`nona_pipeline::Stage`] (its
/// `NAME` is the `[section]` and directory name, its `Config` the section's type, `build` the
/// checks serde cannot make, `load` the [`nona_pipeline::StageRun`] that plans and runs the
/// units), then add one line here, after the stages it depends on. Nothing else names it:
/// [`STAGES`] and [`build`] derive from this list. `tests/toy_stage.rs` does exactly this.
pub const REGISTRY: &[StageEntry] = &[
    StageEntry::of::<preprocess::PreprocessStage>(),
    StageEntry::of::<embed::EmbedStage>(),
    StageEntry::of::<train::TrainStage>(),
    StageEntry::of::<knn::KnnStage>(),
    StageEntry::of::<geometry::GeometryStage>(),
    StageEntry::of::<report::ReportStage>(),
    StageEntry::of::<surfaces::SurfacesStage>(),
];

/// Stage section names, in execution (dependency) order.
pub const STAGES: &[&str] = &registry::stage_names::<{ REGISTRY.len() }>(REGISTRY);

/// Builds the stages `pipeline` declares, checking each section (keys, types, values, files).
/// All problems are reported together.
pub fn build(pipeline: &Pipeline) -> Result<Vec<Box<dyn DynStage>>, ConfigErrors> {
    // `[dataset]` is shared by the stages that read samples: a mistake in it is reported once.
    dataset::read(pipeline)?;
    registry::build(REGISTRY, pipeline)
}
