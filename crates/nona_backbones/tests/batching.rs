//! An embedding does not depend on the batch it is computed in: a text alone and the same text
//! inside a right-padded batch of longer and shorter ones, a clip alone and inside a batch, give
//! the same vector to 1e-5 relative (the CPU passes compute no padding and attend per sequence).

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use nona_backbones::audio::mel::N_SAMPLES;
use nona_backbones::audio::whisper::{Pooling as AudioPooling, WhisperConfig, WhisperEncoder};
use nona_backbones::text::{EncoderConfig, Layout, Pooling, TextEncoder};
use nona_backbones::weights::{SyntheticWeights, synthetic_values};
use nona_backbones::{Backbone, BackboneInput};
use nona_testkit::Gap;

const TOLERANCE: f64 = 1e-5;

fn synthetic() -> VarBuilder<'static> {
    VarBuilder::from_backend(Box::new(SyntheticWeights), DType::F32, Device::Cpu)
}

/// Right-padded `(B, L)` ids, mask and token types of `texts`.
fn tokens(texts: &[Vec<u32>]) -> BackboneInput {
    let width = texts.iter().map(Vec::len).max().unwrap();
    let mut ids = vec![0u32; texts.len() * width];
    let mut mask = vec![0u32; texts.len() * width];
    let mut types = vec![0u32; texts.len() * width];
    for (row, text) in texts.iter().enumerate() {
        for (p, &id) in text.iter().enumerate() {
            ids[row * width + p] = id;
            mask[row * width + p] = 1;
            types[row * width + p] = u32::from(p >= text.len() / 2);
        }
    }
    let tensor = |values| Tensor::from_vec(values, (texts.len(), width), &Device::Cpu).unwrap();
    BackboneInput::Tokens {
        input_ids: tensor(ids),
        attention_mask: tensor(mask),
        token_type_ids: Some(tensor(types)),
    }
}

#[test]
fn a_text_embeds_the_same_alone_and_in_a_padded_batch() {
    let config = EncoderConfig {
        layout: Layout::Bert,
        vocab_size: 100,
        hidden_size: 64,
        num_layers: 2,
        num_heads: 4,
        intermediate_size: 128,
        max_position_embeddings: 32,
        type_vocab_size: 2,
        layer_norm_eps: 1e-12,
        max_tokens: 32,
    };
    let texts: Vec<Vec<u32>> = [3usize, 17, 9, 1, 30]
        .iter()
        .enumerate()
        .map(|(i, &n)| (0..n).map(|t| ((i * 31 + t * 7) % 97 + 1) as u32).collect())
        .collect();
    for pooling in [Pooling::CLS, Pooling::MEAN_NORMALIZED] {
        let encoder = TextEncoder::new("tiny", &config, pooling, synthetic()).unwrap();
        let batch = encoder.embed(&tokens(&texts)).unwrap();
        for (row, text) in texts.iter().enumerate() {
            let alone = encoder.embed(&tokens(std::slice::from_ref(text))).unwrap();
            let gap = Gap::of_tensors(&batch.narrow(0, row, 1).unwrap(), &alone);
            assert!(gap.relative() < TOLERANCE, "{pooling:?} text {row}: {gap}");
        }
    }
}

#[test]
fn a_clip_embeds_the_same_alone_and_in_a_batch() {
    let cfg = WhisperConfig {
        ffn_dim: 128,
        ..WhisperConfig::new(64, 2, 4)
    };
    let encoder =
        WhisperEncoder::new("small", synthetic(), cfg, AudioPooling::AudioFrames).unwrap();
    let lengths = [59_200, 160_000];
    let audio = |clips: &[usize]| {
        let mut samples = vec![0.0f32; clips.len() * N_SAMPLES];
        for (row, &clip) in clips.iter().enumerate() {
            let values = synthetic_values(&format!("clip{clip}"), &[lengths[clip]]);
            samples[row * N_SAMPLES..][..lengths[clip]].copy_from_slice(&values);
        }
        BackboneInput::Audio {
            samples: Tensor::from_vec(samples, (clips.len(), N_SAMPLES), &Device::Cpu).unwrap(),
            lengths: clips.iter().map(|&clip| lengths[clip]).collect(),
        }
    };
    let batch = encoder.embed(&audio(&[0, 1])).unwrap();
    for clip in 0..2 {
        let alone = encoder.embed(&audio(&[clip])).unwrap();
        let gap = Gap::of_tensors(&batch.narrow(0, clip, 1).unwrap(), &alone);
        assert!(gap.relative() < TOLERANCE, "clip {clip}: {gap}");
    }
}
