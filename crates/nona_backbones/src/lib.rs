//! Pretrained backbones (CNNs, transformers, audio encoders) behind one trait, with weights resolution.
//!
//! A backbone is picked by name from the [registry](crate::registry::REGISTRY) (image CNNs, BERT
//! family text encoders, the Whisper encoder and HuBERT for audio), its weights are found by
//! [`weights::WeightsLocator`] (local file, Hugging Face cache, download), its pooling may be
//! chosen per pipeline ([`BuildOptions`]) and it maps a batch of inputs to pooled `(B, d)`
//! embeddings:
//!
//! ```no_run
//! use nona_backbones::{BackboneInput, DeviceKind, WeightsLocator, load_backbone};
//! # fn main() -> nona_backbones::Result<()> {
//! let device = DeviceKind::Cpu.device()?;
//! let loaded = load_backbone("resnet18", &device, &WeightsLocator::from_env())?;
//! let images = candle_core::Tensor::zeros((2, 3, 224, 224), candle_core::DType::F32, &device)?;
//! let pooled = loaded.backbone.embed(&BackboneInput::Images(images))?; // (2, 512)
//! # let _ = (pooled, loaded.weights.sha256);
//! # Ok(()) }
//! ```
//!
//! # Layout
//! Dependencies inside the crate point one way: the models ([`vision`], [`text`], [`audio`])
//! implement the [`Backbone`] trait of [`backbone`] and read their parameters from [`weights`]
//! (file formats, CTranslate2 included, and where files are found); [`registry`] names and builds
//! the models. Nothing points back: no model imports the registry, and no weights reader imports
//! a model.

pub mod audio;
pub mod backbone;
mod dense;
mod device;
mod error;
pub mod registry;
pub mod text;
pub mod vision;
pub mod weights;

pub use backbone::{Backbone, BackboneInput, InputKind, InputSpec};
pub use device::DeviceKind;
pub use error::{Error, Result};
pub use registry::{
    BuildOptions, LoadedBackbone, PoolingOption, backbone_names, backbone_names_for,
    build_backbone, build_backbone_with, load_backbone,
};
pub use weights::{
    ResolvedTokenizer, ResolvedWeights, TokenizerFormat, TokenizerSpec, WeightsLocator, WeightsSpec,
};
