//! Whisper's audio encoder (Radford et al. 2022) as a [`Backbone`]: log-mel front end, two
//! convolutions with GELU (the second with stride 2), sinusoidal positions, pre-norm transformer
//! blocks and a final layer norm, then mean pooling over frames.
//!
//! Parameter names follow transformers' `WhisperEncoder` (`conv1`, `layers.{i}.self_attn.q_proj`,
//! `layers.{i}.fc1`, `layer_norm`, …) relative to the [`VarBuilder`] given.

use candle_core::{DType, Device, Module, Tensor};
use candle_nn::{Conv1d, Conv1dConfig, LayerNorm, Linear, VarBuilder};

use super::mel::{HOP_LENGTH, LogMel, N_FRAMES, N_SAMPLES, SAMPLE_RATE};
use crate::backbone::{Backbone, BackboneInput, InputSpec};
use crate::weights::ctranslate2::Ct2Model;
use crate::{Error, Result};

/// Shape of a Whisper encoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WhisperConfig {
    /// Mel bins of the input (80; 128 for large-v3).
    pub n_mels: usize,
    /// Width `d`.
    pub d_model: usize,
    /// Transformer blocks.
    pub layers: usize,
    /// Attention heads.
    pub heads: usize,
    /// Hidden width of the feed-forward blocks.
    pub ffn_dim: usize,
    /// Output frames of a 30 s window (1500).
    pub max_source_positions: usize,
}

impl WhisperConfig {
    /// Whisper tiny / tiny.en: d 384, 4 layers, 6 heads.
    pub const TINY: Self = Self::new(384, 4, 6);
    /// Whisper base / base.en: d 512, 6 layers, 8 heads.
    pub const BASE: Self = Self::new(512, 6, 8);
    /// Whisper small / small.en: d 768, 12 layers, 12 heads.
    pub const SMALL: Self = Self::new(768, 12, 12);

    /// 80 mel bins, 1500 positions, feed-forward width `4 d`.
    pub const fn new(d_model: usize, layers: usize, heads: usize) -> Self {
        Self {
            n_mels: 80,
            d_model,
            layers,
            heads,
            ffn_dim: 4 * d_model,
            max_source_positions: 1500,
        }
    }

    /// The shape of the encoder stored in a CTranslate2 `WhisperSpec` model; `None` for another
    /// spec or a file without the encoder's variables.
    pub fn from_ctranslate2(model: &Ct2Model) -> Option<Self> {
        if model.spec != "WhisperSpec" {
            return None;
        }
        let shape = |name: &str| model.variables.get(name).map(|v| v.shape.as_slice());
        let &[d_model, n_mels, _] = shape("encoder/conv1/weight")? else {
            return None;
        };
        Some(Self {
            n_mels,
            d_model,
            layers: model.encoder_layers(),
            heads: usize::try_from(model.scalar("encoder/num_heads")?).ok()?,
            ffn_dim: *shape("encoder/layer_0/ffn/linear_0/weight")?.first()?,
            max_source_positions: shape("encoder/position_encodings/encodings")
                .and_then(|shape| shape.first().copied())
                .unwrap_or(1500),
        })
    }
}

/// Which encoder frames are averaged into the embedding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Pooling {
    /// Only frames that overlap real audio: the first `ceil(samples / 320)` of the 1500
    /// (each output frame covers 320 samples, 20 ms).
    #[default]
    AudioFrames,
    /// All 1500 frames, padding included (what a fixed 30 s window sees).
    AllFrames,
}

/// Whisper's sinusoidal position table `(length, channels)`: `[sin(t·ω_i), cos(t·ω_i)]` with
/// `ω_i = 10000^(−i / (channels/2 − 1))`.
pub fn sinusoids(length: usize, channels: usize, device: &Device) -> Result<Tensor> {
    let half = channels / 2;
    let increment = 10000f32.ln() / (half.max(2) - 1) as f32;
    let mut table = vec![0.0f32; length * channels];
    for t in 0..length {
        for i in 0..half {
            let inv = (-increment * i as f32).exp();
            let angle = t as f32 * inv;
            table[t * channels + i] = angle.sin();
            table[t * channels + half + i] = angle.cos();
        }
    }
    Ok(Tensor::from_vec(table, (length, channels), device)?)
}

