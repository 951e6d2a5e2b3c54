//! EfficientNet-Lite0 with its real ImageNet weights classifies two public-domain photos exactly as
//! PyTorch does (tests/fixtures/backbones/lite0_real.safetensors). Needs the weights prepared by
//! scripts/weights/efficientnet_lite0.sh; skipped with a message when they are absent.

use candle_core::{D, DType, Device};
use nona_backbones::{BackboneInput, Error, WeightsLocator, load_backbone};
use nona_testkit::Gap;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

nona_testkit::device_tests!(lite0_real_weights_match_pytorch_classes);

#[allow(
    clippy::print_stderr,
    clippy::print_stdout,
    reason = "a skipped test says why; the error is reported"
)]
fn lite0_real_weights_match_pytorch_classes(device: &Device) {
    let mut locator = WeightsLocator::from_env();
    if std::env::var_os("NONA_WEIGHTS_DIR").is_none() {
        locator.weights_dir = format!("{ROOT}/weights").into();
    }
    let loaded = match load_backbone("efficientnet_lite0", device, &locator) {
        Err(Error::WeightsNotFound(message)) => {
            eprintln!("SKIPPED lite0_real_weights_match_pytorch_classes: {message}");
            return;
        }
        other => other.unwrap(),
    };
    let fixture = candle_core::safetensors::load(
        format!("{ROOT}/tests/fixtures/backbones/lite0_real.safetensors"),
        &Device::Cpu,
    )
    .unwrap();
    // (N, 224, 224, 3) RGB bytes → NCHW (x - 127) / 128, exact in f32 as in PyTorch.
    let images = fixture["images"]
        .to_device(device)
        .unwrap()
        .permute((0, 3, 1, 2))
        .unwrap()
        .to_dtype(DType::F32)
        .unwrap();
    let images = ((images - 127.0).unwrap() / 128.0).unwrap();
    let pooled = loaded
        .backbone
        .embed(&BackboneInput::Images(images))
        .unwrap();

    let weights = loaded.weights.load(device).unwrap();
    let logits = pooled
        .matmul(&weights["_fc.weight"].t().unwrap())
        .unwrap()
        .broadcast_add(&weights["_fc.bias"])
        .unwrap();
    let expected = &fixture["logits"];
    let gap = Gap::of_tensors(&logits, expected);
    println!(
        "efficientnet_lite0 real weights: logits relative error {:.2e}",
        gap.relative()
    );
    assert!(gap.relative() < 1e-4, "logits {gap}");

    let top1 = logits.argmax(D::Minus1).unwrap().to_vec1::<u32>().unwrap();
    let expected_top5 = fixture["top5"].to_vec2::<i64>().unwrap();
    for (photo, (class, top5)) in top1.iter().zip(&expected_top5).enumerate() {
        assert_eq!(i64::from(*class), top5[0], "photo {photo}");
    }
    // chelsea is a cat (ImageNet 281-285), coffee an espresso (967).
    assert!((281..=285).contains(&expected_top5[0][0]) && expected_top5[1][0] == 967);
}
