//! The `geometry` stage: the embedding-geometry diagnostics of `nona_report::geometry` (TwoNN
//! intrinsic dimension, participation ratio, label smoothness, hubness, each beside its
//! randomised control) for every embedding source the `train` stage offers, on the training
//! split: the backbone embeddings of each seed and the head embeddings of each trained cell.
//!
//! One work unit per source, as in the `knn` stage (the same [`TrainSources`]): sources are
//! independent, a cell's head embeddings differ from every other's, and a unit is the
//! diagnostics' natural grain (one row of the table), so a crashed run resumes per source.
//!
//! The estimators cost about 2·n²·d per source, so a training split of more than `max_rows`
//! rows is subsampled: the rows kept are the first `max_rows` of NumPy's
//! `RandomState(seed).permutation(n)`, in table order (reproducible in NumPy); the table
//! records the rows available (`train_rows`) and used (`rows`). The controls are drawn with the
//! same `seed`.

use std::sync::Arc;

use anyhow::Context;
use arrow::array::{ArrayRef, Float64Array, Int64Array};
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use nona_pipeline::config::{ConfigError, Pipeline};
use nona_pipeline::{Plan, Stage, StageContext, StageRun, UnitOutput};
use nona_report::geometry::{GeometryDiagnostics, GeometryEstimates, HUBNESS_NEIGHBOURS, Points};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::train::TrainStage;
use crate::train_sources::{SourceKey, TrainSources};

/// The `[geometry]` section.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct GeometryConfig {
    /// Most training rows per source; above it a seeded subsample of this size is used.
    pub max_rows: usize,
    /// Neighbourhood size of the hubness (the k-occurrence's k).
    pub k: usize,
    /// Seed of the subsample and of the controls (NumPy's `RandomState` takes 32 bits).
    pub seed: u64,
}

impl Default for GeometryConfig {
    fn default() -> Self {
        Self {
            max_rows: 5000,
            k: HUBNESS_NEIGHBOURS,
            seed: 0,
        }
    }
}

/// The geometry stage.
pub struct GeometryStage {
    config: GeometryConfig,
}

/// The geometry stage with the train stage's sources read.
pub struct GeometryRun<'s> {
    stage: &'s GeometryStage,
    sources: TrainSources,
}

/// Indices of the rows the diagnostics use out of `n`: all of them when `n ≤ max_rows`, else
/// the first `max_rows` of NumPy's `RandomState(seed).permutation(n)`, ascending.
pub fn subsample(n: usize, max_rows: usize, seed: u32) -> Vec<usize> {
    if n <= max_rows {
        return (0..n).collect();
    }
    let mut kept = nona_knn::numpy_random::RandomState::new(seed).permutation(n);
    kept.truncate(max_rows);
    kept.sort_unstable();
    kept
}

/// The diagnostics of `features` (row-major, `dim` wide) with `labels`, hubness with `k`
/// neighbours.
pub fn diagnostics(
    features: &[f32],
    dim: usize,
    labels: &[f64],
    k: usize,
    seed: u64,
) -> anyhow::Result<GeometryDiagnostics> {
    let rows: Vec<&[f32]> = features.chunks(dim).collect();
    let points = Points::from_rows(&rows)?;
    Ok(GeometryDiagnostics::compute(&points, labels, k, seed)?)
}

impl Stage for GeometryStage {
    const NAME: &'static str = "geometry";

    const VERSION: u32 = 1;

    type Config = GeometryConfig;
    type Run<'s> = GeometryRun<'s>;

    fn build(config: GeometryConfig, pipeline: &Pipeline) -> Result<Self, Vec<ConfigError>> {
        let mut errors = Vec::new();
        let mut check = |ok: bool, key: &str, message: &str| {
            if !ok {
                errors.push(pipeline.error_at(&format!("{}.{key}", Self::NAME), message));
            }
        };
        check(
            config.max_rows >= 3,
            "max_rows",
            "`max_rows` must be at least 3 (TwoNN needs three rows)",
        );
        check(config.k >= 1, "k", "`k` must be at least 1");
        check(
            u32::try_from(config.seed).is_ok(),
            "seed",
            "`seed` must be below 2^32 (NumPy's RandomState seed)",
        );
        if errors.is_empty() {
            Ok(Self { config })
        } else {
            Err(errors)
        }
    }

    fn depends_on(&self) -> &'static [&'static str] {
        &[TrainStage::NAME]
    }

    fn fingerprint(&self) -> anyhow::Result<serde_json::Value> {
        Ok(json!({ "geometry": self.config }))
    }

    fn load<'s>(&'s self, ctx: &StageContext) -> anyhow::Result<GeometryRun<'s>> {
        let sources = TrainSources::read(ctx.input(TrainStage::NAME), true, true)?;
        Ok(GeometryRun {
            stage: self,
            sources,
        })
    }
}

