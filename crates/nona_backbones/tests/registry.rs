//! The registry as pipelines use it: input kinds, per-pipeline pooling choices and their
//! defaults, audio backbones by name (CTranslate2 and transformers-named Whisper weights), and
//! tokenizer resolution.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use candle_core::{DType, Device, Shape, Tensor};
use candle_nn::VarBuilder;
use candle_nn::var_builder::SimpleBackend;
use nona_backbones::audio::whisper::{Pooling, load_ctranslate2};
use nona_backbones::registry::registry_entry;
use nona_backbones::weights::{SyntheticWeights, WeightsFormat, synthetic_values};
use nona_backbones::{
    BackboneInput, BuildOptions, InputKind, PoolingOption, TokenizerFormat, WeightsLocator,
    backbone_names_for, build_backbone, build_backbone_with,
};
use nona_testkit::Gap;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

#[test]
fn entries_know_their_input_and_pooling_defaults() {
    let names = |kind| backbone_names_for(kind).collect::<Vec<_>>();
    assert_eq!(
        names(InputKind::Image),
        [
            "resnet18",
            "resnet34",
            "efficientnet_b0",
            "efficientnet_lite0"
        ]
    );
    assert_eq!(
        names(InputKind::Text),
        ["bert_base", "distilbert_base", "minilm_l6"]
    );
    assert_eq!(names(InputKind::Audio), ["whisper_tiny_en", "hubert_base"]);
    let defaults = |name: &str| {
        let resolved = registry_entry(name)
            .unwrap()
            .resolve(&BuildOptions::default())
            .unwrap();
        (
            resolved.pooling.map(PoolingOption::name),
            resolved.normalize,
        )
    };
    assert_eq!(defaults("resnet18"), (None, false));
    assert_eq!(defaults("bert_base"), (Some("cls"), false));
    assert_eq!(defaults("distilbert_base"), (Some("cls"), false));
    assert_eq!(defaults("minilm_l6"), (Some("mean"), true));
    assert_eq!(defaults("whisper_tiny_en"), (Some("mean"), false));
    assert_eq!(defaults("hubert_base"), (Some("mean"), false));
    for name in ["bert_base", "distilbert_base", "minilm_l6"] {
        assert!(registry_entry(name).unwrap().tokenizer.is_some(), "{name}");
    }

    let ask = |name: &str, pooling| {
        registry_entry(name)
            .unwrap()
            .resolve(&BuildOptions {
                pooling: Some(pooling),
                normalize: Some(false),
            })
            .map(|r| (r.pooling, r.normalize))
            .map_err(|e| e.to_string())
    };
    assert_eq!(
        ask("minilm_l6", PoolingOption::Cls),
        Ok((Some(PoolingOption::Cls), false))
    );
    assert_eq!(
        ask("hubert_base", PoolingOption::First),
        Ok((Some(PoolingOption::First), false))
    );
    let error = ask("minilm_l6", PoolingOption::First).unwrap_err();
    assert!(
        error.contains("backbone `minilm_l6` does not offer pooling `first` (it offers mean, cls)"),
        "{error}"
    );
    let error = ask("resnet18", PoolingOption::Mean).unwrap_err();
    assert!(error.contains("has no pooling choice"), "{error}");
    assert_eq!(
        PoolingOption::parse("mean_all"),
        Some(PoolingOption::MeanAll)
    );
    assert_eq!(PoolingOption::parse("max"), None);
}

/// Serves synthetic values and records every name and shape asked for.
#[derive(Default)]
struct Recorder(Mutex<Vec<(String, Vec<usize>)>>);

impl SimpleBackend for Recorder {
    fn get(
        &self,
        shape: Shape,
        name: &str,
        init: candle_nn::Init,
        dtype: DType,
        dev: &Device,
    ) -> candle_core::Result<Tensor> {
        self.0
            .lock()
            .unwrap()
            .push((name.to_owned(), shape.dims().to_vec()));
        SyntheticWeights.get(shape, name, init, dtype, dev)
    }

    fn get_unchecked(&self, name: &str, dtype: DType, dev: &Device) -> candle_core::Result<Tensor> {
        SyntheticWeights.get_unchecked(name, dtype, dev)
    }

