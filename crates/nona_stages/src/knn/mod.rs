//! The `knn` stage: the paper's tuned k-NN baseline (scikit-learn-exact, `nona_knn`) on the
//! backbone embeddings of every seed and on the trained heads' embeddings of every cell (the
//! "+ k-NN" columns of Table 1).
//!
//! It reuses the `train` stage's splits: for each seed, k-NN is fitted (standardisation, grid
//! search with K-fold CV, refit) on the training split and predicts the test split. One work
//! unit per source: the backbone table for each seed, then each trained cell.
//! Besides `predictions/` and `metrics/`, `explanations/` (unless `explain = false`) holds the
//! tuned k neighbours of every test prediction with their normalised weights.
//!
//! The CV folds are cut, by default, from the training rows shuffled as scikit-learn's
//! `KFold(folds, shuffle=True, random_state=seed)` shuffles them, with the unit's seed: the split
//! seed for the backbone embeddings, the cell's seed for a cell's head embeddings. Both list a
//! seed's training rows in the embeddings table's order, so every cell of a seed gets the folds
//! of that seed's backbone unit; without the shuffle an ordered table (consecutive frames, rows
//! sorted by label) gets contiguous folds. `shuffle = false` keeps table order
//! (`GridSearchCV(cv=folds)`).

mod tables;

use anyhow::Context;
use arrow::datatypes::SchemaRef;
use nona_heads::MinMaxScaler;
use nona_knn::{FoldOrder, KnnBaseline, Matrix};
use nona_pipeline::config::{ConfigError, Pipeline};
use nona_pipeline::{Plan, Stage, StageContext, StageRun, UnitOutput};
use serde_json::json;

use crate::common::flat_section;
use crate::train::{TrainConfig, TrainStage};
use crate::train_sources::{SourceKey, TrainSources};

pub use crate::train_sources::{SOURCE_BACKBONE, SOURCE_HEAD};

/// The `[knn]` section: the grid (its neighbour counts under the key `k`) and what it runs on.
/// Read as a [`FlatSection`](crate::common::FlatSection).
#[derive(Debug, Clone, PartialEq)]
pub struct KnnConfig {
    /// The grid searched by K-fold CV (scikit-learn's `KFold`) in every unit.
    pub grid: nona_knn::GridConfig,
    /// Run k-NN on the backbone embeddings (one unit per seed).
    pub backbone: bool,
    /// Run k-NN on every trained cell's head embeddings.
    pub heads: bool,
    /// Write `explanations/`: the tuned k neighbours of every test prediction.
    pub explain: bool,
}

impl Default for KnnConfig {
    fn default() -> Self {
        Self {
            grid: nona_knn::GridConfig::default(),
            backbone: true,
            heads: true,
            explain: true,
        }
    }
}

impl KnnConfig {
    /// The grid with table-order folds (a unit sets its own order, see [`Self::fold_order`]).
    fn grid(&self) -> Result<nona_knn::GridSpec, String> {
        let grid = nona_knn::GridSpec {
            n_neighbors: self.grid.n_neighbors.clone(),
            p: self.grid.p.clone(),
            weights: self.grid.weights.clone(),
            folds: self.grid.folds,
            fold_order: FoldOrder::Table,
        };
        grid.points().map_err(|e| e.to_string())?;
        if self.grid.n_neighbors.contains(&0) {
            return Err("`k` values must be at least 1".into());
        }
        if self.grid.folds < 2 {
            return Err("`folds` must be at least 2".into());
        }
        Ok(grid)
    }

    /// The fold order of a unit with `seed`.
    fn fold_order(&self, seed: u64) -> Result<FoldOrder, nona_knn::KnnError> {
        self.grid.fold_order(seed)
    }
}

flat_section!(KnnConfig {
    "k" => value(grid.n_neighbors),
    "p" => value(grid.p),
    "weights" => value(grid.weights),
    "folds" => value(grid.folds),
    "shuffle" => value(grid.shuffle),
    "backbone" => value(backbone),
    "heads" => value(heads),
    "explain" => value(explain),
});

/// The k-NN stage.
pub struct KnnStage {
    config: KnnConfig,
    grid: nona_knn::GridSpec,
}

/// The k-NN stage with the train stage's splits and embeddings read.
pub struct KnnRun<'s> {
    stage: &'s KnnStage,
    sources: TrainSources,
}

impl Stage for KnnStage {
    const NAME: &'static str = "knn";

    /// 2: the CV folds are shuffled with the unit's seed by default (`shuffle`); version 1 cut
    /// them in table order. 3: a new table, `explanations/` (each test prediction's neighbours
    /// and weights); the other tables are unchanged.
    const VERSION: u32 = 3;

    type Config = KnnConfig;
    type Run<'s> = KnnRun<'s>;

    fn build(config: KnnConfig, pipeline: &Pipeline) -> Result<Self, Vec<ConfigError>> {
        let grid = config
            .grid()
            .map_err(|message| vec![pipeline.error_at(Self::NAME, message)])?;
        if !config.backbone && !config.heads {
            return Err(vec![pipeline.error_at(
                "knn",
                "`backbone` and `heads` are both false: nothing to run",
            )]);
        }
        // Train's own errors are reported by the train stage.
        if let Ok(Some(train)) = pipeline.section::<TrainConfig>(TrainStage::NAME)
            && let Some(error) = train
                .grid
                .seeds
                .values()
                .into_iter()
                .find_map(|seed| config.fold_order(seed).err())
        {
            return Err(vec![pipeline.error_at(
                "train.grid.seeds",
                format!("{error}; use smaller seeds or `[knn] shuffle = false`"),
            )]);
        }
        Ok(Self { config, grid })
    }

