//! The encoder's forward pass in candle ops, for devices other than the CPU (CUDA).

use candle_core::{Module, Tensor};
use candle_nn::{Conv1d, Conv1dConfig, LayerNorm, Linear};

use super::{Affine, BlockWeights, EncoderWeights, WhisperConfig};
use crate::Result;

fn linear((weight, bias): Affine) -> Linear {
    Linear::new(weight, Some(bias))
}

fn layer_norm((weight, bias): Affine) -> LayerNorm {
    LayerNorm::new(weight, bias, 1e-5)
}

fn conv((weight, bias): Affine, stride: usize) -> Conv1d {
    let config = Conv1dConfig {
        padding: 1,
        stride,
        ..Default::default()
    };
    Conv1d::new(weight, Some(bias), config)
}

struct Block {
    attn_norm: LayerNorm,
    qkv: Linear,
    out: Linear,
    ffn_norm: LayerNorm,
    fc1: Linear,
    fc2: Linear,
    heads: usize,
}

impl Block {
    fn new(w: BlockWeights, heads: usize) -> Self {
        Self {
            attn_norm: layer_norm(w.attn_norm),
            qkv: linear(w.qkv),
            out: linear(w.out),
            ffn_norm: layer_norm(w.ffn_norm),
            fc1: linear(w.fc1),
            fc2: linear(w.fc2),
            heads,
        }
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (b, t, d) = x.dims3()?;
        let head_dim = d / self.heads;
        let h = self.attn_norm.forward(x)?;
        // (B, T, 3d) → (3, B, heads, T, head_dim): query, key, value.
        let qkv = self
            .qkv
            .forward(&h)?
            .reshape((b, t, 3, self.heads, head_dim))?
            .permute((2, 0, 3, 1, 4))?;
        let q = (qkv.get(0)? * (head_dim as f64).powf(-0.5))?.contiguous()?;
        let k = qkv.get(1)?.contiguous()?;
        let v = qkv.get(2)?.contiguous()?;
        let weights = candle_nn::ops::softmax_last_dim(&q.matmul(&k.t()?)?)?;
        let attended = weights.matmul(&v)?.transpose(1, 2)?.reshape((b, t, d))?;
        let x = (x + self.out.forward(&attended)?)?;
        let h = self.ffn_norm.forward(&x)?;
        let h = self.fc2.forward(&self.fc1.forward(&h)?.gelu_erf()?)?;
        Ok((x + h)?)
    }
}

/// Convolutions, positions, blocks and final norm in candle ops.
pub(super) struct DeviceEncoder {
    conv1: Conv1d,
    conv2: Conv1d,
    positions: Tensor,
    blocks: Vec<Block>,
    norm: LayerNorm,
}

impl DeviceEncoder {
    /// `positions`: the sinusoid table `(max_source_positions, d)` on the weights' device.
    pub(super) fn new(
        cfg: &WhisperConfig,
        weights: EncoderWeights,
        positions: Tensor,
    ) -> Result<Self> {
        Ok(Self {
            conv1: conv(weights.conv1, 1),
            conv2: conv(weights.conv2, 2),
            positions,
            blocks: weights
                .blocks
                .into_iter()
                .map(|w| Block::new(w, cfg.heads))
                .collect(),
            norm: layer_norm(weights.norm),
        })
    }

    /// Encoder output `(B, ⌈frames / 2⌉, d)` for a checked log-mel `(B, n_mels, frames)`.
    pub(super) fn forward(&self, mel: &Tensor) -> Result<Tensor> {
        let x = self.conv1.forward(mel)?.gelu_erf()?;
        let x = self.conv2.forward(&x)?.gelu_erf()?.transpose(1, 2)?;
        let frames = x.dim(1)?;
        let mut x = x.broadcast_add(&self.positions.narrow(0, 0, frames)?)?;
        for block in &self.blocks {
            x = block.forward(&x)?;
        }
        Ok(self.norm.forward(&x)?)
    }
}