    fn contains_tensor(&self, name: &str) -> bool {
        // Only the bare names exist, so the builder must not pick a prefix.
        !name.starts_with("model.") && !name.starts_with("encoder.")
    }
}

fn clip_input(seconds: f32) -> BackboneInput {
    let n = (seconds * 16_000.0) as usize;
    let samples: Vec<f32> = synthetic_values("clip", &[n])
        .iter()
        .map(|v| 0.3 * v)
        .collect();
    BackboneInput::Audio {
        samples: Tensor::from_vec(samples, (1, n), &Device::Cpu).unwrap(),
        lengths: vec![n],
    }
}

/// A transformers `WhisperForConditionalGeneration` checkpoint holds the encoder under
/// `model.encoder.`: the registry finds it there and builds the same network.
#[test]
fn whisper_reads_transformers_checkpoint_names() {
    let recorder = std::sync::Arc::new(Recorder::default());
    struct Shared(std::sync::Arc<Recorder>);
    impl SimpleBackend for Shared {
        fn get(
            &self,
            s: Shape,
            n: &str,
            i: candle_nn::Init,
            d: DType,
            dev: &Device,
        ) -> candle_core::Result<Tensor> {
            self.0.get(s, n, i, d, dev)
        }
        fn get_unchecked(&self, n: &str, d: DType, dev: &Device) -> candle_core::Result<Tensor> {
            self.0.get_unchecked(n, d, dev)
        }
        fn contains_tensor(&self, n: &str) -> bool {
            self.0.contains_tensor(n)
        }
    }
    let bare = build_backbone(
        "whisper_tiny_en",
        VarBuilder::from_backend(Box::new(Shared(recorder.clone())), DType::F32, Device::Cpu),
    )
    .unwrap();
    let names = recorder.0.lock().unwrap().clone();
    assert!(names.iter().any(|(n, _)| n == "conv1.weight"), "{names:?}");
    let nested: HashMap<String, Tensor> = names
        .iter()
        .map(|(name, shape)| {
            let values = synthetic_values(name, shape);
            let tensor = Tensor::from_vec(values, shape.as_slice(), &Device::Cpu).unwrap();
            (format!("model.encoder.{name}"), tensor)
        })
        .collect();
    let from_checkpoint = build_backbone(
        "whisper_tiny_en",
        VarBuilder::from_tensors(nested, DType::F32, &Device::Cpu),
    )
    .unwrap();
    let input = clip_input(0.5);
    let a = bare.embed(&input).unwrap();
    let b = from_checkpoint.embed(&input).unwrap();
    let gap = Gap::of_tensors(&a, &b);
    assert_eq!(gap.max_abs, 0.0, "{gap}");
}

/// `whisper_tiny_en` by name resolves the CTranslate2 `model.bin` in the weights directory,
/// records its sha256, and equals the encoder loaded straight from the file.
#[test]
#[allow(clippy::print_stderr, reason = "a skipped test says why")]
fn whisper_tiny_en_by_name_loads_the_ctranslate2_file() {
    let dir = std::env::var_os("NONA_WEIGHTS_DIR")
        .map_or_else(|| PathBuf::from(format!("{ROOT}/weights")), PathBuf::from);
    let file = dir.join("whisper-tiny.en-ct2.bin");
    if !file.is_file() {
        eprintln!("SKIPPED: {} is missing; run `make weights`", file.display());
        return;
    }
    assert_eq!(
        WeightsFormat::detect(&file).unwrap(),
        WeightsFormat::CTranslate2
    );
    let mut locator = WeightsLocator::from_env();
    locator.weights_dir = dir;
    let loaded = nona_backbones::load_backbone("whisper_tiny_en", &Device::Cpu, &locator).unwrap();
    assert_eq!(loaded.weights.path, file);
    assert_eq!(
        loaded.weights.sha256,
        "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"
    );
    let direct =
        load_ctranslate2("whisper_tiny_en", &file, &Device::Cpu, Pooling::AudioFrames).unwrap();
    let input = clip_input(1.0);
    let a = loaded.backbone.embed(&input).unwrap();
    let b = nona_backbones::Backbone::embed(&direct, &input).unwrap();
    assert_eq!(a.dims(), &[1, 384]);
    let gap = Gap::of_tensors(&a, &b);
    assert_eq!(gap.max_abs, 0.0, "{gap}");
}