    fn depends_on(&self) -> &'static [&'static str] {
        &[TrainStage::NAME]
    }

    fn fingerprint(&self) -> anyhow::Result<serde_json::Value> {
        Ok(json!({ "knn": self.config }))
    }

    fn main_table(&self) -> Option<&'static str> {
        Some("predictions")
    }

    fn tables(&self) -> Vec<(&'static str, SchemaRef)> {
        let mut tables = vec![("metrics", nona_table::schemas::knn_metrics())];
        if self.config.explain {
            tables.push(("explanations", nona_table::schemas::knn_explanations()));
        }
        tables
    }

    fn load<'s>(&'s self, ctx: &StageContext) -> anyhow::Result<KnnRun<'s>> {
        let sources = TrainSources::read(
            ctx.input(TrainStage::NAME),
            self.config.backbone,
            self.config.heads,
        )?;
        Ok(KnnRun {
            stage: self,
            sources,
        })
    }
}

impl StageRun for KnnRun<'_> {
    fn schema(&self) -> SchemaRef {
        nona_table::schemas::knn_predictions()
    }

    fn metadata(&self) -> nona_table::Metadata {
        self.sources.metadata("nona.knn_grid", &self.stage.config)
    }

    fn plan(&self) -> Plan {
        self.sources.plan()
    }

    fn run_unit(&self, ctx: &StageContext, unit: usize) -> anyhow::Result<UnitOutput> {
        let config = &self.stage.config;
        let (source, rows) = self.sources.unit(unit)?;
        let (train, test) = (rows.split("train"), rows.split("test"));
        let matrix = |indices: &[usize]| -> anyhow::Result<Matrix> {
            let values = nona_train::gather_rows(&rows.features, rows.dim, indices);
            Ok(Matrix::from_f32(&values, indices.len(), rows.dim)?)
        };
        let y_train = nona_train::gather(&rows.labels, &train);
        let y_test = nona_train::gather(&rows.labels, &test);
        let describe = source.describe();
        let grid = nona_knn::GridSpec {
            fold_order: config
                .fold_order(rows.seed)
                .with_context(|| format!("k-NN folds of the {describe}"))?,
            ..self.stage.grid.clone()
        };
        let model = KnnBaseline::fit(&matrix(&train)?, &y_train, &grid)
            .with_context(|| format!("fitting k-NN on the {describe}"))?;
        let predicted = model
            .predict(&matrix(&test)?)
            .with_context(|| format!("predicting with k-NN on the {describe}"))?;
        let scaler = MinMaxScaler::fit(&y_train)?;
        let label = SourceKey {
            source,
            seed: rows.seed,
            head: rows.head.as_deref(),
        };
        let test_ids: Vec<&str> = test.iter().map(|&i| rows.ids[i].as_str()).collect();
        let predictions =
            tables::predictions_batch(&label, &test_ids, &y_test, &predicted, &scaler)?;
        let metrics =
            tables::metrics_batch(&label, &model, train.len(), &y_test, &predicted, &scaler)?;
        let mut output = UnitOutput {
            rows: vec![predictions],
            ..UnitOutput::default()
        };
        output.tables.insert("metrics", vec![metrics]);
        if config.explain {
            let neighbours = model
                .kneighbors(&matrix(&test)?)
                .with_context(|| format!("neighbours of the k-NN on the {describe}"))?;
            let train_rows = tables::TrainRows {
                ids: train.iter().map(|&i| rows.ids[i].as_str()).collect(),
                labels: y_train,
            };
            let explanations = tables::explanations_batch(
                &label,
                &model,
                &test_ids,
                &y_test,
                &neighbours,
                &train_rows,
            )?;
            output.tables.insert("explanations", vec![explanations]);
        }
        ctx.progress.advance(1);
        Ok(output)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pipeline(text: &str) -> (tempfile::TempDir, Pipeline) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.toml");
        std::fs::write(&path, text).unwrap();
        let pipeline = Pipeline::load(&path, crate::STAGES).unwrap();
        (dir, pipeline)
    }

    #[test]
    fn folds_are_shuffled_by_default_and_the_choice_is_fingerprinted() {
        let (_dir, shuffled) = pipeline("[train]\n[knn]\n");
        let (_dir, in_order) = pipeline("[train]\n[knn]\nshuffle = false\n");
        let shuffled = KnnStage::from_pipeline(&shuffled).unwrap().unwrap();
        let in_order = KnnStage::from_pipeline(&in_order).unwrap().unwrap();
        assert_eq!(
            shuffled.config.fold_order(7).unwrap(),
            FoldOrder::Shuffled { seed: 7 }
        );
        assert_eq!(in_order.config.fold_order(7).unwrap(), FoldOrder::Table);
        assert_ne!(
            shuffled.fingerprint().unwrap(),
            in_order.fingerprint().unwrap()
        );
    }

    #[test]
    fn seeds_numpy_cannot_take_are_a_config_error_unless_folds_keep_table_order() {
        let text = "[train.grid]\nseeds = [1, 4294967296]\n[knn]\n";
        let (_dir, too_large) = pipeline(text);
        let errors = KnnStage::from_pipeline(&too_large).err().expect("refused");
        let message = errors[0].to_string();
        assert!(message.contains("4294967296"), "{message}");
        assert!(message.contains("p.toml:2:"), "{message}");
        assert!(message.contains("shuffle = false"), "{message}");
        let (_dir, in_order) = pipeline(&format!("{text}shuffle = false\n"));
        assert!(KnnStage::from_pipeline(&in_order).unwrap().is_some());
    }
}
