//! HuBERT (Hsu et al. 2021) as a [`Backbone`], laid out as transformers' `HubertModel` with
//! `feat_extract_norm="group"` and `do_stable_layer_norm=False` (hubert-base): a convolutional
//! feature encoder (bias-free convolutions with GELU, group norm with one group per channel after
//! the first), a layer-normed linear projection, a weight-normalised grouped convolution as
//! relative position embedding, layer norm, post-norm transformer blocks; then mean pooling over
//! the frames that carry audio, or the first frame ([`HubertPooling`]).
//! Input: raw 16 kHz waveforms (no normalisation, as hubert-base's feature extractor).

use candle_core::{DType, Module, Tensor};
use candle_nn::{Conv1d, Conv1dConfig, GroupNorm, LayerNorm, Linear, VarBuilder};

use crate::backbone::{Backbone, BackboneInput, InputSpec};
use crate::{Error, Result};

/// Shape of a HuBERT model.
#[derive(Debug, Clone, PartialEq)]
pub struct HubertConfig {
    /// Channels, kernels and strides of the feature-encoder convolutions.
    pub conv_layers: Vec<(usize, usize, usize)>,
    /// Transformer width.
    pub hidden: usize,
    /// Transformer blocks.
    pub layers: usize,
    /// Attention heads.
    pub heads: usize,
    /// Feed-forward width.
    pub intermediate: usize,
    /// Kernel of the positional convolution.
    pub pos_kernel: usize,
    /// Groups of the positional convolution.
    pub pos_groups: usize,
    /// Layer-norm epsilon.
    pub eps: f64,
}

impl HubertConfig {
    /// hubert-base-ls960: 7 convolutions of 512 channels (kernels 10,3,3,3,3,2,2; strides
    /// 5,2,2,2,2,2,2), width 768, 12 blocks, 12 heads, feed-forward 3072, positional kernel 128
    /// in 16 groups.
    pub fn base() -> Self {
        let kernels = [10, 3, 3, 3, 3, 2, 2];
        let strides = [5, 2, 2, 2, 2, 2, 2];
        Self {
            conv_layers: kernels
                .iter()
                .zip(strides)
                .map(|(&k, s)| (512, k, s))
                .collect(),
            hidden: 768,
            layers: 12,
            heads: 12,
            intermediate: 3072,
            pos_kernel: 128,
            pos_groups: 16,
            eps: 1e-5,
        }
    }

    /// The shortest input that gives one output frame: the feature encoder's receptive field
    /// (400 samples, 25 ms, for hubert-base).
    pub fn min_samples(&self) -> usize {
        self.conv_layers
            .iter()
            .rev()
            .fold(1, |need, &(_, k, s)| k + (need - 1) * s)
    }

    /// Output frames for `samples` input samples.
    pub fn frames(&self, samples: usize) -> usize {
        self.conv_layers.iter().fold(
            samples,
            |n, &(_, k, s)| {
                if n < k { 0 } else { (n - k) / s + 1 }
            },
        )
    }
}

struct Block {
    q: Linear,
    k: Linear,
    v: Linear,
    out: Linear,
    norm: LayerNorm,
    fc1: Linear,
    fc2: Linear,
    final_norm: LayerNorm,
    heads: usize,
}

