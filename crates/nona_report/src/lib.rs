//! Report stage for nona: Table 1 (mean ± sd over seeds), Friedman / Nemenyi / paired
//! statistics, embedding-geometry diagnostics ([`geometry`]), how well the predictions'
//! uncertainty tracks their error ([`uncertainty`]), the neighbours behind a few predictions
//! ([`evidence`]), PNG plots and the assembled
//! `report.md`.
//!
//! Everything takes plain Rust data and returns strings or writes PNG files; reading run
//! directories and Parquet is the caller's job.
//!
//! ```
//! use nona_report::analysis::Analysis;
//! use nona_report::markdown::{Backbone, DataSource, DatasetRun, RunDescription, Weights, render_report};
//! use nona_report::table::{MseRecord, ResultsTable};
//!
//! let mut records = Vec::new();
//! for (dataset, offset) in [("RSNA", 0.0), ("Udacity", -3.0), ("Books", 2.0)] {
//!     for seed in 0..3 {
//!         let s = seed as f64 * 0.1;
//!         records.push(MseRecord::new(dataset, "Dense", seed, 5.1 + offset + s));
//!         records.push(MseRecord::new(dataset, "NONA", seed, 4.1 + offset + s * s));
//!         records.push(MseRecord::new(dataset, "NONA + k-NN", seed, 4.0 + offset - s));
//!     }
//! }
//! let table = ResultsTable::from_records(&records)?;
//! let analysis = Analysis::compute(&table, &records, &[("NONA", "Dense")]);
//! let run = RunDescription {
//!     title: "Example".into(),
//!     datasets: ["RSNA", "Udacity", "Books"]
//!         .map(|name| DatasetRun {
//!             name: name.into(),
//!             data: DataSource::Real,
//!             backbone: Backbone { name: "ResNet-18".into(), weights: Weights::Random, substitutes_for: None },
//!         })
//!         .to_vec(),
//!     seeds: vec![0, 1, 2],
//!     grid: vec![],
//!     missing: vec![],
//! };
//! let report = render_report(&run, &table, &analysis, &[]);
//! assert!(report.starts_with("> **Warning")); // random weights are called out first
//! assert!(report.contains("| RSNA | 5.20 ± 0.100 |"));
//! # Ok::<(), nona_report::ReportError>(())
//! ```

pub mod analysis;
mod error;
pub mod evidence;
pub mod geometry;
pub mod markdown;
pub mod pca;
pub mod plots;
pub mod stats;
pub mod table;
mod text;
pub mod uncertainty;

pub use error::ReportError;
