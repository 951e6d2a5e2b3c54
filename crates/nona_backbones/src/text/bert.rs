//! The post-LayerNorm transformer encoder shared by BERT, MiniLM and DistilBERT.
//!
//! `x = LN(word + position [+ token type])`, then per layer
//! `x = LN(x + Attn(x))`, `x = LN(x + W2 gelu(W1 x))` with exact (erf) GELU and padding keys masked
//! out of the softmax, as Hugging Face `BertModel`/`DistilBertModel` (eval mode) compute it.

use candle_core::{DType, Device, Module, Tensor};
use candle_nn::{Embedding, LayerNorm, Linear, VarBuilder};

use super::check_ids;
use crate::{Error, Result};

/// Parameter naming and embedding layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `BertModel` names; token type embeddings (MiniLM too).
    Bert,
    /// `DistilBertModel` names; no token types.
    DistilBert,
}

/// Shape of an encoder (Hugging Face `config.json` fields).
#[derive(Debug, Clone, PartialEq)]
pub struct EncoderConfig {
    /// Parameter names and embeddings.
    pub layout: Layout,
    /// `vocab_size`.
    pub vocab_size: usize,
    /// `hidden_size` (DistilBERT: `dim`), the embedding width `d`.
    pub hidden_size: usize,
    /// `num_hidden_layers` (DistilBERT: `n_layers`).
    pub num_layers: usize,
    /// `num_attention_heads` (DistilBERT: `n_heads`).
    pub num_heads: usize,
    /// `intermediate_size` (DistilBERT: `hidden_dim`).
    pub intermediate_size: usize,
    /// `max_position_embeddings`.
    pub max_position_embeddings: usize,
    /// `type_vocab_size` (BERT layout only).
    pub type_vocab_size: usize,
    /// `layer_norm_eps` (DistilBERT: 1e-12).
    pub layer_norm_eps: f64,
    /// Texts are truncated to this many tokens (special tokens included) before the encoder.
    pub max_tokens: usize,
}

impl EncoderConfig {
    /// bert-base-uncased.
    pub fn bert_base() -> Self {
        Self {
            layout: Layout::Bert,
            vocab_size: 30522,
            hidden_size: 768,
            num_layers: 12,
            num_heads: 12,
            intermediate_size: 3072,
            max_position_embeddings: 512,
            type_vocab_size: 2,
            layer_norm_eps: 1e-12,
            max_tokens: 512,
        }
    }

    /// distilbert-base-uncased.
    pub fn distilbert_base() -> Self {
        Self {
            layout: Layout::DistilBert,
            num_layers: 6,
            type_vocab_size: 0,
            ..Self::bert_base()
        }
    }

    /// sentence-transformers/all-MiniLM-L6-v2 (truncation at 256 tokens, its `max_seq_length`).
    pub fn minilm_l6() -> Self {
        Self {
            hidden_size: 384,
            num_layers: 6,
            intermediate_size: 1536,
            max_tokens: 256,
            ..Self::bert_base()
        }
    }
}

/// `weight`/`bias`, or the `gamma`/`beta` of older BERT checkpoints.
fn layer_norm(size: usize, eps: f64, vb: VarBuilder) -> Result<LayerNorm> {
    let (weight, bias) = if vb.contains_tensor("weight") || !vb.contains_tensor("gamma") {
        ("weight", "bias")
    } else {
        ("gamma", "beta")
    };
    Ok(LayerNorm::new(
        vb.get(size, weight)?,
        vb.get(size, bias)?,
        eps,
    ))
}

fn embedding(rows: usize, width: usize, vb: VarBuilder) -> Result<Embedding> {
    Ok(Embedding::new(vb.get((rows, width), "weight")?, width))
}

fn linear(input: usize, output: usize, vb: VarBuilder) -> Result<Linear> {
    Ok(candle_nn::linear(input, output, vb)?)
}

struct Layer {
    query: Linear,
    key: Linear,
    value: Linear,
    attention_out: Linear,
    attention_norm: LayerNorm,
    ffn_in: Linear,
    ffn_out: Linear,
    output_norm: LayerNorm,
    num_heads: usize,
}

impl Layer {
    fn new(c: &EncoderConfig, vb: VarBuilder) -> Result<Self> {
        let (d, f, eps) = (c.hidden_size, c.intermediate_size, c.layer_norm_eps);
        Ok(match c.layout {
            Layout::Bert => {
                let attention = vb.pp("attention");
                let own = attention.pp("self");
                Self {
                    query: linear(d, d, own.pp("query"))?,
                    key: linear(d, d, own.pp("key"))?,
                    value: linear(d, d, own.pp("value"))?,
                    attention_out: linear(d, d, attention.pp("output").pp("dense"))?,
                    attention_norm: layer_norm(d, eps, attention.pp("output").pp("LayerNorm"))?,
                    ffn_in: linear(d, f, vb.pp("intermediate").pp("dense"))?,
                    ffn_out: linear(f, d, vb.pp("output").pp("dense"))?,
                    output_norm: layer_norm(d, eps, vb.pp("output").pp("LayerNorm"))?,
                    num_heads: c.num_heads,
                }
            }
            Layout::DistilBert => {
                let attention = vb.pp("attention");
                Self {
                    query: linear(d, d, attention.pp("q_lin"))?,
                    key: linear(d, d, attention.pp("k_lin"))?,
                    value: linear(d, d, attention.pp("v_lin"))?,
                    attention_out: linear(d, d, attention.pp("out_lin"))?,
                    attention_norm: layer_norm(d, eps, vb.pp("sa_layer_norm"))?,
                    ffn_in: linear(d, f, vb.pp("ffn").pp("lin1"))?,
                    ffn_out: linear(f, d, vb.pp("ffn").pp("lin2"))?,
                    output_norm: layer_norm(d, eps, vb.pp("output_layer_norm"))?,
                    num_heads: c.num_heads,
                }
            }
        })
    }