impl Block {
    fn new(vb: VarBuilder, cfg: &HubertConfig) -> Result<Self> {
        let d = cfg.hidden;
        let attn = vb.pp("attention");
        let ff = vb.pp("feed_forward");
        Ok(Self {
            q: candle_nn::linear(d, d, attn.pp("q_proj"))?,
            k: candle_nn::linear(d, d, attn.pp("k_proj"))?,
            v: candle_nn::linear(d, d, attn.pp("v_proj"))?,
            out: candle_nn::linear(d, d, attn.pp("out_proj"))?,
            norm: candle_nn::layer_norm(d, cfg.eps, vb.pp("layer_norm"))?,
            fc1: candle_nn::linear(d, cfg.intermediate, ff.pp("intermediate_dense"))?,
            fc2: candle_nn::linear(cfg.intermediate, d, ff.pp("output_dense"))?,
            final_norm: candle_nn::layer_norm(d, cfg.eps, vb.pp("final_layer_norm"))?,
            heads: cfg.heads,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (b, t, d) = x.dims3()?;
        let head_dim = d / self.heads;
        let split = |y: Tensor| -> candle_core::Result<Tensor> {
            y.reshape((b, t, self.heads, head_dim))?
                .transpose(1, 2)?
                .contiguous()
        };
        let scale = (head_dim as f64).powf(-0.5);
        let q = split((self.q.forward(x)? * scale)?)?;
        let k = split(self.k.forward(x)?)?;
        let v = split(self.v.forward(x)?)?;
        let weights = candle_nn::ops::softmax_last_dim(&q.matmul(&k.t()?)?)?;
        let attended = weights.matmul(&v)?.transpose(1, 2)?.reshape((b, t, d))?;
        let x = self.norm.forward(&(x + self.out.forward(&attended)?)?)?;
        let h = self.fc2.forward(&self.fc1.forward(&x)?.gelu_erf()?)?;
        Ok(self.final_norm.forward(&(x + h)?)?)
    }
}

/// How HuBERT's frame states become one embedding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HubertPooling {
    /// Mean over the frames that carry audio (the default).
    #[default]
    Mean,
    /// The first frame's state.
    First,
}

/// HuBERT with a [`HubertPooling`].
pub struct Hubert {
    id: String,
    cfg: HubertConfig,
    pooling: HubertPooling,
    convs: Vec<Conv1d>,
    first_norm: GroupNorm,
    projection_norm: LayerNorm,
    projection: Linear,
    pos_weight: Tensor,
    pos_bias: Tensor,
    encoder_norm: LayerNorm,
    blocks: Vec<Block>,
}

impl Hubert {
    /// Builds HuBERT from `vb` (`HubertModel` names: `feature_extractor.conv_layers.0.conv.weight`,
    /// `encoder.pos_conv_embed.conv.parametrizations.weight.original0`, …).
    pub fn new(id: impl Into<String>, vb: VarBuilder, cfg: HubertConfig) -> Result<Self> {
        let fe = vb.pp("feature_extractor").pp("conv_layers");
        let mut convs = Vec::new();
        let mut in_channels = 1;
        for (i, &(out, kernel, stride)) in cfg.conv_layers.iter().enumerate() {
            let conv_cfg = Conv1dConfig {
                stride,
                ..Default::default()
            };
            convs.push(candle_nn::conv1d_no_bias(
                in_channels,
                out,
                kernel,
                conv_cfg,
                fe.pp(i).pp("conv"),
            )?);
            in_channels = out;
        }
        let first = cfg.conv_layers.first().map_or(0, |c| c.0);
        let first_norm = candle_nn::group_norm(first, first, 1e-5, fe.pp(0).pp("layer_norm"))?;
        let fp = vb.pp("feature_projection");
        let d = cfg.hidden;
        let enc = vb.pp("encoder");
        let pos = enc.pp("pos_conv_embed").pp("conv");
        let per_group = d / cfg.pos_groups;
        let pos_weight = {
            // torch >= 2.1 `parametrizations.weight.original{0,1}`; older checkpoints
            // (facebook/hubert-base-ls960) `weight_g` / `weight_v`.
            let p = pos.pp("parametrizations").pp("weight");
            let (g, v) = if p.contains_tensor("original0") {
                ("original0", "original1")
            } else {
                ("weight_g", "weight_v")
            };
            let p = if g == "original0" { p } else { pos.clone() };
            let g = p.get((1, 1, cfg.pos_kernel), g)?;
            let v = p.get((d, per_group, cfg.pos_kernel), v)?;
            // weight_norm(dim=2): w[:, :, k] = g[k] · v[:, :, k] / ‖v[:, :, k]‖.
            let norm = v.sqr()?.sum_keepdim(0)?.sum_keepdim(1)?.sqrt()?;
            v.broadcast_mul(&g.broadcast_div(&norm)?)?
        };
        Ok(Self {
            id: id.into(),
            convs,
            first_norm,
            projection_norm: candle_nn::layer_norm(in_channels, cfg.eps, fp.pp("layer_norm"))?,
            projection: candle_nn::linear(in_channels, d, fp.pp("projection"))?,
            pos_weight,
            pos_bias: pos.get(d, "bias")?,
            encoder_norm: candle_nn::layer_norm(d, cfg.eps, enc.pp("layer_norm"))?,
            blocks: (0..cfg.layers)
                .map(|i| Block::new(enc.pp("layers").pp(i), &cfg))
                .collect::<Result<_>>()?,
            cfg,
            pooling: HubertPooling::Mean,
        })
    }

    /// The same model with another pooling.
    pub fn with_pooling(mut self, pooling: HubertPooling) -> Self {
        self.pooling = pooling;
        self
    }

    /// The configuration.
    pub fn config(&self) -> &HubertConfig {
        &self.cfg
    }

    /// Last hidden states `(B, T, hidden)` of raw waveforms `(B, N)`.
    pub fn forward(&self, samples: &Tensor) -> Result<Tensor> {
        let mut x = samples.to_dtype(DType::F32)?.unsqueeze(1)?;
        for (i, conv) in self.convs.iter().enumerate() {
            x = conv.forward(&x)?;
            if i == 0 {
                x = self.first_norm.forward(&x)?;
            }
            x = x.gelu_erf()?;
        }
        let x = self.projection_norm.forward(&x.transpose(1, 2)?)?;
        let x = self.projection.forward(&x)?;
        // Positional convolution: padding k/2, one trailing frame dropped for even kernels.
        let frames = x.dim(1)?;
        let pos = x.transpose(1, 2)?.contiguous()?.conv1d(
            &self.pos_weight,
            self.cfg.pos_kernel / 2,
            1,
            1,
            self.cfg.pos_groups,
        )?;
        let pos = pos
            .narrow(2, 0, frames)?
            .broadcast_add(&self.pos_bias.reshape((1, (), 1))?)?
            .gelu_erf()?
            .transpose(1, 2)?;
        let mut x = self.encoder_norm.forward(&(x + pos)?)?;
        for block in &self.blocks {
            x = block.forward(&x)?;
        }
        Ok(x)
    }
}

impl Backbone for Hubert {
    fn id(&self) -> &str {
        &self.id
    }

    fn dim(&self) -> usize {
        self.cfg.hidden
    }

    fn input(&self) -> InputSpec {
        InputSpec::Audio {
            sample_rate: 16_000,
            window: None,
            min_samples: self.cfg.min_samples(),
        }
    }

    fn embed(&self, input: &BackboneInput) -> Result<Tensor> {
        let (samples, lengths) = input.audio()?;
        let hidden = self.forward(samples)?;
        let t = hidden.dim(1)?;
        if t == 0 {
            return Err(Error::BadInput(
                "clips too short for HuBERT's feature encoder".into(),
            ));
        }
        let rows = lengths
            .iter()
            .enumerate()
            .map(|(i, &n)| match self.pooling {
                HubertPooling::Mean => {
                    let frames = self.cfg.frames(n).clamp(1, t);
                    hidden.get(i)?.narrow(0, 0, frames)?.mean(0)
                }
                HubertPooling::First => hidden.get(i)?.get(0),
            })
            .collect::<candle_core::Result<Vec<_>>>()?;
        Ok(Tensor::stack(&rows, 0)?)
    }
}
