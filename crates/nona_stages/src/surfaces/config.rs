//! The `[surfaces]` section and its checks.

use std::fmt;

use nona_heads::SoftStepKind;
use nona_pipeline::config::{ConfigError, Pipeline};
use nona_train::{CellConfig, ModelConfig, OptimConfig, Seeds, SplitConfig, Surface};
use serde::{Deserialize, Serialize};

use crate::common::flat_section;

/// Fewest points a surface may have: enough for the splits and the k-NN folds.
pub const MIN_POINTS: usize = 40;

/// Largest grid resolution of the PNGs (cells per side).
pub const MAX_PLOT_RESOLUTION: usize = 600;

/// The `[surfaces]` section.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SurfacesConfig {
    /// Target functions (`linear`, `radial`, `pyramid`, `spiral`, `checkerboard`).
    #[serde(default = "default_surfaces")]
    pub surfaces: Vec<Surface>,
    /// Points drawn uniformly on `[−1, 1]²` per surface and seed.
    #[serde(default = "default_points")]
    pub points: usize,
    /// Standard deviation of the Gaussian noise added to the targets.
    #[serde(default = "default_noise")]
    pub noise: f64,
    /// Seeds: a count `n` (seeds `0..n`) or a list. A seed draws the points, the split, the
    /// initialisation and the batch order.
    #[serde(default = "default_seeds")]
    pub seeds: Seeds,
    /// Methods compared, in table and plot order.
    #[serde(default = "default_methods")]
    pub methods: Vec<Method>,
    /// Split fractions and stratification (the paper's 80/20 and 85/15 by default).
    #[serde(default)]
    pub split: SplitConfig,
    /// Grid cells per side of each PNG panel.
    #[serde(default = "default_plot_resolution")]
    pub plot_resolution: usize,
    /// Units (surface × seed) run at once in this process (default: the number of cores).
    /// Not part of the fingerprint: it does not change the results.
    #[serde(default, skip_serializing)]
    pub threads: Option<usize>,
    /// The k-NN baseline's grid (`[surfaces.knn]`): by default the reference code's grid, 4 folds
    /// cut from the training points shuffled with the unit's seed.
    #[serde(default)]
    pub knn: nona_knn::GridConfig,
    /// The NONA heads' settings (`[surfaces.nona]`), shared by `nona` and `nona_softstep`.
    #[serde(default)]
    pub nona: NonaSettings,
}

fn default_surfaces() -> Vec<Surface> {
    vec![
        Surface::Linear,
        Surface::Radial,
        Surface::Spiral,
        Surface::Checkerboard,
    ]
}
fn default_points() -> usize {
    2000
}
fn default_noise() -> f64 {
    0.05
}
fn default_seeds() -> Seeds {
    Seeds::Count(3)
}
fn default_methods() -> Vec<Method> {
    Method::ALL.to_vec()
}
fn default_plot_resolution() -> usize {
    150
}

/// A regression method of the comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Ordinary least squares on `(x₁, x₂)`.
    Linear,
    /// The paper's tuned k-NN baseline on `(x₁, x₂)`.
    Knn,
    /// Projector + NONA head without SoftStep.
    Nona,
    /// Projector + NONA head with the configured SoftStep mask.
    NonaSoftstep,
}

impl Method {
    /// All methods, in the paper's Fig. 3 order.
    pub const ALL: [Method; 4] = [Self::Linear, Self::Knn, Self::Nona, Self::NonaSoftstep];

    /// Name in pipeline files and tables.
    pub fn name(self) -> &'static str {
        match self {
            Self::Linear => "linear",
            Self::Knn => "knn",
            Self::Nona => "nona",
            Self::NonaSoftstep => "nona_softstep",
        }
    }

    /// Name in plots and reports.
    pub fn title(self) -> &'static str {
        match self {
            Self::Linear => "linear",
            Self::Knn => "k-NN",
            Self::Nona => "NONA",
            Self::NonaSoftstep => "NONA+SoftStep",
        }
    }

    /// The method named `name` in a table.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == name)
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `[surfaces.nona]`: the NONA heads' settings as `nona_train` types, read from one flat table of
/// their keys: the [`ModelConfig`] keys but `head` (always NONA) and `clip` (always on), and every
/// [`OptimConfig`] key. `model.softstep` is the mask of `nona_softstep` (`nona` always uses none).
///
/// Defaults differ from the embedding-table defaults: 2-d inputs want a deeper projector, larger
/// batches (more in-batch neighbours) and a larger learning rate (see the README's
/// "Synthetic surfaces" section for the sweep behind them).
///
/// Read as a [`FlatSection`](crate::common::FlatSection): `#[serde(flatten)]` would lose the "did
/// you mean" of a mistyped key and the line of a wrong value.
#[derive(Debug, Clone, PartialEq)]
pub struct NonaSettings {
    /// Projector and head.
    pub model: ModelConfig,
    /// Optimisation.
    pub optim: OptimConfig,
}

