//! Whisper's audio encoder (Radford et al. 2022) as a [`Backbone`]: log-mel front end, two
//! convolutions with GELU (the second with stride 2), sinusoidal positions, pre-norm transformer
//! blocks and a final layer norm, then mean pooling over frames.
//!
//! On the CPU the encoder runs on plain slices with the fused kernels of `nona_kernels` ([`cpu`]:
//! both convolutions as one product each over the frame-major log-mel, one `[Q|K|V]` product per
//! block); elsewhere with candle ops ([`device`]).
//!
//! Parameter names follow transformers' `WhisperEncoder` (`conv1`, `layers.{i}.self_attn.q_proj`,
//! `layers.{i}.fc1`, `layer_norm`, …) relative to the [`VarBuilder`] given.

mod cpu;
mod device;

use candle_core::{DType, Device, Shape, Tensor};
use candle_nn::VarBuilder;
use rayon::prelude::*;

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

/// A `weight` and `bias` pair.
type Affine = (Tensor, Tensor);

fn affine(vb: VarBuilder, weight: impl Into<Shape>, outputs: usize) -> Result<Affine> {
    Ok((vb.get(weight, "weight")?, vb.get(outputs, "bias")?))
}

/// One pre-norm block's parameters.
struct BlockWeights {
    attn_norm: Affine,
    /// `[query; key; value]` projection, `3d` outputs (the key has no bias: zeros).
    qkv: Affine,
    out: Affine,
    ffn_norm: Affine,
    fc1: Affine,
    fc2: Affine,
}

impl BlockWeights {
    fn read(vb: VarBuilder, cfg: &WhisperConfig) -> Result<Self> {
        let (d, f) = (cfg.d_model, cfg.ffn_dim);
        let attn = vb.pp("self_attn");
        let (q, v) = (
            affine(attn.pp("q_proj"), (d, d), d)?,
            affine(attn.pp("v_proj"), (d, d), d)?,
        );
        let k = attn.pp("k_proj").get((d, d), "weight")?;
        let no_bias = Tensor::zeros(d, DType::F32, k.device())?;
        Ok(Self {
            attn_norm: affine(vb.pp("self_attn_layer_norm"), d, d)?,
            qkv: (
                Tensor::cat(&[q.0, k, v.0], 0)?,
                Tensor::cat(&[q.1, no_bias, v.1], 0)?,
            ),
            out: affine(attn.pp("out_proj"), (d, d), d)?,
            ffn_norm: affine(vb.pp("final_layer_norm"), d, d)?,
            fc1: affine(vb.pp("fc1"), (f, d), f)?,
            fc2: affine(vb.pp("fc2"), (d, f), d)?,
        })
    }
}

/// All parameters of an encoder.
struct EncoderWeights {
    /// `(d, n_mels, 3)`.
    conv1: Affine,
    /// `(d, d, 3)`.
    conv2: Affine,
    blocks: Vec<BlockWeights>,
    norm: Affine,
}

impl EncoderWeights {
    fn read(vb: VarBuilder, cfg: &WhisperConfig) -> Result<Self> {
        let d = cfg.d_model;
        Ok(Self {
            conv1: affine(vb.pp("conv1"), (d, cfg.n_mels, 3), d)?,
            conv2: affine(vb.pp("conv2"), (d, d, 3), d)?,
            blocks: (0..cfg.layers)
                .map(|i| BlockWeights::read(vb.pp(format!("layers.{i}")), cfg))
                .collect::<Result<_>>()?,
            norm: affine(vb.pp("layer_norm"), d, d)?,
        })
    }
}

/// The forward pass an encoder runs, by the device of its weights.
enum Pass {
    Cpu(cpu::CpuEncoder),
    Device(device::DeviceEncoder),
}

/// Whisper's encoder with mean pooling.
pub struct WhisperEncoder {
    id: String,
    cfg: WhisperConfig,
    pooling: Pooling,
    mel: LogMel,
    pass: Pass,
}

