//! Whisper's log-mel front end and encoder against transformers (`WhisperFeatureExtractor`,
//! `WhisperModel` with synthetic weights). Reference: tests/fixtures/audio/whisper_reference.safetensors,
//! made by tests/fixtures/audio/make_whisper_fixtures.py.

use candle_core::{DType, Device, IndexOp, Tensor};
use candle_nn::VarBuilder;
use nona_backbones::audio::mel::{LogMel, N_FRAMES, N_SAMPLES};
use nona_backbones::audio::whisper::{Pooling, WhisperConfig, WhisperEncoder};
use nona_backbones::weights::{SyntheticWeights, synthetic_values};
use nona_backbones::{Backbone, BackboneInput, InputSpec};
use nona_testkit::Gap;

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/fixtures/audio/whisper_reference.safetensors"
);
const TOLERANCE: f64 = 1e-4;

/// The fixture's two clips: 3.7 s, and 31 s (truncated to 30 s).
fn clips() -> Vec<Vec<f32>> {
    [("audio0", 59_200), ("audio1", 496_000)]
        .iter()
        .map(|&(name, n)| {
            synthetic_values(name, &[n])
                .into_iter()
                .map(|v| 0.3 * v)
                .collect()
        })
        .collect()
}

fn reference() -> std::collections::HashMap<String, Tensor> {
    candle_core::safetensors::load(FIXTURE, &Device::Cpu).unwrap()
}

/// The small random config of the fixture script.
fn small_config() -> WhisperConfig {
    WhisperConfig {
        ffn_dim: 128,
        ..WhisperConfig::new(64, 2, 4)
    }
}

fn encoder(pooling: Pooling, device: &Device) -> WhisperEncoder {
    let vb = VarBuilder::from_backend(Box::new(SyntheticWeights), DType::F32, device.clone());
    WhisperEncoder::new(
        "whisper_small_random",
        vb.pp("encoder"),
        small_config(),
        pooling,
    )
    .unwrap()
}

#[test]
#[allow(clippy::print_stdout, reason = "the measured errors are reported")]
fn log_mel_matches_whisper_feature_extractor() {
    let expected = reference();
    let front = LogMel::new(80);
    for (b, clip) in clips().iter().enumerate() {
        let mel = Tensor::from_vec(front.compute(clip), (80, N_FRAMES), &Device::Cpu).unwrap();
        for (key, start, len) in [("mel.head", 0, 300), ("mel.tail", 2950, 50)] {
            let actual = mel.narrow(1, start, len).unwrap();
            let reference = expected[key].i(b).unwrap();
            let gap = Gap::of_tensors(&actual, &reference);
            println!("clip {b} {key}: max abs error {:.2e}", gap.max_abs);
            assert!(gap.max_abs < TOLERANCE, "clip {b} {key}: {gap}");
        }
    }
}

nona_testkit::device_tests!(
    encoder_matches_transformers_whisper_model,
    hubert_matches_transformers_hubert_model
);

#[allow(clippy::print_stdout, reason = "the measured errors are reported")]
fn encoder_matches_transformers_whisper_model(device: &Device) {
    let expected = reference();
    let clips = clips();
    let lengths: Vec<usize> = clips.iter().map(|c| c.len().min(N_SAMPLES)).collect();
    let mut flat = vec![0.0f32; 2 * N_SAMPLES];
    for (b, clip) in clips.iter().enumerate() {
        let n = lengths[b];
        flat[b * N_SAMPLES..b * N_SAMPLES + n].copy_from_slice(&clip[..n]);
    }
    let samples = Tensor::from_vec(flat, (2, N_SAMPLES), device).unwrap();
    let input = BackboneInput::Audio {
        samples,
        lengths: lengths.clone(),
    };

    let audio = encoder(Pooling::AudioFrames, device);
    assert_eq!(
        audio.input(),
        InputSpec::Audio {
            sample_rate: 16_000,
            window: Some(N_SAMPLES),
            min_samples: 1,
        }
    );
    let mels: Vec<Tensor> = clips
        .iter()
        .map(|c| Tensor::from_vec(audio.log_mel(c), (80, N_FRAMES), device).unwrap())
        .collect();
    let hidden = audio
        .forward_mel(&Tensor::stack(&mels, 0).unwrap())
        .unwrap();
    assert_eq!(hidden.dims(), &[2, 1500, 64]);
    let head = hidden.narrow(1, 0, 20).unwrap();
    let gap = Gap::of_tensors(&head, &expected["encoder.head"]);
    println!(
        "encoder hidden states (first 20 frames): relative error {:.2e}",
        gap.relative()
    );
    assert!(gap.relative() < TOLERANCE, "hidden: {gap}");

    for (pooling, key) in [
        (Pooling::AudioFrames, "encoder.pooled_audio"),
        (Pooling::AllFrames, "encoder.pooled_all"),
    ] {
        let pooled = encoder(pooling, device).embed(&input).unwrap();
        assert_eq!(pooled.dims(), &[2, 64]);
        let gap = Gap::of_tensors(&pooled, &expected[key]);
        println!("{key}: relative error {:.2e}", gap.relative());
        assert!(gap.relative() < TOLERANCE, "{key}: {gap}");
    }
}

