//! Grids of cells: the cartesian product of model and batch settings over seeds.
//!
//! **Order.** Cells are enumerated with the axes nested in this order (outermost first): head,
//! similarity, softstep, params, batch size, embedding dimension, seed; each axis in the order
//! it is listed in the spec. The index of a cell is its position in that enumeration, so it is
//! stable as long as the spec is unchanged.
//!
//! **De-duplication.** Axes that do not apply are not expanded: dense cells take only batch
//! size, embedding dimension and seed (one dense cell per such combination), and NONA cells with
//! `softstep = none` ignore `params` (their `params` is the first listed value). Repeated values
//! within an axis are rejected.

use nona_heads::{Similarity, SoftStepKind, SoftStepParams};
use serde::{Deserialize, Serialize};

use crate::config::{CellConfig, HeadKind, ModelConfig, OptimConfig};
use crate::error::{Result, TrainError};

/// Seeds of a grid: a count `n` (seeds `0..n`) or an explicit list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Seeds {
    /// Seeds `0, 1, …, n − 1`.
    Count(u64),
    /// These seeds, in this order.
    List(Vec<u64>),
}

impl Default for Seeds {
    fn default() -> Self {
        Self::Count(10)
    }
}

impl Seeds {
    /// The seeds in grid order.
    pub fn values(&self) -> Vec<u64> {
        match self {
            Self::Count(count) => (0..*count).collect(),
            Self::List(seeds) => seeds.clone(),
        }
    }
}

/// A grid over heads and NONA settings. Defaults: both heads with the paper's chosen NONA
/// settings (−L2, S2, pointwise), batch 32, embedding dimension 25, 10 seeds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GridSpec {
    /// Heads to train.
    pub heads: Vec<HeadKind>,
    /// NONA similarities.
    #[serde(with = "crate::names::list")]
    pub similarities: Vec<Similarity>,
    /// NONA SoftStep functions.
    #[serde(with = "crate::names::list")]
    pub softsteps: Vec<SoftStepKind>,
    /// SoftStep parameter modes.
    #[serde(with = "crate::names::list")]
    pub params: Vec<SoftStepParams>,
    /// Training batch sizes.
    pub batch_sizes: Vec<usize>,
    /// Embedding dimensions.
    pub embedding_dims: Vec<usize>,
    /// Seeds (the same seed means the same initialisation and batch order).
    pub seeds: Seeds,
    /// Projector hidden widths, shared by all cells.
    pub hidden: Vec<usize>,
    /// Optimisation settings shared by all cells (their batch size is replaced per cell).
    pub optim: OptimConfig,
    /// Heads whose evaluation predictions are clipped to `[0, 1]` (the scaled label range)
    /// before the validation and test MSE. Default: NONA only, as the authors' reference code
    /// (`models.py`, `NONA.forward`); NONA's predictions are weighted means of training labels,
    /// so clipping them changes nothing but rounding.
    pub clip: Vec<HeadKind>,
}

impl Default for GridSpec {
    fn default() -> Self {
        let model = ModelConfig::default();
        Self {
            heads: HeadKind::ALL.to_vec(),
            similarities: vec![model.similarity],
            softsteps: vec![model.softstep],
            params: vec![model.params],
            batch_sizes: vec![32],
            embedding_dims: vec![model.embedding_dim],
            seeds: Seeds::default(),
            hidden: model.hidden,
            optim: OptimConfig::default(),
            clip: vec![HeadKind::Nona],
        }
    }
}

/// The expanded cells of a [`GridSpec`].
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    cells: Vec<CellConfig>,
}

impl Grid {
    /// Expands `spec` (see the module docs for order and de-duplication); errors on an empty or
    /// repeated axis value and on invalid cell settings.
    pub fn new(spec: &GridSpec) -> Result<Self> {
        let seeds = spec.seeds.values();
        check_axis("heads", &spec.heads)?;
        check_axis("seeds", &seeds)?;
        check_axis("batch_sizes", &spec.batch_sizes)?;
        check_axis("embedding_dims", &spec.embedding_dims)?;
        let mut cells = Vec::new();
        for &head in &spec.heads {
            for model in head_models(spec, head)? {
                for &batch_size in &spec.batch_sizes {
                    for &embedding_dim in &spec.embedding_dims {
                        for &seed in &seeds {
                            let cell = CellConfig {
                                model: ModelConfig {
                                    embedding_dim,
                                    ..model.clone()
                                },
                                optim: OptimConfig {
                                    batch_size,
                                    ..spec.optim.clone()
                                },
                                seed,
                            };
                            cell.validate()?;
                            cells.push(cell);
                        }
                    }
                }
            }
        }
        Ok(Self { cells })
    }

    /// Number of cells.
    pub fn len(&self) -> usize {
        self.cells.len()
    }

    /// Whether the grid has no cells (never, for a grid built by [`Grid::new`]).
    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    /// Cell `index`, if it exists.
    pub fn cell(&self, index: usize) -> Option<&CellConfig> {
        self.cells.get(index)
    }

    /// All cells in index order.
    pub fn cells(&self) -> &[CellConfig] {
        &self.cells
    }
}

/// The distinct model settings of one head (without embedding dimension).
fn head_models(spec: &GridSpec, head: HeadKind) -> Result<Vec<ModelConfig>> {
    let base = ModelConfig {
        head,
        hidden: spec.hidden.clone(),
        clip: spec.clip.contains(&head),
        ..ModelConfig::default()
    };
    if head == HeadKind::Dense {
        return Ok(vec![base]);
    }
    check_axis("similarities", &spec.similarities)?;
    check_axis("softsteps", &spec.softsteps)?;
    check_axis("params", &spec.params)?;
    let mut models = Vec::new();
    for &similarity in &spec.similarities {
        for &softstep in &spec.softsteps {
            let params: &[SoftStepParams] = if softstep == SoftStepKind::None {
                &spec.params[..1]
            } else {
                &spec.params
            };
            for &params in params {
                models.push(ModelConfig {
                    similarity,
                    softstep,
                    params,
                    ..base.clone()
                });
            }
        }
    }
    Ok(models)
}

fn check_axis<T: PartialEq + std::fmt::Debug>(name: &str, values: &[T]) -> Result<()> {
    if values.is_empty() {
        return Err(TrainError::Config(format!("grid axis `{name}` is empty")));
    }
    for (i, value) in values.iter().enumerate() {
        if values[..i].contains(value) {
            return Err(TrainError::Config(format!(
                "grid axis `{name}` lists {value:?} twice"
            )));
        }
    }
    Ok(())
}
