//! The post-LayerNorm transformer encoder shared by BERT, MiniLM and DistilBERT.
//!
//! `x = LN(word + position [+ token type])`, then per layer
//! `x = LN(x + Attn(x))`, `x = LN(x + W2 gelu(W1 x))` with exact (erf) GELU and padding keys left
//! out of the attention, as Hugging Face `BertModel`/`DistilBertModel` (eval mode) compute it.
//!
//! The parameters are read here (query, key and value weights concatenated into one projection)
//! and run by one of two forward passes: [`cpu`] on the CPU (packed real tokens, fused kernels of
//! `nona_kernels`, no work on padding), [`device`] with candle ops elsewhere (CUDA).

mod cpu;
mod device;

use candle_core::{Device, Tensor};
use candle_nn::VarBuilder;

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

/// Which positions of a batch get a hidden state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Positions {
    /// Every position, padding included (padding attends to the real tokens, as in Hugging Face).
    All,
    /// The real tokens and position 0 (the `[CLS]` pooling reads it); other padding positions are
    /// zeros. The CPU pass skips their rows; the device pass computes them anyway.
    Tokens,
}

/// A `weight (outputs, inputs)` and `bias (outputs)` pair.
type Affine = (Tensor, Tensor);

/// `weight`/`bias`, or the `gamma`/`beta` of older BERT checkpoints.
fn layer_norm(size: usize, vb: VarBuilder) -> Result<Affine> {
    let (weight, bias) = if vb.contains_tensor("weight") || !vb.contains_tensor("gamma") {
        ("weight", "bias")
    } else {
        ("gamma", "beta")
    };
    Ok((vb.get(size, weight)?, vb.get(size, bias)?))
}

fn linear(inputs: usize, outputs: usize, vb: VarBuilder) -> Result<Affine> {
    Ok((
        vb.get((outputs, inputs), "weight")?,
        vb.get(outputs, "bias")?,
    ))
}

/// Query, key and value projections as one: weights and biases concatenated along the outputs.
fn fused_qkv(d: usize, [q, k, v]: [VarBuilder; 3]) -> Result<Affine> {
    let (q, k, v) = (linear(d, d, q)?, linear(d, d, k)?, linear(d, d, v)?);
    Ok((
        Tensor::cat(&[q.0, k.0, v.0], 0)?,
        Tensor::cat(&[q.1, k.1, v.1], 0)?,
    ))
}

/// One layer's parameters.
struct LayerWeights {
    /// `[query; key; value]` projection, `3d` outputs.
    qkv: Affine,
    attention_out: Affine,
    attention_norm: Affine,
    ffn_in: Affine,
    ffn_out: Affine,
    output_norm: Affine,
}

impl LayerWeights {
    fn read(c: &EncoderConfig, vb: VarBuilder) -> Result<Self> {
        let (d, f) = (c.hidden_size, c.intermediate_size);
        Ok(match c.layout {
            Layout::Bert => {
                let attention = vb.pp("attention");
                let own = attention.pp("self");
                Self {
                    qkv: fused_qkv(d, [own.pp("query"), own.pp("key"), own.pp("value")])?,
                    attention_out: linear(d, d, attention.pp("output").pp("dense"))?,
                    attention_norm: layer_norm(d, attention.pp("output").pp("LayerNorm"))?,
                    ffn_in: linear(d, f, vb.pp("intermediate").pp("dense"))?,
                    ffn_out: linear(f, d, vb.pp("output").pp("dense"))?,
                    output_norm: layer_norm(d, vb.pp("output").pp("LayerNorm"))?,
                }
            }
            Layout::DistilBert => {
                let attention = vb.pp("attention");
                Self {
                    qkv: fused_qkv(
                        d,
                        [
                            attention.pp("q_lin"),
                            attention.pp("k_lin"),
                            attention.pp("v_lin"),
                        ],
                    )?,
                    attention_out: linear(d, d, attention.pp("out_lin"))?,
                    attention_norm: layer_norm(d, vb.pp("sa_layer_norm"))?,
                    ffn_in: linear(d, f, vb.pp("ffn").pp("lin1"))?,
                    ffn_out: linear(f, d, vb.pp("ffn").pp("lin2"))?,
                    output_norm: layer_norm(d, vb.pp("output_layer_norm"))?,
                }
            }
        })
    }
}

/// All parameters of an encoder.
struct EncoderWeights {
    /// `(vocab_size, d)`.
    word: Tensor,
    /// `(max_position_embeddings, d)`.
    position: Tensor,
    /// `(type_vocab_size, d)`, BERT layout only.
    token_type: Option<Tensor>,
    norm: Affine,
    layers: Vec<LayerWeights>,
}

impl EncoderWeights {
    fn read(config: &EncoderConfig, vb: VarBuilder) -> Result<Self> {
        // Checkpoints of the *ForMaskedLM/… heads prefix the encoder with `bert.`/`distilbert.`.
        let vb = [None, Some("bert"), Some("distilbert")]
            .into_iter()
            .map(|prefix| prefix.map_or_else(|| vb.clone(), |p| vb.pp(p)))
            .find(|vb| vb.contains_tensor("embeddings.word_embeddings.weight"))
            .unwrap_or(vb);
        let d = config.hidden_size;
        let emb = vb.pp("embeddings");
        let layers_vb = match config.layout {
            Layout::Bert => vb.pp("encoder").pp("layer"),
            Layout::DistilBert => vb.pp("transformer").pp("layer"),
        };
        Ok(Self {
            word: emb
                .pp("word_embeddings")
                .get((config.vocab_size, d), "weight")?,
            position: emb
                .pp("position_embeddings")
                .get((config.max_position_embeddings, d), "weight")?,
            token_type: match config.layout {
                Layout::Bert => Some(
                    emb.pp("token_type_embeddings")
                        .get((config.type_vocab_size, d), "weight")?,
                ),
                Layout::DistilBert => None,
            },
            norm: layer_norm(d, emb.pp("LayerNorm"))?,
            layers: (0..config.num_layers)
                .map(|i| LayerWeights::read(config, layers_vb.pp(i)))
                .collect::<Result<_>>()?,
        })
    }
}

