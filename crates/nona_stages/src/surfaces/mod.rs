//! The `surfaces` stage: the NONA paper's Fig. 3 without any data. Points drawn uniformly on
//! `[−1, 1]²` get a target (linear, radial, pyramid, spiral or checkerboard) plus Gaussian
//! noise; linear regression, the tuned k-NN baseline, NONA and NONA+SoftStep are fitted on the
//! paper's splits and compared on the test split.
//!
//! One work unit is one (surface, seed), surface-major, so a run resumes and shards like every
//! stage. Each unit writes:
//! * `metrics/`: one row per method (split sizes, test MSE × 10³ on min-max scaled labels and
//!   in original units, NONA's epochs, k-NN's chosen k, p and weighting);
//! * `predictions/`: every point of every split with each method's prediction (training-split
//!   predictions are in-sample: NONA's bank and k-NN's neighbours include the point itself);
//! * `plots/<surface>-seed<k>.png`: the noise-free target next to each method's learned surface
//!   on one colour scale, titles with the test MSE.
//!
//! Once every unit is done, the stage's `finish` writes `summary.md`: mean ± sd per surface ×
//! method. Units run concurrently (`threads`), each on a one-thread pool: the
//! networks are tiny, so one unit per core beats several cores per unit.

mod compute;
mod config;
mod output;
mod tables;

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

use anyhow::{Context, anyhow};
use arrow::datatypes::SchemaRef;
use nona_pipeline::config::{ConfigError, Pipeline};
use nona_pipeline::run_dir::write_atomic;
use nona_pipeline::{Plan, Stage, StageContext, StageRun, UnitOutput};
use nona_train::Surface;
use serde_json::json;

pub use config::{Method, NonaSettings, SurfacesConfig};
pub use output::{PLOTS_DIR, SUMMARY_FILE, plot_name};

use tables::MetricRow;

/// The surfaces stage.
pub struct SurfacesStage {
    config: SurfacesConfig,
    seeds: Vec<u64>,
}

/// A run of the surfaces stage.
pub struct SurfacesRun<'s> {
    stage: &'s SurfacesStage,
    /// Metrics of the units this process finished, for the summary.
    finished: Mutex<BTreeMap<usize, Vec<MetricRow>>>,
}

impl SurfacesStage {
    fn units(&self) -> usize {
        self.config.surfaces.len() * self.seeds.len()
    }

    /// The surface and seed of `unit`.
    fn unit(&self, unit: usize) -> Option<(Surface, u64)> {
        let surface = *self.config.surfaces.get(unit / self.seeds.len())?;
        Some((surface, self.seeds[unit % self.seeds.len()]))
    }
}

impl SurfacesRun<'_> {
    /// Writes `summary.md` from the metrics of every unit: those finished in this process from
    /// memory, the others from their parts.
    fn write_summary(
        &self,
        ctx: &StageContext,
        finished: &BTreeMap<usize, Vec<MetricRow>>,
    ) -> anyhow::Result<()> {
        let stage = self.stage;
        let mut rows = Vec::new();
        for unit in 0..stage.units() {
            match finished.get(&unit) {
                Some(unit_rows) => rows.extend(unit_rows.iter().cloned()),
                None => rows.extend(tables::read_metrics(
                    &ctx.dir.part(stage.main_table(), unit),
                )?),
            }
        }
        let text = output::summary(&ctx.pipeline.name, &stage.config, &rows)?;
        let path = ctx.dir.path().join(SUMMARY_FILE);
        write_atomic(&path, text.as_bytes())
            .with_context(|| format!("writing {}", path.display()))?;
        output::remove_plot_temporaries(ctx.dir.path());
        Ok(())
    }
}

impl Stage for SurfacesStage {
    const NAME: &'static str = "surfaces";

    /// 2: the k-NN baseline's CV folds are shuffled with the unit's seed by default
    /// (`[surfaces.knn] shuffle`); version 1 cut them in table order.
    /// 3: NONA is evaluated in fixed-size chunks of rows (`nona_train`), which changes its
    /// validation MSE (hence early stopping) and predictions in their last bits.
    const VERSION: u32 = 3;

    const GENERATES_DATA: bool = true;

    type Config = SurfacesConfig;
    type Run<'s> = SurfacesRun<'s>;

    fn build(config: SurfacesConfig, pipeline: &Pipeline) -> Result<Self, Vec<ConfigError>> {
        let errors = config.check(pipeline);
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Self {
            seeds: config.seed_values(),
            config,
        })
    }

    fn fingerprint(&self) -> anyhow::Result<serde_json::Value> {
        Ok(json!({ "surfaces": serde_json::to_value(&self.config)? }))
    }

    fn main_table(&self) -> Option<&'static str> {
        Some("metrics")
    }

    fn tables(&self) -> Vec<(&'static str, SchemaRef)> {
        vec![("predictions", nona_table::schemas::surfaces_predictions())]
    }

    fn concurrent_units(&self) -> usize {
        self.config
            .threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
    }

    fn load<'s>(&'s self, _ctx: &StageContext) -> anyhow::Result<SurfacesRun<'s>> {
        Ok(SurfacesRun {
            stage: self,
            finished: Mutex::new(BTreeMap::new()),
        })
    }
}

impl StageRun for SurfacesRun<'_> {
    fn schema(&self) -> SchemaRef {
        nona_table::schemas::surfaces_metrics()
    }

    fn metadata(&self) -> nona_table::Metadata {
        let mut metadata = nona_table::Metadata::new();
        metadata.insert(
            "nona.surfaces".to_owned(),
            serde_json::to_string(&self.stage.config).unwrap_or_default(),
        );
        metadata
    }

    fn plan(&self) -> Plan {
        Plan {
            unit_items: vec![self.stage.config.methods.len() as u64; self.stage.units()],
        }
    }

    fn run_unit(&self, ctx: &StageContext, unit: usize) -> anyhow::Result<UnitOutput> {
        let stage = self.stage;
        let (surface, seed) = stage
            .unit(unit)
            .ok_or_else(|| anyhow!("the stage has no unit {unit}"))?;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .context("starting a unit's thread pool")?;
        let result = pool.install(|| {
            compute::run_unit(&stage.config, surface, seed, || ctx.progress.advance(1))
        })?;
        output::write_plot(ctx.dir.path(), &stage.config, &result)?;
        let metrics: Vec<MetricRow> = result.methods.iter().map(|m| m.metrics.clone()).collect();
        let mut out = UnitOutput {
            rows: vec![tables::metrics_batch(&metrics)?],
            errors: result.errors.clone(),
            ..UnitOutput::default()
        };
        out.tables.insert(
            "predictions",
            vec![tables::predictions_batch(&result.prediction_rows())?],
        );

        self.finished
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(unit, metrics);
        Ok(out)
    }

    fn finish(&self, ctx: &StageContext) -> anyhow::Result<()> {
        let finished = self.finished.lock().unwrap_or_else(PoisonError::into_inner);
        self.write_summary(ctx, &finished)
    }
}