impl Default for NonaSettings {
    fn default() -> Self {
        Self {
            model: ModelConfig {
                softstep: SoftStepKind::S2,
                hidden: vec![64, 64],
                ..ModelConfig::default()
            },
            optim: OptimConfig {
                lr: 1e-2,
                batch_size: 128,
                ..OptimConfig::default()
            },
        }
    }
}

impl NonaSettings {
    /// The training configuration of `method` (a NONA method) for `seed`.
    pub fn cell(&self, method: Method, seed: u64) -> CellConfig {
        let softstep = match method {
            Method::NonaSoftstep => self.model.softstep,
            _ => SoftStepKind::None,
        };
        CellConfig {
            model: ModelConfig {
                softstep,
                ..self.model.clone()
            },
            optim: self.optim.clone(),
            seed,
        }
    }
}

flat_section!(NonaSettings {
    "similarity" => name(model.similarity),
    "softstep" => name(model.softstep),
    "params" => name(model.params),
    "hidden" => value(model.hidden),
    "embedding_dim" => value(model.embedding_dim),
    "lr" => value(optim.lr),
    "weight_decay" => value(optim.weight_decay),
    "batch_size" => value(optim.batch_size),
    "max_epochs" => value(optim.max_epochs),
    "patience" => value(optim.patience),
    "start_after_epoch" => value(optim.start_after_epoch),
});

impl SurfacesConfig {
    /// The seeds in unit order.
    pub fn seed_values(&self) -> Vec<u64> {
        self.seeds.values()
    }

    /// Every problem with the section's values, each at the key that set it.
    pub fn check(&self, pipeline: &Pipeline) -> Vec<ConfigError> {
        let at =
            |key: &str, message: String| pipeline.error_at(&format!("surfaces.{key}"), message);
        let mut errors = Vec::new();
        if self.surfaces.is_empty() {
            errors.push(at("surfaces", "`surfaces` lists no surface".into()));
        }
        if let Some(repeated) = first_repeat(&self.surfaces) {
            errors.push(at(
                "surfaces",
                format!("surface `{repeated}` is listed twice"),
            ));
        }
        if self.methods.is_empty() {
            errors.push(at("methods", "`methods` lists no method".into()));
        }
        if let Some(repeated) = first_repeat(&self.methods) {
            errors.push(at(
                "methods",
                format!("method `{repeated}` is listed twice"),
            ));
        }
        if self.points < MIN_POINTS {
            errors.push(at(
                "points",
                format!(
                    "`points` must be at least {MIN_POINTS}, got {}",
                    self.points
                ),
            ));
        }
        if !(self.noise.is_finite() && self.noise >= 0.0) {
            errors.push(at(
                "noise",
                format!("`noise` must be a finite sd ≥ 0, got {}", self.noise),
            ));
        }
        let seeds = self.seed_values();
        if seeds.is_empty() {
            errors.push(at("seeds", "`seeds` gives no seed".into()));
        }
        if let Some(repeated) = first_repeat(&seeds) {
            errors.push(at("seeds", format!("seed {repeated} is listed twice")));
        }
        if !(2..=MAX_PLOT_RESOLUTION).contains(&self.plot_resolution) {
            errors.push(at(
                "plot_resolution",
                format!(
                    "`plot_resolution` must be between 2 and {MAX_PLOT_RESOLUTION}, got {}",
                    self.plot_resolution
                ),
            ));
        }
        if self.threads == Some(0) {
            errors.push(at("threads", "`threads` must be at least 1".into()));
        }
        for (key, value) in [
            ("test_fraction", self.split.test_fraction),
            ("validation_fraction", self.split.validation_fraction),
        ] {
            if !(value > 0.0 && value < 1.0) {
                errors.push(at(
                    &format!("split.{key}"),
                    format!("`{key}` must be between 0 and 1 (exclusive), got {value}"),
                ));
            }
        }
        if self.split.bins == 0 {
            errors.push(at("split.bins", "`bins` must be at least 1".into()));
        }
        if let Err(error) = self.knn.grid_spec(0).and_then(|spec| spec.points()) {
            errors.push(at("knn", error.to_string()));
        }
        if self.methods.contains(&Method::Knn)
            && let Some(error) = seeds.iter().find_map(|&s| self.knn.grid_spec(s).err())
        {
            errors.push(at(
                "seeds",
                format!("{error}; use smaller seeds or `[surfaces.knn] shuffle = false`"),
            ));
        }
        if self.knn.n_neighbors.contains(&0) {
            errors.push(at(
                "knn.n_neighbors",
                "`n_neighbors` must be positive".into(),
            ));
        }
        if self.knn.folds < 2 {
            errors.push(at(
                "knn.folds",
                format!("`folds` must be at least 2, got {}", self.knn.folds),
            ));
        }
        if self.methods.contains(&Method::NonaSoftstep)
            && self.nona.model.softstep == SoftStepKind::None
        {
            errors.push(at(
                "nona.softstep",
                "`softstep` is the mask of `nona_softstep`: use s1 or s2 (plain `nona` is the method without one)".into(),
            ));
        }
        if let Err(error) = self.nona.cell(Method::NonaSoftstep, 0).validate() {
            errors.push(at("nona", error.to_string()));
        }
        errors
    }
}