struct Block {
    attn_norm: LayerNorm,
    q: Linear,
    k: Linear,
    v: Linear,
    out: Linear,
    ffn_norm: LayerNorm,
    fc1: Linear,
    fc2: Linear,
    heads: usize,
}

impl Block {
    fn new(vb: VarBuilder, cfg: &WhisperConfig) -> Result<Self> {
        let d = cfg.d_model;
        let attn = vb.pp("self_attn");
        Ok(Self {
            attn_norm: candle_nn::layer_norm(d, 1e-5, vb.pp("self_attn_layer_norm"))?,
            q: candle_nn::linear(d, d, attn.pp("q_proj"))?,
            k: candle_nn::linear_no_bias(d, d, attn.pp("k_proj"))?,
            v: candle_nn::linear(d, d, attn.pp("v_proj"))?,
            out: candle_nn::linear(d, d, attn.pp("out_proj"))?,
            ffn_norm: candle_nn::layer_norm(d, 1e-5, vb.pp("final_layer_norm"))?,
            fc1: candle_nn::linear(d, cfg.ffn_dim, vb.pp("fc1"))?,
            fc2: candle_nn::linear(cfg.ffn_dim, d, vb.pp("fc2"))?,
            heads: cfg.heads,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (b, t, d) = x.dims3()?;
        let head_dim = d / self.heads;
        let h = self.attn_norm.forward(x)?;
        let split = |y: Tensor| -> candle_core::Result<Tensor> {
            y.reshape((b, t, self.heads, head_dim))?
                .transpose(1, 2)?
                .contiguous()
        };
        let scale = (head_dim as f64).powf(-0.5);
        let q = split((self.q.forward(&h)? * scale)?)?;
        let k = split(self.k.forward(&h)?)?;
        let v = split(self.v.forward(&h)?)?;
        let weights = candle_nn::ops::softmax_last_dim(&q.matmul(&k.t()?)?)?;
        let attended = weights.matmul(&v)?.transpose(1, 2)?.reshape((b, t, d))?;
        let x = (x + self.out.forward(&attended)?)?;
        let h = self.ffn_norm.forward(&x)?;
        let h = self.fc2.forward(&self.fc1.forward(&h)?.gelu_erf()?)?;
        Ok((x + h)?)
    }
}

/// Whisper's encoder with mean pooling.
pub struct WhisperEncoder {
    id: String,
    cfg: WhisperConfig,
    pooling: Pooling,
    mel: LogMel,
    conv1: Conv1d,
    conv2: Conv1d,
    positions: Tensor,
    blocks: Vec<Block>,
    norm: LayerNorm,
}

impl WhisperEncoder {
    /// Builds the encoder from `vb` (encoder-level names: `conv1.weight`, `layers.0.…`).
    pub fn new(
        id: impl Into<String>,
        vb: VarBuilder,
        cfg: WhisperConfig,
        pooling: Pooling,
    ) -> Result<Self> {
        let d = cfg.d_model;
        let conv = |stride| Conv1dConfig {
            padding: 1,
            stride,
            ..Default::default()
        };
        Ok(Self {
            id: id.into(),
            mel: LogMel::new(cfg.n_mels),
            conv1: candle_nn::conv1d(cfg.n_mels, d, 3, conv(1), vb.pp("conv1"))?,
            conv2: candle_nn::conv1d(d, d, 3, conv(2), vb.pp("conv2"))?,
            positions: sinusoids(cfg.max_source_positions, d, vb.device())?,
            blocks: (0..cfg.layers)
                .map(|i| Block::new(vb.pp(format!("layers.{i}")), &cfg))
                .collect::<Result<_>>()?,
            norm: candle_nn::layer_norm(d, 1e-5, vb.pp("layer_norm"))?,
            cfg,
            pooling,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &WhisperConfig {
        &self.cfg
    }

    /// The log-mel spectrogram `(n_mels, 3000)` of one 16 kHz clip, as Whisper computes it.
    pub fn log_mel(&self, samples: &[f32]) -> Vec<f32> {
        self.mel.compute(samples)
    }

    /// Encoder output `(B, frames / 2, d)` for log-mel input `(B, n_mels, frames)`.
    pub fn forward_mel(&self, mel: &Tensor) -> Result<Tensor> {
        let x = self.conv1.forward(mel)?.gelu_erf()?;
        let x = self.conv2.forward(&x)?.gelu_erf()?.transpose(1, 2)?;
        let frames = x.dim(1)?;
        if frames > self.cfg.max_source_positions {
            return Err(Error::BadInput(format!(
                "{frames} encoder frames exceed the {} positions",
                self.cfg.max_source_positions
            )));
        }
        let mut x = x.broadcast_add(&self.positions.narrow(0, 0, frames)?)?;
        for block in &self.blocks {
            x = block.forward(&x)?;
        }
        Ok(self.norm.forward(&x)?)
    }

    /// Mean of `hidden` `(B, T, d)` over the frames [`Pooling`] selects; `valid[b]` is the
    /// number of samples of clip `b` that carry audio.
    pub fn pool(&self, hidden: &Tensor, valid: &[usize]) -> Result<Tensor> {
        let (b, t, _) = hidden.dims3()?;
        match self.pooling {
            Pooling::AllFrames => Ok(hidden.mean(1)?),
            Pooling::AudioFrames => {
                if valid.len() != b {
                    return Err(Error::BadInput(format!(
                        "{} lengths for a batch of {b}",
                        valid.len()
                    )));
                }
                let rows = valid
                    .iter()
                    .enumerate()
                    .map(|(i, &n)| {
                        let frames = n.div_ceil(2 * HOP_LENGTH).clamp(1, t);
                        hidden.get(i)?.narrow(0, 0, frames)?.mean(0)
                    })
                    .collect::<candle_core::Result<Vec<_>>>()?;
                Ok(Tensor::stack(&rows, 0)?)
            }
        }
    }
}

impl Backbone for WhisperEncoder {
    fn id(&self) -> &str {
        &self.id
    }

    fn dim(&self) -> usize {
        self.cfg.d_model
    }

    fn input(&self) -> InputSpec {
        InputSpec::Audio {
            sample_rate: SAMPLE_RATE,
            window: Some(N_SAMPLES),
            min_samples: 1,
        }
    }

    fn embed(&self, input: &BackboneInput) -> Result<Tensor> {
        let (samples, lengths) = input.audio()?;
        let device = samples.device();
        let clips = samples.to_dtype(DType::F32)?.to_vec2::<f32>()?;
        let mels = clips
            .iter()
            .zip(lengths)
            .map(|(clip, &n)| {
                let mel = self.mel.compute(&clip[..n.min(clip.len())]);
                Tensor::from_vec(mel, (self.cfg.n_mels, N_FRAMES), device)
            })
            .collect::<candle_core::Result<Vec<_>>>()?;
        let hidden = self.forward_mel(&Tensor::stack(&mels, 0)?)?;
        self.pool(&hidden, lengths)
    }
}

/// Loads the encoder of a CTranslate2 Whisper `model.bin` (e.g. tiny.en from
/// `scripts/weights/whisper_tiny_en.sh`), configuration inferred from the file.
pub fn load_ctranslate2(
    id: impl Into<String>,
    path: &std::path::Path,
    device: &Device,
    pooling: Pooling,
) -> Result<WhisperEncoder> {
    let model = Ct2Model::read(path)?;
    let not_whisper = || Error::bad_file(path, "not a CTranslate2 WhisperSpec model");
    let cfg = WhisperConfig::from_ctranslate2(&model).ok_or_else(not_whisper)?;
    let tensors = model.whisper_encoder(device).ok_or_else(not_whisper)?;
    let vb = VarBuilder::from_tensors(tensors, DType::F32, device);
    WhisperEncoder::new(id, vb, cfg, pooling)
}
