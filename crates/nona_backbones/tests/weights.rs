//! Weights resolution and file formats, without network or large files.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use nona_backbones::weights::{HfFile, WeightsFormat};
use nona_backbones::{Error, ResolvedWeights, WeightsLocator, WeightsSpec};

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/fixtures/backbones"
);

fn fixture(name: &str) -> PathBuf {
    Path::new(FIXTURES).join(name)
}

fn values(tensors: &HashMap<String, Tensor>, name: &str) -> Vec<f64> {
    tensors[name]
        .to_dtype(DType::F64)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap()
}

/// The content of `tiny_state_dict()` in make_backbone_fixtures.py.
fn assert_tiny_state_dict(tensors: &HashMap<String, Tensor>) {
    assert_eq!(tensors["conv.weight"].dims(), &[2, 3, 2, 2]);
    assert_eq!(
        values(tensors, "conv.weight"),
        (0..24).map(f64::from).collect::<Vec<_>>()
    );
    assert_eq!(tensors["bn.running_mean"].dtype(), DType::F64);
    assert_eq!(values(tensors, "bn.running_mean"), [0.5, -1.5]);
    assert_eq!(tensors["bn.num_batches_tracked"].dims(), &[] as &[usize]);
    assert_eq!(values(tensors, "bn.num_batches_tracked"), [7.0]);
    assert_eq!(tensors["half"].dtype(), DType::F16);
    assert_eq!(values(tensors, "half"), [1.0, 2.5, -3.0]);
    assert_eq!(
        values(tensors, "tail"),
        [4.0, 5.0, 6.0, 7.0, 8.0, 9.0],
        "view with a storage offset"
    );
    assert_eq!(tensors["param"].dims(), &[2, 2]);
    assert_eq!(values(tensors, "param"), [1.0, 2.0, 3.0, 4.0]);
}

#[test]
fn reads_the_same_state_dict_from_every_format() {
    for (file, format, sha256) in [
        (
            "tiny.safetensors",
            WeightsFormat::Safetensors,
            "0627627491c2c97978d415ef9eb5ba3ea9d660c2ce19cf183f8c28d037d1d937",
        ),
        (
            "tiny_zip.pth",
            WeightsFormat::TorchZip,
            "6e3ce20d4711419819d83a7ed805d6abb16128bd137bdb6539d98e2d7f6a0745",
        ),
        (
            "tiny_legacy.pth",
            WeightsFormat::TorchLegacy,
            "eab2c16ca27bcde90bce044ab38fe63d4b4669d068a2303de02ad77018eea311",
        ),
    ] {
        let resolved = ResolvedWeights::from_file(&fixture(file)).unwrap();
        assert_eq!(resolved.format, format, "{file}");
        assert_eq!(resolved.sha256, sha256, "{file}");
        assert_tiny_state_dict(&resolved.load(&Device::Cpu).unwrap());
    }
}

const SPEC: WeightsSpec = WeightsSpec {
    file_names: &["toy.safetensors", "toy-1234.pth"],
    hf: Some(HfFile {
        repo: "org/toy",
        revision: "main",
        file: "model.safetensors",
    }),
    origin: "the toy zoo",
};

fn offline_locator(root: &Path) -> WeightsLocator {
    WeightsLocator {
        file: None,
        weights_dir: root.join("weights"),
        hf_hub_cache: root.join("hub"),
        offline: true,
    }
}

#[test]
fn prefers_the_local_weights_directory() {
    let root = tempfile::tempdir().unwrap();
    let locator = offline_locator(root.path());
    std::fs::create_dir_all(&locator.weights_dir).unwrap();
    let local = locator.weights_dir.join("toy-1234.pth");
    std::fs::copy(fixture("tiny_legacy.pth"), &local).unwrap();
    let resolved = locator.resolve("toy", &SPEC).unwrap();
    assert_eq!(resolved.path, local);
    assert_eq!(resolved.format, WeightsFormat::TorchLegacy);
}

