//! Pooled outputs equal PyTorch's on the same (synthetic) weights, for every registered backbone.
//! Reference: tests/fixtures/backbones/parity_random.safetensors, made by make_backbone_fixtures.py.

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use nona_backbones::weights::{SyntheticWeights, synthetic_values};
use nona_backbones::{BackboneInput, InputKind, backbone_names_for, build_backbone};

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/fixtures/backbones"
);
const TOLERANCE: f32 = 1e-4;

/// `max |a - b| / max |b|`.
fn relative_error(actual: &Tensor, expected: &Tensor) -> f32 {
    let diff = (actual - expected)
        .unwrap()
        .abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar::<f32>()
        .unwrap();
    diff / expected
        .abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar::<f32>()
        .unwrap()
}

#[test]
#[allow(clippy::print_stdout, reason = "the measured errors are reported")]
fn pooled_outputs_match_pytorch() {
    let device = Device::Cpu;
    let expected =
        candle_core::safetensors::load(format!("{FIXTURES}/parity_random.safetensors"), &device)
            .unwrap();
    // Text backbones: tests/text_parity.rs; audio: tests/audio_parity.rs.
    for name in backbone_names_for(InputKind::Image) {
        let weights =
            VarBuilder::from_backend(Box::new(SyntheticWeights), DType::F32, device.clone());
        let backbone = build_backbone(name, weights).unwrap();
        for (batch, shape) in [("b1", [1, 3, 224, 224]), ("b3", [3, 3, 200, 200])] {
            let input =
                Tensor::from_vec(synthetic_values("input", &shape), &shape, &device).unwrap();
            let pooled = backbone.embed(&BackboneInput::Images(input)).unwrap();
            let reference = &expected[&format!("{name}.{batch}")];
            assert_eq!(pooled.dims(), reference.dims(), "{name} {batch}");
            assert_eq!(pooled.dims()[1], backbone.dim());
            let error = relative_error(&pooled, reference);
            println!("{name} {batch}: relative error {error:.2e}");
            assert!(
                error < TOLERANCE,
                "{name} {batch}: relative error {error:e}"
            );
        }
    }
}