#[test]
fn audio_input_is_checked() {
    let samples = Tensor::zeros((2, 100), DType::F32, &Device::Cpu).unwrap();
    let bad = BackboneInput::Audio {
        samples: samples.clone(),
        lengths: vec![100],
    };
    assert!(bad.audio().is_err());
    let too_long = BackboneInput::Audio {
        samples,
        lengths: vec![100, 101],
    };
    assert!(too_long.audio().is_err());
    assert!(
        BackboneInput::Images(Tensor::zeros((1, 3, 4, 4), DType::F32, &Device::Cpu).unwrap())
            .audio()
            .is_err()
    );
}

#[allow(clippy::print_stdout, reason = "the measured errors are reported")]
fn hubert_matches_transformers_hubert_model(device: &Device) {
    use nona_backbones::audio::hubert::{Hubert, HubertConfig, HubertPooling};
    let expected = candle_core::safetensors::load(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/audio/hubert_reference.safetensors"
        ),
        &Device::Cpu,
    )
    .unwrap();
    let cfg = HubertConfig {
        conv_layers: vec![(32, 10, 5), (32, 3, 2), (32, 3, 2)],
        hidden: 32,
        layers: 2,
        heads: 4,
        intermediate: 64,
        pos_kernel: 16,
        pos_groups: 4,
        eps: 1e-5,
    };
    assert_eq!(cfg.min_samples(), 10 + (3 + 2 * 2 - 1) * 5);
    assert_eq!(cfg.frames(cfg.min_samples()), 1);
    assert_eq!(cfg.frames(cfg.min_samples() - 1), 0);
    assert_eq!(HubertConfig::base().min_samples(), 400);
    let vb = VarBuilder::from_backend(Box::new(SyntheticWeights), DType::F32, device.clone());
    let hubert = Hubert::new("hubert_small_random", vb.clone(), cfg.clone()).unwrap();
    let lengths = vec![16_000, 9_600];
    let mut flat = vec![0.0f32; 2 * 16_000];
    for (b, &n) in lengths.iter().enumerate() {
        let clip = synthetic_values(&format!("hubert{b}"), &[n]);
        for (o, v) in flat[b * 16_000..b * 16_000 + n].iter_mut().zip(clip) {
            *o = 0.3 * v;
        }
    }
    let samples = Tensor::from_vec(flat, (2, 16_000), device).unwrap();
    let hidden = hubert.forward(&samples).unwrap();
    let head = hidden.narrow(1, 0, 12).unwrap();
    let gap = Gap::of_tensors(&head, &expected["head"]);
    println!(
        "hubert hidden states (first 12 frames): relative error {:.2e}",
        gap.relative()
    );
    assert!(gap.relative() < TOLERANCE, "hidden: {gap}");
    let input = BackboneInput::Audio { samples, lengths };
    let pooled = hubert.embed(&input).unwrap();
    let gap = Gap::of_tensors(&pooled, &expected["pooled_audio"]);
    println!(
        "hubert pooled over audio frames: relative error {:.2e}",
        gap.relative()
    );
    assert!(gap.relative() < TOLERANCE, "pooled: {gap}");
    // First-frame pooling is frame 0 of transformers' last hidden state.
    let first = Hubert::new("hubert_small_random", vb, cfg)
        .unwrap()
        .with_pooling(HubertPooling::First)
        .embed(&input)
        .unwrap();
    let frame0 = expected["head"]
        .narrow(1, 0, 1)
        .unwrap()
        .squeeze(1)
        .unwrap();
    let gap = Gap::of_tensors(&first, &frame0);
    println!(
        "hubert first-frame pooling: relative error {:.2e}",
        gap.relative()
    );
    assert!(gap.relative() < TOLERANCE, "first frame: {gap}");
}
