//! The nona pipeline engine.
//!
//! It knows pipeline files ([`config`]), the run directory layout ([`run_dir`]), fingerprints
//! for caching ([`fingerprint`]), per-stage locks ([`lock`]), the check that a table is not mixed
//! ([`integrity`]), work sharding ([`shard`]), progress reporting ([`progress`]) and how to drive
//! any [`Stage`] through them ([`engine`]). It knows no modality or model: stages are
//! implemented elsewhere and handed to the engine.

pub mod config;
pub mod engine;
pub mod fingerprint;
pub mod integrity;
pub mod lock;
pub mod progress;
pub mod run_dir;
pub mod shard;
mod stage;

pub use stage::{Plan, RowError, Stage, StageContext, UnitOutput};