/// The forward pass an encoder runs, by the device of its weights.
enum Pass {
    Cpu(cpu::CpuEncoder),
    Device(device::DeviceEncoder),
}

/// Embeddings + layers.
pub(crate) struct Encoder {
    config: EncoderConfig,
    pass: Pass,
}

impl Encoder {
    pub(crate) fn new(config: &EncoderConfig, vb: VarBuilder) -> Result<Self> {
        if config.num_heads == 0 || !config.hidden_size.is_multiple_of(config.num_heads) {
            return Err(Error::BadInput(format!(
                "hidden size {} is not a multiple of {} heads",
                config.hidden_size, config.num_heads
            )));
        }
        let on_cpu = matches!(vb.device(), Device::Cpu);
        let weights = EncoderWeights::read(config, vb)?;
        let pass = if on_cpu {
            Pass::Cpu(cpu::CpuEncoder::new(config, weights)?)
        } else {
            Pass::Device(device::DeviceEncoder::new(config, weights)?)
        };
        Ok(Self {
            config: config.clone(),
            pass,
        })
    }

    pub(crate) fn config(&self) -> &EncoderConfig {
        &self.config
    }

    /// Last hidden state `(B, L, d)` at the [`Positions`] asked for.
    pub(crate) fn forward(
        &self,
        input_ids: &Tensor,
        attention_mask: &Tensor,
        token_type_ids: Option<&Tensor>,
        positions: Positions,
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
        let types = match token_type_ids {
            // DistilBERT has no token types: they are ignored.
            Some(_) if self.config.layout == Layout::DistilBert => None,
            Some(types) if types.dims() == [b, l] => Some(check_ids("token_type_ids", types)?),
            Some(types) => {
                return Err(Error::BadInput(format!(
                    "token_type_ids {:?} does not match input_ids {:?}",
                    types.dims(),
                    [b, l]
                )));
            }
            None => None,
        };
        match &self.pass {
            Pass::Cpu(encoder) => encoder.forward(&ids, attention_mask, types.as_ref(), positions),
            Pass::Device(encoder) => encoder.forward(&ids, attention_mask, types.as_ref()),
        }
    }
}

#[cfg(test)]
mod tests {
    use candle_core::{DType, Device, Tensor};
    use candle_nn::VarBuilder;
    use nona_testkit::Gap;

    use super::{
        EncoderConfig, EncoderWeights, Layout, Positions, cpu::CpuEncoder, device::DeviceEncoder,
    };
    use crate::weights::SyntheticWeights;

    /// The candle pass (what CUDA runs) and the CPU pass agree, on the CPU, at every position the
    /// CPU pass computes; the tiny encoders' parity with transformers is tests/text_parity.rs.
    #[test]
    fn device_and_cpu_passes_agree() {
        for layout in [Layout::Bert, Layout::DistilBert] {
            let config = EncoderConfig {
                layout,
                vocab_size: 50,
                hidden_size: 48,
                num_layers: 2,
                num_heads: 3,
                intermediate_size: 96,
                max_position_embeddings: 16,
                type_vocab_size: 2,
                layer_norm_eps: 1e-12,
                max_tokens: 16,
            };
            let read = || {
                let vb =
                    VarBuilder::from_backend(Box::new(SyntheticWeights), DType::F32, Device::Cpu);
                EncoderWeights::read(&config, vb).unwrap()
            };
            let cpu = CpuEncoder::new(&config, read()).unwrap();
            let device = DeviceEncoder::new(&config, read()).unwrap();
            let ids =
                Tensor::new(&[[2u32, 7, 9, 31, 4, 3], [2, 11, 3, 0, 0, 0]], &Device::Cpu).unwrap();
            let mask =
                Tensor::new(&[[1u32, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0]], &Device::Cpu).unwrap();
            let types =
                Tensor::new(&[[0u32, 0, 0, 1, 1, 1], [0, 0, 0, 0, 0, 0]], &Device::Cpu).unwrap();
            let expected = device.forward(&ids, &mask, Some(&types)).unwrap();
            let all = cpu
                .forward(&ids, &mask, Some(&types), Positions::All)
                .unwrap();
            let gap = Gap::of_tensors(&all, &expected);
            assert!(gap.relative() < 1e-5, "{layout:?} all positions: {gap}");
            // Tokens only: the same values at the real tokens, zeros at padding.
            let tokens = cpu
                .forward(&ids, &mask, Some(&types), Positions::Tokens)
                .unwrap();
            let real = mask.to_dtype(DType::F32).unwrap().unsqueeze(2).unwrap();
            let gap = Gap::of_tensors(&tokens, &expected.broadcast_mul(&real).unwrap());
            assert!(gap.relative() < 1e-5, "{layout:?} tokens: {gap}");
        }
    }
}
