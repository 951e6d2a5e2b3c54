//! BERT-family text encoders: BERT, DistilBERT and MiniLM (BERT layout), post-LayerNorm
//! transformers reading Hugging Face parameter names; on the CPU with the fused kernels of
//! `nona_kernels` and no work on padding, elsewhere with candle ops.
//!
//! Input: [`BackboneInput::Tokens`](crate::BackboneInput::Tokens) with `(B, L)` `u32`/`i64` ids
//! and a Hugging Face attention mask (1 = real token, 0 = padding); tokenise with `nona_text`.
//! [`TextEncoder::last_hidden_state`] gives `(B, L, d)`; [`Backbone::embed`] pools it per
//! [`Pooling`].
//!
//! Registered ([`crate::registry::REGISTRY`]):
//! - `bert_base`: bert-base-uncased (12 layers, d = 768), `[CLS]` pooling, max 512 tokens;
//! - `distilbert_base`: distilbert-base-uncased (6 layers, d = 768), `[CLS]` pooling, max 512;
//! - `minilm_l6`: sentence-transformers all-MiniLM-L6-v2 (6 layers, d = 384), masked mean pooling
//!   + L2 normalisation as the model ships, max 256 tokens (its sentence-transformers setting).
//!
//! Other poolings: [`build_text_backbone`].

mod bert;

use candle_core::{D, DType, Tensor};
use candle_nn::VarBuilder;

use crate::backbone::{Backbone, BackboneInput, InputSpec};
use crate::{Error, Result};

use bert::Positions;
pub use bert::{EncoderConfig, Layout};

/// How a `(B, L, d)` last hidden state becomes one `(B, d)` embedding per text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolingMode {
    /// The first token's (`[CLS]`) hidden state, as the BERT and DistilBERT papers do.
    Cls,
    /// Mean over real tokens (attention mask 1), as sentence-transformers does.
    Mean,
}

/// A [`PoolingMode`] with optional L2 normalisation of the result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pooling {
    /// Which tokens are pooled.
    pub mode: PoolingMode,
    /// Divide each embedding by its L2 norm.
    pub normalize: bool,
}

impl Pooling {
    /// `[CLS]` hidden state, not normalised.
    pub const CLS: Self = Self {
        mode: PoolingMode::Cls,
        normalize: false,
    };
    /// Masked mean, not normalised.
    pub const MEAN: Self = Self {
        mode: PoolingMode::Mean,
        normalize: false,
    };
    /// Masked mean, L2-normalised (sentence-transformers models such as all-MiniLM-L6-v2).
    pub const MEAN_NORMALIZED: Self = Self {
        mode: PoolingMode::Mean,
        normalize: true,
    };

    /// Pools a last hidden state `(B, L, d)` with its attention mask `(B, L)` (1 = token).
    pub fn pool(&self, hidden: &Tensor, attention_mask: &Tensor) -> Result<Tensor> {
        let pooled = match self.mode {
            PoolingMode::Cls => hidden.narrow(1, 0, 1)?.squeeze(1)?,
            PoolingMode::Mean => {
                let mask = attention_mask.to_dtype(hidden.dtype())?.unsqueeze(2)?;
                let sum = hidden.broadcast_mul(&mask)?.sum(1)?;
                let count = mask.sum(1)?.clamp(1e-9, f64::MAX)?;
                sum.broadcast_div(&count)?
            }
        };
        if self.normalize {
            let norm = pooled
                .sqr()?
                .sum_keepdim(D::Minus1)?
                .sqrt()?
                .clamp(1e-12, f64::MAX)?;
            Ok(pooled.broadcast_div(&norm)?)
        } else {
            Ok(pooled)
        }
    }
}

/// A BERT-family encoder with a pooling: the [`Backbone`] of `bert_base`, `distilbert_base`,
/// `minilm_l6` and of any [`EncoderConfig`].
pub struct TextEncoder {
    id: String,
    encoder: bert::Encoder,
    pooling: Pooling,
}

impl TextEncoder {
    /// Builds an encoder from Hugging Face parameter names (`embeddings.…`, `encoder.layer.N.…`
    /// for BERT, `transformer.layer.N.…` for DistilBERT; a `bert.`/`distilbert.` prefix and
    /// `gamma`/`beta` LayerNorm names of older checkpoints are accepted). A BERT pooler, if
    /// present, is not used.
    pub fn new(id: &str, config: &EncoderConfig, pooling: Pooling, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            id: id.to_owned(),
            encoder: bert::Encoder::new(config, vb)?,
            pooling,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &EncoderConfig {
        self.encoder.config()
    }

    /// The pooling used by [`Backbone::embed`].
    pub fn pooling(&self) -> Pooling {
        self.pooling
    }

    /// The last hidden state `(B, L, d)` (padding positions included) and the attention mask as
    /// given, for a [`BackboneInput::Tokens`] batch.
    pub fn last_hidden_state(&self, input: &BackboneInput) -> Result<(Tensor, Tensor)> {
        self.hidden_state(input, Positions::All)
    }

    fn hidden_state(
        &self,
        input: &BackboneInput,
        positions: Positions,
    ) -> Result<(Tensor, Tensor)> {
        let (input_ids, attention_mask, token_type_ids) = input.tokens()?;
        let hidden = self
            .encoder
            .forward(input_ids, attention_mask, token_type_ids, positions)?;
        Ok((hidden, attention_mask.clone()))
    }
}

impl Backbone for TextEncoder {
    fn id(&self) -> &str {
        &self.id
    }

    fn dim(&self) -> usize {
        self.encoder.config().hidden_size
    }

    fn input(&self) -> InputSpec {
        InputSpec::Text {
            max_tokens: self.encoder.config().max_tokens,
            token_type_ids: self.encoder.config().layout == Layout::Bert,
        }
    }

    fn embed(&self, input: &BackboneInput) -> Result<Tensor> {
        // Pooling reads the real tokens and position 0 only: padding rows are not computed.
        let (hidden, mask) = self.hidden_state(input, Positions::Tokens)?;
        self.pooling.pool(&hidden, &mask)
    }
}

/// Configuration of a registered text backbone (`bert_base`, `distilbert_base`, `minilm_l6`).
pub fn registered_config(name: &str) -> Option<EncoderConfig> {
    match name {
        "bert_base" => Some(EncoderConfig::bert_base()),
        "distilbert_base" => Some(EncoderConfig::distilbert_base()),
        "minilm_l6" => Some(EncoderConfig::minilm_l6()),
        _ => None,
    }
}

/// Builds the registered text backbone `name` with a `pooling` other than its default.
pub fn build_text_backbone(
    name: &str,
    pooling: Pooling,
    weights: VarBuilder,
) -> Result<TextEncoder> {
    let config = registered_config(name).ok_or_else(|| Error::UnknownBackbone {
        name: name.to_owned(),
        known: "bert_base, distilbert_base, minilm_l6".into(),
    })?;
    TextEncoder::new(name, &config, pooling, weights)
}

/// Ids as `u32` on the encoder's device, checked to be `(B, L)`.
pub(crate) fn check_ids(name: &str, ids: &Tensor) -> Result<Tensor> {
    match ids.dims() {
        [_, _] => Ok(ids.to_dtype(DType::U32)?),
        dims => Err(Error::BadInput(format!(
            "expected {name} (B, L), got {dims:?}"
        ))),
    }
}