#[test]
fn an_explicit_file_wins_and_must_exist() {
    let root = tempfile::tempdir().unwrap();
    let mut locator = offline_locator(root.path());
    locator.file = Some(fixture("tiny.safetensors"));
    assert_eq!(
        locator.resolve("toy", &SPEC).unwrap().format,
        WeightsFormat::Safetensors
    );
    locator.file = Some(root.path().join("nope.safetensors"));
    let message = locator.resolve("toy", &SPEC).unwrap_err().to_string();
    assert!(
        message.contains("nope.safetensors") && message.contains("does not exist"),
        "{message}"
    );
}

#[test]
fn finds_the_hugging_face_cache_offline() {
    let root = tempfile::tempdir().unwrap();
    let locator = offline_locator(root.path());
    let repo = locator.hf_hub_cache.join("models--org--toy");
    let commit = "a".repeat(40);
    let snapshot = repo.join("snapshots").join(&commit);
    std::fs::create_dir_all(&snapshot).unwrap();
    std::fs::create_dir_all(repo.join("refs")).unwrap();
    std::fs::write(repo.join("refs/main"), &commit).unwrap();
    std::fs::copy(
        fixture("tiny.safetensors"),
        snapshot.join("model.safetensors"),
    )
    .unwrap();
    let resolved = locator.resolve("toy", &SPEC).unwrap();
    assert_eq!(resolved.path, snapshot.join("model.safetensors"));
}

#[test]
fn offline_refuses_to_download_and_says_what_to_provide() {
    let root = tempfile::tempdir().unwrap();
    let locator = offline_locator(root.path());
    let error = locator.resolve("toy", &SPEC).unwrap_err();
    assert!(matches!(error, Error::WeightsNotFound(_)));
    let message = error.to_string();
    let weights_dir = locator.weights_dir.display().to_string();
    for expected in [
        format!("no weights for backbone `toy`: put {weights_dir}/toy.safetensors (or {weights_dir}/toy-1234.pth)"),
        "from the toy zoo".to_owned(),
        format!("{}/models--org--toy/snapshots/main/model.safetensors", locator.hf_hub_cache.display()),
        "HF_HUB_OFFLINE=1 forbids downloading https://huggingface.co/org/toy/resolve/main/model.safetensors".to_owned(),
    ] {
        assert!(message.contains(&expected), "{message}\n  lacks: {expected}");
    }
}

#[test]
fn environment_sets_the_locations() {
    let vars: HashMap<&str, &str> = HashMap::from([("HOME", "/home/u"), ("HF_HUB_OFFLINE", "1")]);
    let locator = WeightsLocator::from_vars(|name| vars.get(name).map(|v| (*v).to_owned()));
    assert_eq!(
        locator.hf_hub_cache,
        Path::new("/home/u/.cache/huggingface/hub")
    );
    assert_eq!(locator.weights_dir, Path::new("weights"));
    assert!(locator.offline);
    let vars: HashMap<&str, &str> = HashMap::from([
        ("HF_HOME", "/hf"),
        ("NONA_WEIGHTS_DIR", "/w"),
        ("HF_HUB_OFFLINE", "0"),
    ]);
    let locator = WeightsLocator::from_vars(|name| vars.get(name).map(|v| (*v).to_owned()));
    assert_eq!(locator.hf_hub_cache, Path::new("/hf/hub"));
    assert_eq!(locator.weights_dir, Path::new("/w"));
    assert!(!locator.offline);
}

#[test]
fn registry_names_the_backbones_and_rejects_others() {
    let names: Vec<_> = nona_backbones::backbone_names().collect();
    assert_eq!(
        names,
        [
            "resnet18",
            "resnet34",
            "efficientnet_b0",
            "efficientnet_lite0",
            "bert_base",
            "distilbert_base",
            "minilm_l6",
            "whisper_tiny_en",
            "hubert_base"
        ]
    );
    let message = nona_backbones::load_backbone("vgg", &Device::Cpu, &WeightsLocator::from_env())
        .err()
        .unwrap()
        .to_string();
    assert!(
        message.contains("unknown backbone `vgg`") && message.contains("resnet18"),
        "{message}"
    );
    assert!(
        "cuda".parse::<nona_backbones::DeviceKind>().is_ok()
            && "tpu".parse::<nona_backbones::DeviceKind>().is_err()
    );
}
