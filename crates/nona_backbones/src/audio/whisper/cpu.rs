//! The encoder's forward pass on the CPU with the fused kernels of `nona_kernels`, on plain
//! slices. Both convolutions (kernel 3, padding 1) are one product each: on frame-major input with
//! a zero frame at each end, the window of output frame `t` is the contiguous run of three input
//! frames starting at frame `stride · t`, so the product reads the windows as overlapping rows of
//! the input (no im2col copy), with the weights reordered at load to `(out, tap, in)`. The clips of
//! a batch then go through the pre-norm blocks together, attention per clip.

use candle_core::Tensor;
use nona_kernels::attention::{Heads, Sequence, attention};
use nona_kernels::gelu::gelu;
use nona_kernels::layer_norm::LayerNorm;

use super::{Affine, BlockWeights, EncoderWeights, WhisperConfig};
use crate::Result;
use crate::dense::Dense;

fn dense((weight, bias): &Affine) -> Result<Dense> {
    Dense::new(weight, Some(bias))
}

/// A convolution `(out, in, 3)` as a dense layer over windows `(tap, in)`.
fn conv((weight, bias): &Affine) -> Result<Dense> {
    let (outputs, inputs, taps) = weight.dims3()?;
    let windows = weight
        .permute((0, 2, 1))?
        .contiguous()?
        .reshape((outputs, taps * inputs))?;
    Dense::new(&windows, Some(bias))
}

fn layer_norm((weight, bias): &Affine) -> Result<LayerNorm> {
    Ok(LayerNorm::new(
        weight.to_vec1::<f32>()?,
        bias.to_vec1::<f32>()?,
        1e-5,
    ))
}

struct Block {
    attn_norm: LayerNorm,
    qkv: Dense,
    out: Dense,
    ffn_norm: LayerNorm,
    fc1: Dense,
    fc2: Dense,
}

impl Block {
    fn new(w: &BlockWeights) -> Result<Self> {
        Ok(Self {
            attn_norm: layer_norm(&w.attn_norm)?,
            qkv: dense(&w.qkv)?,
            out: dense(&w.out)?,
            ffn_norm: layer_norm(&w.ffn_norm)?,
            fc1: dense(&w.fc1)?,
            fc2: dense(&w.fc2)?,
        })
    }
}

/// Convolutions, positions, blocks and final norm as plain `f32` tables.
pub(super) struct CpuEncoder {
    conv1: Dense,
    conv2: Dense,
    /// `(max_source_positions, d)`.
    positions: Vec<f32>,
    blocks: Vec<Block>,
    norm: LayerNorm,
    heads: Heads,
    n_mels: usize,
}

impl CpuEncoder {
    /// `positions`: the sinusoid table `(max_source_positions, d)`.
    pub(super) fn new(
        cfg: &WhisperConfig,
        weights: EncoderWeights,
        positions: &Tensor,
    ) -> Result<Self> {
        Ok(Self {
            conv1: conv(&weights.conv1)?,
            conv2: conv(&weights.conv2)?,
            positions: positions.flatten_all()?.to_vec1::<f32>()?,
            blocks: weights
                .blocks
                .iter()
                .map(Block::new)
                .collect::<Result<_>>()?,
            norm: layer_norm(&weights.norm)?,
            heads: Heads {
                count: cfg.heads,
                dim: cfg.d_model / cfg.heads,
            },
            n_mels: cfg.n_mels,
        })
    }

    /// Encoder output, `(b, ⌈frames / 2⌉, d)` row-major, for `b` frame-major log-mels
    /// `(frames, n_mels)` one after another (`frames >= 1`, at most twice the positions: checked
    /// by the caller).
    pub(super) fn forward(&self, mels: &[f32], b: usize, frames: usize) -> Vec<f32> {
        let (d, c) = (self.heads.width(), self.n_mels);
        let out_frames = frames.div_ceil(2);
        let mut x = vec![0.0; b * out_frames * d];
        // Inputs with one zero frame before and after: the convolutions' padding.
        let mut mel = vec![0.0; (frames + 2) * c];
        let mut conv1 = vec![0.0; (frames + 2) * d];
        for (clip, out) in mels
            .chunks_exact(frames * c)
            .zip(x.chunks_exact_mut(out_frames * d))
        {
            mel[c..(frames + 1) * c].copy_from_slice(clip);
            let inner = &mut conv1[d..(frames + 1) * d];
            self.conv1.forward_strided(&mel, c, inner);
            gelu(inner);
            self.conv2.forward_strided(&conv1, 2 * d, out);
            gelu(out);
            for (row, position) in out.chunks_exact_mut(d).zip(self.positions.chunks_exact(d)) {
                for (x, p) in row.iter_mut().zip(position) {
                    *x += p;
                }
            }
        }

        let rows = b * out_frames;
        let sequences: Vec<Sequence> = (0..b)
            .map(|i| Sequence {
                start: i * out_frames,
                keys: out_frames,
                queries: out_frames,
            })
            .collect();
        let ffn_width = self.blocks.first().map_or(0, |block| block.fc1.outputs());
        let mut normed = vec![0.0; rows * d];
        let mut qkv = vec![0.0; rows * 3 * d];
        let mut context = vec![0.0; rows * d];
        let mut ffn = vec![0.0; rows * ffn_width];
        for block in &self.blocks {
            block.attn_norm.normalize_into(&x, &mut normed);
            block.qkv.forward(&normed, &mut qkv);
            attention(&qkv, self.heads, &sequences, &mut context);
            block.out.add_forward(&context, &mut x);
            block.ffn_norm.normalize_into(&x, &mut normed);
            block.fc1.forward(&normed, &mut ffn);
            gelu(&mut ffn);
            block.fc2.add_forward(&ffn, &mut x);
        }
        self.norm.normalize(&mut x, None);
        x
    }
}
