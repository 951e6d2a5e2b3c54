//! Pooled outputs equal PyTorch's on the same (synthetic) weights, for every registered backbone.
//! Reference: tests/fixtures/backbones/parity_random.safetensors, made by make_backbone_fixtures.py.

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use nona_backbones::weights::{SyntheticWeights, synthetic_values};
use nona_backbones::{BackboneInput, InputKind, backbone_names_for, build_backbone};
use nona_testkit::Gap;

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/fixtures/backbones"
);
const TOLERANCE: f64 = 1e-4;

nona_testkit::device_tests!(pooled_outputs_match_pytorch);

#[allow(clippy::print_stdout, reason = "the measured errors are reported")]
fn pooled_outputs_match_pytorch(device: &Device) {
    let expected = candle_core::safetensors::load(
        format!("{FIXTURES}/parity_random.safetensors"),
        &Device::Cpu,
    )
    .unwrap();
    // Text backbones: tests/text_parity.rs; audio: tests/audio_parity.rs.
    for name in backbone_names_for(InputKind::Image) {
        let weights =
            VarBuilder::from_backend(Box::new(SyntheticWeights), DType::F32, device.clone());
        let backbone = build_backbone(name, weights).unwrap();
        for (batch, shape) in [("b1", [1, 3, 224, 224]), ("b3", [3, 3, 200, 200])] {
            let input =
                Tensor::from_vec(synthetic_values("input", &shape), &shape, device).unwrap();
            let pooled = backbone.embed(&BackboneInput::Images(input)).unwrap();
            let reference = &expected[&format!("{name}.{batch}")];
            assert_eq!(pooled.dims(), reference.dims(), "{name} {batch}");
            assert_eq!(pooled.dims()[1], backbone.dim());
            let gap = Gap::of_tensors(&pooled, reference);
            println!("{name} {batch}: relative error {:.2e}", gap.relative());
            assert!(gap.relative() < TOLERANCE, "{name} {batch}: {gap}");
        }
    }
}
