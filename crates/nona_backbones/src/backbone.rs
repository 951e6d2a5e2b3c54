//! The [`Backbone`] trait every model implements, and the inputs it reads: what a backbone
//! expects ([`InputSpec`], [`InputKind`]) and a batch of it ([`BackboneInput`]). Which models
//! exist and how each is built is the [registry](crate::registry)'s business.

use candle_core::Tensor;

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
        /// The shortest clip (in samples) that gives at least one output frame.
        min_samples: usize,
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

/// The kind of input a registered backbone reads, known without building it (so that a pipeline
/// can be checked before any weights are loaded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    /// Images ([`InputSpec::Image`]).
    Image,
    /// Tokenised text ([`InputSpec::Text`]).
    Text,
    /// Mono audio ([`InputSpec::Audio`]).
    Audio,
}

impl InputKind {
    /// `image`, `text` or `audio`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Image => "image",
            Self::Text => "text",
            Self::Audio => "audio",
        }
    }
}
