//! Report stage for nona: Table 1 (mean ± sd over seeds), Friedman / Nemenyi / paired
//! statistics, PNG plots and the assembled `report.md`.
//!
//! Everything takes plain Rust data and returns strings or writes PNG files; reading run
//! directories and Parquet is the caller's job.

pub mod analysis;
mod error;
pub mod markdown;
pub mod pca;
pub mod plots;
pub mod stats;
pub mod table;
mod text;

pub use error::ReportError;