fn first_repeat<T: PartialEq + Copy>(values: &[T]) -> Option<T> {
    values
        .iter()
        .enumerate()
        .find(|(i, v)| values[..*i].contains(v))
        .map(|(_, v)| *v)
}

#[cfg(test)]
mod tests {
    use nona_heads::Similarity;

    use super::*;

    #[test]
    fn defaults_cover_the_papers_comparison() {
        let config: SurfacesConfig = toml::from_str("").unwrap();
        assert_eq!(config.methods, Method::ALL);
        assert_eq!(config.surfaces.len(), 4);
        assert_eq!(config.seed_values(), vec![0, 1, 2]);
        let cell = config.nona.cell(Method::Nona, 7);
        assert_eq!(cell.model.softstep, SoftStepKind::None);
        assert_eq!(cell.seed, 7);
        let cell = config.nona.cell(Method::NonaSoftstep, 7);
        assert_eq!(cell.model.softstep, SoftStepKind::S2);
        assert!(cell.validate().is_ok());
    }

    #[test]
    fn names_round_trip() {
        let text = r#"
            methods = ["nona_softstep", "linear"]
            seeds = [4, 2]
            [nona]
            similarity = "cos"
            softstep = "s1"
            params = "global"
        "#;
        let config: SurfacesConfig = toml::from_str(text).unwrap();
        assert_eq!(config.methods, [Method::NonaSoftstep, Method::Linear]);
        assert_eq!(config.seed_values(), vec![4, 2]);
        assert_eq!(config.nona.model.similarity, Similarity::Cos);
        let json = serde_json::to_value(&config).unwrap();
        assert_eq!(json["nona"]["softstep"], "s1");
        assert_eq!(json["methods"][0], "nona_softstep");
        assert!(
            json.get("threads").is_none(),
            "threads is not fingerprinted"
        );
        for method in Method::ALL {
            assert_eq!(Method::from_name(method.name()), Some(method));
        }
    }

    #[test]
    fn cosine_names_the_cos_similarity() {
        let config: SurfacesConfig = toml::from_str("[nona]\nsimilarity = \"cosine\"").unwrap();
        assert_eq!(config.nona.model.similarity, Similarity::Cos);
    }

    #[test]
    fn knn_folds_are_shuffled_with_the_unit_seed_unless_turned_off() {
        let config: SurfacesConfig = toml::from_str("").unwrap();
        assert_eq!(
            config.knn.grid_spec(4).unwrap().fold_order,
            nona_knn::FoldOrder::Shuffled { seed: 4 }
        );
        assert!(config.knn.grid_spec(1 << 32).is_err());
        let config: SurfacesConfig = toml::from_str("[knn]\nshuffle = false").unwrap();
        assert_eq!(
            config.knn.grid_spec(1 << 32).unwrap().fold_order,
            nona_knn::FoldOrder::Table
        );
    }

    #[test]
    fn repeats_are_found() {
        assert_eq!(first_repeat(&[1, 2, 1]), Some(1));
        assert_eq!(first_repeat(&[1, 2, 3]), None);
    }
}