impl WhisperEncoder {
    /// Builds the encoder from `vb` (encoder-level names: `conv1.weight`, `layers.0.…`).
    pub fn new(
        id: impl Into<String>,
        vb: VarBuilder,
        cfg: WhisperConfig,
        pooling: Pooling,
    ) -> Result<Self> {
        let on_cpu = matches!(vb.device(), Device::Cpu);
        let positions = sinusoids(cfg.max_source_positions, cfg.d_model, vb.device())?;
        let weights = EncoderWeights::read(vb, &cfg)?;
        let pass = if on_cpu {
            Pass::Cpu(cpu::CpuEncoder::new(&cfg, weights, &positions)?)
        } else {
            Pass::Device(device::DeviceEncoder::new(&cfg, weights, positions)?)
        };
        Ok(Self {
            id: id.into(),
            mel: LogMel::new(cfg.n_mels),
            pass,
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

    /// Encoder output `(B, ⌈frames / 2⌉, d)` for log-mel input `(B, n_mels, frames)`.
    pub fn forward_mel(&self, mel: &Tensor) -> Result<Tensor> {
        let (b, n_mels, frames) = mel.dims3()?;
        if n_mels != self.cfg.n_mels || frames == 0 {
            return Err(Error::BadInput(format!(
                "log-mel input {:?}, expected (B, {}, frames)",
                mel.dims(),
                self.cfg.n_mels
            )));
        }
        let out_frames = frames.div_ceil(2);
        if out_frames > self.cfg.max_source_positions {
            return Err(Error::BadInput(format!(
                "{out_frames} encoder frames exceed the {} positions",
                self.cfg.max_source_positions
            )));
        }
        match &self.pass {
            Pass::Cpu(encoder) => {
                let frame_major = mel.transpose(1, 2)?.flatten_all()?.to_vec1::<f32>()?;
                let hidden = encoder.forward(&frame_major, b, frames);
                Ok(Tensor::from_vec(
                    hidden,
                    (b, out_frames, self.cfg.d_model),
                    mel.device(),
                )?)
            }
            Pass::Device(encoder) => encoder.forward(mel),
        }
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
        let hidden = match &self.pass {
            Pass::Cpu(encoder) => {
                // Frame-major log-mels of all clips, computed in parallel, straight into the encoder.
                let mels: Vec<Vec<f32>> = clips
                    .par_iter()
                    .zip(lengths)
                    .map(|(clip, &n)| self.mel.compute_frames(&clip[..n.min(clip.len())]))
                    .collect();
                let hidden = encoder.forward(&mels.concat(), clips.len(), N_FRAMES);
                let frames = hidden.len() / (clips.len() * self.cfg.d_model);
                Tensor::from_vec(hidden, (clips.len(), frames, self.cfg.d_model), device)?
            }
            Pass::Device(_) => {
                let mels = clips
                    .iter()
                    .zip(lengths)
                    .map(|(clip, &n)| {
                        let mel = self.mel.compute(&clip[..n.min(clip.len())]);
                        Tensor::from_vec(mel, (self.cfg.n_mels, N_FRAMES), device)
                    })
                    .collect::<candle_core::Result<Vec<_>>>()?;
                self.forward_mel(&Tensor::stack(&mels, 0)?)?
            }
        };
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

#[cfg(test)]
mod tests {
    use candle_core::{DType, Device, Tensor};
    use candle_nn::VarBuilder;
    use nona_testkit::Gap;

    use super::{EncoderWeights, WhisperConfig, cpu::CpuEncoder, device::DeviceEncoder, sinusoids};
    use crate::weights::{SyntheticWeights, synthetic_values};

    /// The candle pass (what CUDA runs) and the CPU pass agree on the CPU, on an odd number of
    /// frames (the last window of the strided convolution reaches the padding frame); parity with
    /// transformers is tests/audio_parity.rs.
    #[test]
    fn device_and_cpu_passes_agree() {
        let cfg = WhisperConfig {
            n_mels: 12,
            ffn_dim: 40,
            max_source_positions: 32,
            ..WhisperConfig::new(24, 2, 3)
        };
        let read = || {
            let vb = VarBuilder::from_backend(Box::new(SyntheticWeights), DType::F32, Device::Cpu);
            EncoderWeights::read(vb, &cfg).unwrap()
        };
        let positions = sinusoids(32, 24, &Device::Cpu).unwrap();
        let cpu = CpuEncoder::new(&cfg, read(), &positions).unwrap();
        let device = DeviceEncoder::new(&cfg, read(), positions).unwrap();
        let (b, frames) = (2, 41);
        let mel = Tensor::from_vec(
            synthetic_values("mel", &[b * 12 * frames]),
            (b, 12, frames),
            &Device::Cpu,
        )
        .unwrap();
        let expected = device.forward(&mel).unwrap();
        let frame_major = mel
            .transpose(1, 2)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        let actual = Tensor::from_vec(
            cpu.forward(&frame_major, b, frames),
            (b, 21, 24),
            &Device::Cpu,
        )
        .unwrap();
        let gap = Gap::of_tensors(&actual, &expected);
        assert!(gap.relative() < 1e-5, "{gap}");
    }
}
