//! The NONA paper's training protocol on top of `nona_heads`.
//!
//! * [`splits`]: 80/20 development/test and 85/15 train/validation, stratified on label quantile
//!   bins, optionally keeping groups whole; deterministic for a seed.
//! * [`trainer`]: one cell (projector + dense or NONA head) trained with MSE and Adam, early
//!   stopping on validation MSE with the best checkpoint restored; predictions, embeddings,
//!   curves and metrics ([`TrainedCell`]).
//! * [`model`]: the trained model saved as safetensors + JSON and reloaded for prediction.
//! * [`grid`]: a [`GridSpec`] over heads, similarities, SoftStep settings, batch sizes,
//!   embedding dimensions and seeds, expanded into indexed cells.
//! * [`synthetic`] and [`linear`]: the paper's Fig. 3 surfaces and an ordinary least squares
//!   baseline.
//!
//! Nothing here reads or writes tables: the pipeline stage feeds row-major `f32` features and
//! `f64` labels. Everything runs on the CPU in f32; the same seed gives the same result.

pub mod config;
pub mod error;
pub mod grid;
pub mod linear;
pub mod metrics;
pub mod model;
pub mod names;
pub mod splits;
pub mod synthetic;
pub mod trainer;

pub use config::{CellConfig, HeadKind, ModelConfig, OptimConfig};
pub use error::{Result, TrainError};
pub use grid::{Grid, GridSpec, Seeds};
pub use linear::LinearRegression;
pub use metrics::SplitMetrics;
pub use model::{ModelDescription, Predictions, TrainedModel};
pub use splits::{SplitConfig, Splits, gather, gather_rows, split, split_grouped};
pub use synthetic::{Surface, SurfaceSamples, sample_surface};
pub use trainer::{
    CellSummary, EpochRecord, SplitData, SplitResult, TrainData, TrainedCell, Trainer, train_cell,
};