    /// `x`: (B, L, d); `mask_bias`: (B, 1, 1, L), 0 for keys to attend to, very negative for padding.
    fn forward(&self, x: &Tensor, mask_bias: &Tensor) -> Result<Tensor> {
        let (b, l, d) = x.dims3()?;
        let head = d / self.num_heads;
        let heads = |t: Tensor| -> Result<Tensor> {
            Ok(t.reshape((b, l, self.num_heads, head))?
                .transpose(1, 2)?
                .contiguous()?)
        };
        let q = heads((self.query.forward(x)? / (head as f64).sqrt())?)?;
        let k = heads(self.key.forward(x)?)?;
        let v = heads(self.value.forward(x)?)?;
        let scores = q.matmul(&k.t()?)?.broadcast_add(mask_bias)?;
        let probs = candle_nn::ops::softmax_last_dim(&scores)?;
        let context = probs
            .matmul(&v)?
            .transpose(1, 2)?
            .contiguous()?
            .reshape((b, l, d))?;
        let x = self
            .attention_norm
            .forward(&(self.attention_out.forward(&context)? + x)?)?;
        let ffn = self
            .ffn_out
            .forward(&self.ffn_in.forward(&x)?.gelu_erf()?)?;
        Ok(self.output_norm.forward(&(ffn + x)?)?)
    }
}

/// Embeddings + layers.
pub(crate) struct Encoder {
    config: EncoderConfig,
    word: Embedding,
    position: Embedding,
    token_type: Option<Embedding>,
    norm: LayerNorm,
    layers: Vec<Layer>,
}

impl Encoder {
    pub(crate) fn new(config: &EncoderConfig, vb: VarBuilder) -> Result<Self> {
        if config.num_heads == 0 || !config.hidden_size.is_multiple_of(config.num_heads) {
            return Err(Error::BadInput(format!(
                "hidden size {} is not a multiple of {} heads",
                config.hidden_size, config.num_heads
            )));
        }
        // Checkpoints of the *ForMaskedLM/… heads prefix the encoder with `bert.`/`distilbert.`.
        let vb = [None, Some("bert"), Some("distilbert")]
            .into_iter()
            .map(|prefix| prefix.map_or_else(|| vb.clone(), |p| vb.pp(p)))
            .find(|vb| vb.contains_tensor("embeddings.word_embeddings.weight"))
            .unwrap_or(vb);
        let (d, eps) = (config.hidden_size, config.layer_norm_eps);
        let emb = vb.pp("embeddings");
        let layers_vb = match config.layout {
            Layout::Bert => vb.pp("encoder").pp("layer"),
            Layout::DistilBert => vb.pp("transformer").pp("layer"),
        };
        Ok(Self {
            config: config.clone(),
            word: embedding(config.vocab_size, d, emb.pp("word_embeddings"))?,
            position: embedding(
                config.max_position_embeddings,
                d,
                emb.pp("position_embeddings"),
            )?,
            token_type: match config.layout {
                Layout::Bert => Some(embedding(
                    config.type_vocab_size,
                    d,
                    emb.pp("token_type_embeddings"),
                )?),
                Layout::DistilBert => None,
            },
            norm: layer_norm(d, eps, emb.pp("LayerNorm"))?,
            layers: (0..config.num_layers)
                .map(|i| Layer::new(config, layers_vb.pp(i)))
                .collect::<Result<_>>()?,
        })
    }

    pub(crate) fn config(&self) -> &EncoderConfig {
        &self.config
    }

    /// Last hidden state `(B, L, d)`.
    pub(crate) fn forward(
        &self,
        input_ids: &Tensor,
        attention_mask: &Tensor,
        token_type_ids: Option<&Tensor>,
    ) -> Result<Tensor> {
        let ids = check_ids("input_ids", input_ids)?;
        let (b, l) = ids.dims2()?;
        if attention_mask.dims() != [b, l] {
            return Err(Error::BadInput(format!(
                "attention_mask {:?} does not match input_ids {:?}",
                attention_mask.dims(),
                [b, l]
            )));
        }
        if l > self.config.max_position_embeddings {
            return Err(Error::BadInput(format!(
                "{l} tokens, more than the {} positions of the model (truncate first)",
                self.config.max_position_embeddings
            )));
        }
        let device: &Device = ids.device();
        let positions = Tensor::arange(0u32, l as u32, device)?;
        let mut x = self
            .word
            .forward(&ids)?
            .broadcast_add(&self.position.forward(&positions)?)?;
        if let Some(token_type) = &self.token_type {
            let types = match token_type_ids {
                Some(types) if types.dims() == [b, l] => check_ids("token_type_ids", types)?,
                Some(types) => {
                    return Err(Error::BadInput(format!(
                        "token_type_ids {:?} does not match input_ids {:?}",
                        types.dims(),
                        [b, l]
                    )));
                }
                None => Tensor::zeros((b, l), DType::U32, device)?,
            };
            x = (x + token_type.forward(&types)?)?;
        }
        let mut x = self.norm.forward(&x)?;
        // (1 - mask) · f32::MIN: 0 on tokens, the most negative float on padding (as transformers).
        let keep = attention_mask.to_dtype(DType::F32)?;
        let mask_bias = ((1.0 - keep)? * f64::from(f32::MIN))?
            .to_dtype(x.dtype())?
            .reshape((b, 1, 1, l))?;
        for layer in &self.layers {
            x = layer.forward(&x, &mask_bias)?;
        }
        Ok(x)
    }
}
