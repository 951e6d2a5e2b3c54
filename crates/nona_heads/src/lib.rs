//! Projector, dense and NONA (SoftStep) regression heads in candle.
//!
//! The pieces follow `shared/papers/README.md` (NONA paper + SoftStep follow-up):
//!
//! * [`Projector`]: `[BatchNorm1d → Linear → Tanh]` per layer, input → hidden sizes → embedding dim.
//! * [`DenseHead`]: `Linear(d, 1)`, the baseline regression head.
//! * [`NonaHead`]: `ŷ = softmax_rows(Sim(Z, Z_N) + log SoftStep(sim_norm)) · y_N`; during training the
//!   batch is its own neighbour set with the diagonal masked to −∞.
//! * [`Evidence`]: what a weighted-vote prediction rests on (top neighbours, weight mass,
//!   entropy, weighted label spread), from [`NonaHead::explain`] at prediction time.
//! * [`FusedProjector`]: the projector's training step (forward, backward, Adam) written out on
//!   flat vectors for the CPU, which is what training runs; the candle [`Projector`] is its
//!   reference and does evaluation.
//! * [`Adam`] (PyTorch semantics, coupled L2 weight decay), [`EarlyStopping`], [`VarSnapshot`] and
//!   [`MinMaxScaler`] for the training loop.
//!
//! All numerics stay finite in the forward and the backward pass (see the module docs of
//! [`similarity`] and [`softstep`] for where that needs care).

pub mod dense;
pub mod early_stopping;
pub mod error;
pub mod evidence;
pub mod fused_projector;
pub mod linear;
mod matmul;
pub mod nona;
pub mod optim;
mod pairwise_distance;
pub mod projector;
pub mod scaling;
pub mod similarity;
pub mod softstep;

pub use dense::DenseHead;
pub use early_stopping::{EarlyStopping, EarlyStoppingConfig, VarSnapshot};
pub use error::{HeadsError, ParseNameError, Result};
pub use evidence::{Evidence, Neighbour};
pub use fused_projector::FusedProjector;
pub use nona::{MIN_TRAIN_BATCH, NonaConfig, NonaHead};
pub use optim::{Adam, AdamConfig, AdamMoments};
pub use projector::{Projector, ProjectorConfig};
pub use scaling::{MinMaxScaler, clip_unit};
pub use similarity::Similarity;
pub use softstep::{SoftStep, SoftStepKind, SoftStepParams};