#[test]
fn ctranslate2_files_are_detected_and_non_whisper_ones_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.bin");
    // Version 6, spec "TransformerSpec", revision 1, no variables, no aliases.
    let mut bytes = vec![6, 0, 0, 0];
    let spec = b"TransformerSpec\0";
    bytes.extend_from_slice(&(spec.len() as u16).to_le_bytes());
    bytes.extend_from_slice(spec);
    bytes.extend_from_slice(&1u32.to_le_bytes());
    bytes.extend_from_slice(&0u32.to_le_bytes());
    bytes.extend_from_slice(&0u32.to_le_bytes());
    std::fs::write(&path, bytes).unwrap();
    let resolved = nona_backbones::ResolvedWeights::from_file(&path).unwrap();
    assert_eq!(resolved.format, WeightsFormat::CTranslate2);
    let error = resolved.load(&Device::Cpu).unwrap_err().to_string();
    assert!(error.contains("not a CTranslate2 Whisper"), "{error}");
}

fn touch(path: &Path) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, b"[PAD]\n").unwrap();
}

#[test]
fn tokenizers_resolve_explicit_then_beside_the_weights_then_weights_dir() {
    let dir = tempfile::tempdir().unwrap();
    let locator = WeightsLocator {
        file: None,
        weights_dir: dir.path().join("weights"),
        hf_hub_cache: dir.path().join("hub"),
        offline: true,
    };
    let spec = registry_entry("minilm_l6").unwrap().tokenizer.unwrap();
    let error = locator
        .resolve_tokenizer("minilm_l6", &spec, None, None)
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("no tokenizer for backbone `minilm_l6`")
            && error.contains("weights/all-MiniLM-L6-v2/tokenizer.json")
            && error.contains("HF_HUB_OFFLINE=1"),
        "{error}"
    );

    let vocab = dir.path().join("weights/all-MiniLM-L6-v2/vocab.txt");
    touch(&vocab);
    let found = locator
        .resolve_tokenizer("minilm_l6", &spec, None, None)
        .unwrap();
    assert_eq!(
        (found.path.as_path(), found.format, found.lowercase),
        (vocab.as_path(), TokenizerFormat::Vocab, true)
    );
    assert_eq!(found.sha256.len(), 64);

    let model_dir = dir.path().join("elsewhere");
    let beside = model_dir.join("tokenizer.json");
    touch(&beside);
    let weights = model_dir.join("model.safetensors");
    let found = locator
        .resolve_tokenizer("minilm_l6", &spec, None, Some(&weights))
        .unwrap();
    assert_eq!(
        (found.path.as_path(), found.format),
        (beside.as_path(), TokenizerFormat::Json)
    );

    let explicit = dir.path().join("mine.txt");
    touch(&explicit);
    let found = locator
        .resolve_tokenizer("minilm_l6", &spec, Some(&explicit), Some(&weights))
        .unwrap();
    assert_eq!(found.path, explicit);
    let error = locator
        .resolve_tokenizer(
            "minilm_l6",
            &spec,
            Some(&dir.path().join("nope.json")),
            None,
        )
        .unwrap_err()
        .to_string();
    assert!(error.contains("nope.json") && error.contains("does not exist"));
}

/// `normalize = true` on a backbone that does not normalise itself divides by the L2 norm.
#[test]
fn normalize_option_wraps_any_backbone() {
    let vb = || VarBuilder::from_backend(Box::new(SyntheticWeights), DType::F32, Device::Cpu);
    let plain = build_backbone("whisper_tiny_en", vb()).unwrap();
    let unit = build_backbone_with(
        "whisper_tiny_en",
        vb(),
        &BuildOptions {
            pooling: None,
            normalize: Some(true),
        },
    )
    .unwrap();
    let input = clip_input(0.25);
    let a: Vec<f32> = plain
        .embed(&input)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();
    let b: Vec<f32> = unit
        .embed(&input)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();
    let norm = a.iter().map(|v| v * v).sum::<f32>().sqrt();
    assert!(norm > 0.0 && (norm - 1.0).abs() > 1e-3);
    for (x, y) in a.iter().zip(&b) {
        assert!((x / norm - y).abs() < 1e-6);
    }
    assert_eq!(unit.dim(), 384);
}
