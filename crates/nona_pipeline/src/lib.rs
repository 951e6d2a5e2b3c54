//! The nona pipeline engine.
//!
//! It knows pipeline files ([`config`]), the run directory layout ([`run_dir`]), fingerprints
//! for caching ([`fingerprint`]), per-stage locks ([`lock`]), the check that a table is not mixed
//! ([`integrity`]), work sharding ([`shard`]), progress reporting ([`progress`]), the stages a
//! program offers ([`registry`]) and how to drive any [`Stage`] through them ([`engine`]). It
//! knows no modality or model: stages are implemented elsewhere and handed to the engine.
//!
//! A stage is declared by implementing [`Stage`] (name, inputs, version, typed config, checks,
//! fingerprint, tables) and loaded into a [`StageRun`] (plan, units, finish); the engine drives
//! both through [`DynStage`].

pub mod config;
pub mod engine;
pub mod fingerprint;
pub mod integrity;
pub mod lock;
pub mod progress;
pub mod registry;
pub mod run_dir;
pub mod shard;
mod stage;

pub use stage::{DynStage, Plan, RowError, Stage, StageContext, StageRun, UnitOutput};