impl StageRun for GeometryRun<'_> {
    fn schema(&self) -> SchemaRef {
        nona_table::schemas::geometry()
    }

    fn metadata(&self) -> nona_table::Metadata {
        self.sources.metadata("nona.geometry", &self.stage.config)
    }

    fn plan(&self) -> Plan {
        self.sources.plan()
    }

    fn run_unit(&self, ctx: &StageContext, unit: usize) -> anyhow::Result<UnitOutput> {
        let config = &self.stage.config;
        let (source, rows) = self.sources.unit(unit)?;
        let train = rows.split("train");
        let seed = u32::try_from(config.seed)?;
        let kept: Vec<usize> = subsample(train.len(), config.max_rows, seed)
            .into_iter()
            .map(|i| train[i])
            .collect();
        let features = nona_train::gather_rows(&rows.features, rows.dim, &kept);
        let labels = nona_train::gather(&rows.labels, &kept);
        let geometry = diagnostics(&features, rows.dim, &labels, config.k, config.seed)
            .with_context(|| format!("geometry of the {} (training split)", source.describe()))?;
        let key = SourceKey {
            source,
            seed: rows.seed,
            head: rows.head.as_deref(),
        };
        let int = |value: usize| -> ArrayRef { Arc::new(Int64Array::from(vec![value as i64])) };
        let mut columns = key.columns(1);
        columns.extend([
            int(train.len()),
            int(geometry.rows),
            int(geometry.distinct_rows),
            int(geometry.columns),
        ]);
        for estimates in [&geometry.observed, &geometry.control] {
            columns.extend(
                estimate_values(estimates)
                    .map(|value| Arc::new(Float64Array::from(vec![value])) as ArrayRef),
            );
        }
        let batch = RecordBatch::try_new(nona_table::schemas::geometry(), columns)?;
        ctx.progress.advance(1);
        Ok(UnitOutput {
            rows: vec![batch],
            ..UnitOutput::default()
        })
    }
}

/// The six numbers of one set of estimates, in the table's column order.
fn estimate_values(estimates: &GeometryEstimates) -> [f64; 6] {
    let smoothness = &estimates.label_smoothness;
    [
        estimates.intrinsic_dimension,
        estimates.participation_ratio,
        smoothness.nearest_neighbour_gap,
        smoothness.random_pair_gap,
        smoothness.ratio,
        estimates.hubness,
    ]
}

#[cfg(test)]
mod tests {
    use nona_report::geometry::hubness;

    use super::*;

    #[test]
    fn a_large_split_is_subsampled_as_numpy_permutes_and_a_small_one_is_kept_whole() {
        // numpy.random.RandomState(0).permutation(10) = [2, 8, 4, 9, 1, 6, 7, 3, 0, 5].
        assert_eq!(subsample(10, 4, 0), [2, 4, 8, 9]);
        assert_eq!(subsample(10, 10, 0), (0..10).collect::<Vec<_>>());
        assert_ne!(subsample(100, 10, 1), subsample(100, 10, 2));
    }

    #[test]
    fn hubness_uses_the_configured_neighbourhood_size() {
        let dim = 3;
        let features: Vec<f32> = (0..90)
            .map(|i| ((i * 37 % 23) as f32 * 0.3).sin() + (i % 7) as f32 * 0.1)
            .collect();
        let labels: Vec<f64> = (0..30).map(|i| f64::from(i % 5)).collect();
        let rows: Vec<&[f32]> = features.chunks(dim).collect();
        let points = Points::from_rows(&rows).unwrap();
        let default = diagnostics(&features, dim, &labels, HUBNESS_NEIGHBOURS, 4).unwrap();
        assert_eq!(
            default,
            GeometryDiagnostics::compute(&points, &labels, HUBNESS_NEIGHBOURS, 4).unwrap()
        );
        let five = diagnostics(&features, dim, &labels, 5, 4).unwrap();
        assert_eq!(five.observed.hubness, hubness(&points, 5));
        assert_eq!(
            five.control.hubness,
            hubness(&points.feature_permuted(4), 5)
        );
        assert_ne!(five.observed.hubness, default.observed.hubness);
        assert_eq!(
            five.observed.intrinsic_dimension,
            default.observed.intrinsic_dimension
        );
    }

    #[test]
    fn the_section_is_optional_and_its_values_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let load = |text: &str| {
            let path = dir.path().join("p.toml");
            std::fs::write(&path, text).unwrap();
            let pipeline = Pipeline::load(&path, crate::STAGES).unwrap();
            GeometryStage::from_pipeline(&pipeline).map(|stage| stage.map(|s| s.config))
        };
        assert_eq!(load("[train]\n").unwrap(), None);
        assert_eq!(
            load("[train]\n[geometry]\n").unwrap(),
            Some(GeometryConfig::default())
        );
        let errors = load("[train]\n[geometry]\nmax_rows = 2\nk = 0\nseed = 4294967296\n")
            .expect_err("refused");
        let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(messages.len(), 3, "{messages:?}");
        for key in ["max_rows", "`k`", "seed"] {
            assert!(
                messages.iter().any(|m| m.contains(key)),
                "{key}: {messages:?}"
            );
        }
    }
}
