//! The encoder's forward pass in candle ops, for devices other than the CPU (CUDA): a padded
//! `(B, L, d)` batch, padding keys masked out of the softmax with the most negative float, as
//! transformers does.

use candle_core::{DType, Module, Tensor};
use candle_nn::{Embedding, LayerNorm, Linear};

use super::{Affine, EncoderConfig, EncoderWeights, LayerWeights};
use crate::Result;

fn linear((weight, bias): Affine) -> Linear {
    Linear::new(weight, Some(bias))
}

fn layer_norm((weight, bias): Affine, eps: f64) -> LayerNorm {
    LayerNorm::new(weight, bias, eps)
}

struct Layer {
    qkv: Linear,
    attention_out: Linear,
    attention_norm: LayerNorm,
    ffn_in: Linear,
    ffn_out: Linear,
    output_norm: LayerNorm,
}

impl Layer {
    fn new(w: LayerWeights, eps: f64) -> Self {
        Self {
            qkv: linear(w.qkv),
            attention_out: linear(w.attention_out),
            attention_norm: layer_norm(w.attention_norm, eps),
            ffn_in: linear(w.ffn_in),
            ffn_out: linear(w.ffn_out),
            output_norm: layer_norm(w.output_norm, eps),
        }
    }

    /// `x`: (B, L, d); `mask_bias`: (B, 1, 1, L), 0 for keys to attend to, very negative for padding.
    fn forward(&self, x: &Tensor, mask_bias: &Tensor, heads: usize) -> Result<Tensor> {
        let (b, l, d) = x.dims3()?;
        let head = d / heads;
        // (B, L, 3d) → (3, B, heads, L, head): query, key, value.
        let qkv = self
            .qkv
            .forward(x)?
            .reshape((b, l, 3, heads, head))?
            .permute((2, 0, 3, 1, 4))?;
        let q = (qkv.get(0)? / (head as f64).sqrt())?.contiguous()?;
        let k = qkv.get(1)?.contiguous()?;
        let v = qkv.get(2)?.contiguous()?;
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

/// Embeddings + layers in candle ops.
pub(super) struct DeviceEncoder {
    word: Embedding,
    position: Embedding,
    token_type: Option<Embedding>,
    norm: LayerNorm,
    layers: Vec<Layer>,
    heads: usize,
}

impl DeviceEncoder {
    pub(super) fn new(config: &EncoderConfig, weights: EncoderWeights) -> Result<Self> {
        let (d, eps) = (config.hidden_size, config.layer_norm_eps);
        Ok(Self {
            word: Embedding::new(weights.word, d),
            position: Embedding::new(weights.position, d),
            token_type: weights.token_type.map(|t| Embedding::new(t, d)),
            norm: layer_norm(weights.norm, eps),
            layers: weights
                .layers
                .into_iter()
                .map(|w| Layer::new(w, eps))
                .collect(),
            heads: config.num_heads,
        })
    }

    /// Last hidden state `(B, L, d)` of checked `u32` ids `(B, L)`.
    pub(super) fn forward(
        &self,
        ids: &Tensor,
        attention_mask: &Tensor,
        token_type_ids: Option<&Tensor>,
    ) -> Result<Tensor> {
        let (b, l) = ids.dims2()?;
        let device = ids.device();
        let positions = Tensor::arange(0u32, l as u32, device)?;
        let mut x = self
            .word
            .forward(ids)?
            .broadcast_add(&self.position.forward(&positions)?)?;
        if let Some(token_type) = &self.token_type {
            let types = match token_type_ids {
                Some(types) => types.clone(),
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
            x = layer.forward(&x, &mask_bias, self.heads)?;
        }
        Ok(x)
    }
}
