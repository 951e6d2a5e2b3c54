//! Text backbones equal Hugging Face `transformers` (tests/fixtures/text/*.safetensors, made by
//! make_text_fixtures.py): last hidden states and `cls`/`mean`/`mean_norm` poolings, batch of 1 and
//! right-padded batches of different lengths.
//! - tiny BERT and DistilBERT (2 layers, d = 64) with synthetic weights: always run;
//! - all-MiniLM-L6-v2 with its real weights, end to end from text through `nona_text`: needs
//!   scripts/weights/minilm_l6.sh, skipped with a message when the weights are absent.

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use nona_backbones::text::{EncoderConfig, Layout, Pooling, TextEncoder, build_text_backbone};
use nona_backbones::weights::SyntheticWeights;
use nona_backbones::{Backbone, BackboneInput, Error, InputSpec, WeightsLocator, load_backbone};
use nona_testkit::Gap;
use nona_text::{TextTokenizer, TokenBatch};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
const TOLERANCE: f64 = 1e-4;

fn fixture(name: &str) -> HashMap<String, Tensor> {
    candle_core::safetensors::load(format!("{ROOT}/tests/fixtures/text/{name}"), &Device::Cpu)
        .unwrap()
}

fn tiny(layout: Layout) -> EncoderConfig {
    EncoderConfig {
        layout,
        vocab_size: 100,
        hidden_size: 64,
        num_layers: 2,
        num_heads: 4,
        intermediate_size: 128,
        max_position_embeddings: 32,
        type_vocab_size: 2,
        layer_norm_eps: 1e-12,
        max_tokens: 32,
    }
}

/// Compares the hidden state and the three poolings of `encoder` on fixture batch `prefix`.
#[allow(clippy::print_stdout, reason = "the measured errors are reported")]
fn check(
    encoder: &TextEncoder,
    expected: &HashMap<String, Tensor>,
    prefix: &str,
    input: &BackboneInput,
) {
    let (hidden, mask) = encoder.last_hidden_state(input).unwrap();
    let mut report = vec![];
    let gap = Gap::of_tensors(&hidden, &expected[&format!("{prefix}.hidden")]);
    report.push(format!("hidden {:.2e}", gap.relative()));
    assert!(gap.relative() < TOLERANCE, "{prefix} hidden: {gap}");
    for (name, pooling) in [
        ("cls", Pooling::CLS),
        ("mean", Pooling::MEAN),
        ("mean_norm", Pooling::MEAN_NORMALIZED),
    ] {
        let pooled = pooling.pool(&hidden, &mask).unwrap();
        let gap = Gap::of_tensors(&pooled, &expected[&format!("{prefix}.{name}")]);
        report.push(format!("{name} {:.2e}", gap.relative()));
        assert!(gap.relative() < TOLERANCE, "{prefix} {name}: {gap}");
    }
    println!("{prefix}: relative errors {}", report.join(", "));
}

/// Fixture batch `prefix` on `device`.
fn fixture_input(
    expected: &HashMap<String, Tensor>,
    prefix: &str,
    device: &Device,
) -> BackboneInput {
    let tensor = |key: &str| {
        expected
            .get(&format!("{prefix}.{key}"))
            .map(|t| t.to_device(device).unwrap())
    };
    BackboneInput::Tokens {
        input_ids: tensor("input_ids").unwrap(),
        attention_mask: tensor("attention_mask").unwrap(),
        token_type_ids: tensor("token_type_ids"),
    }
}

nona_testkit::device_tests!(
    tiny_bert_and_distilbert_match_transformers,
    minilm_real_weights_match_transformers_from_text
);

fn tiny_bert_and_distilbert_match_transformers(device: &Device) {
    let expected = fixture("text_random.safetensors");
    for (model, layout) in [("bert", Layout::Bert), ("distilbert", Layout::DistilBert)] {
        let weights =
            VarBuilder::from_backend(Box::new(SyntheticWeights), DType::F32, device.clone());
        let encoder = TextEncoder::new(model, &tiny(layout), Pooling::CLS, weights).unwrap();
        for batch in ["b1", "b3"] {
            let prefix = format!("{model}.{batch}");
            check(
                &encoder,
                &expected,
                &prefix,
                &fixture_input(&expected, &prefix, device),
            );
        }
    }
}

#[test]
fn token_types_matter_for_bert_only() {
    let expected = fixture("text_random.safetensors");
    let ids = expected["bert.b3.input_ids"].clone();
    let mask = expected["bert.b3.attention_mask"].clone();
    let input = |types: Option<Tensor>| BackboneInput::Tokens {
        input_ids: ids.clone(),
        attention_mask: mask.clone(),
        token_type_ids: types,
    };
    for (layout, differs) in [(Layout::Bert, true), (Layout::DistilBert, false)] {
        let weights = VarBuilder::from_backend(Box::new(SyntheticWeights), DType::F32, Device::Cpu);
        let encoder = TextEncoder::new("tiny", &tiny(layout), Pooling::MEAN, weights).unwrap();
        let with = encoder
            .embed(&input(Some(expected["bert.b3.token_type_ids"].clone())))
            .unwrap();
        let without = encoder.embed(&input(None)).unwrap();
        let diff = (with - without).unwrap().abs().unwrap().max_all().unwrap();
        assert_eq!(
            diff.to_scalar::<f32>().unwrap() > 1e-3,
            differs,
            "{layout:?}"
        );
    }
}

#[test]
fn bad_token_inputs_are_rejected() {
    let weights = VarBuilder::from_backend(Box::new(SyntheticWeights), DType::F32, Device::Cpu);
    let encoder = TextEncoder::new("tiny", &tiny(Layout::Bert), Pooling::CLS, weights).unwrap();
    assert_eq!(encoder.dim(), 64);
    assert_eq!(
        encoder.input(),
        InputSpec::Text {
            max_tokens: 32,
            token_type_ids: true
        }
    );
    let ids = |l: usize| Tensor::ones((2, l), DType::U32, &Device::Cpu).unwrap();
    let images =
        BackboneInput::Images(Tensor::zeros((1, 3, 8, 8), DType::F32, &Device::Cpu).unwrap());
    assert!(matches!(encoder.embed(&images), Err(Error::BadInput(_))));
    let too_long = BackboneInput::Tokens {
        input_ids: ids(33),
        attention_mask: ids(33),
        token_type_ids: None,
    };
    assert!(matches!(encoder.embed(&too_long), Err(Error::BadInput(_))));
    let mismatched = BackboneInput::Tokens {
        input_ids: ids(4),
        attention_mask: ids(5),
        token_type_ids: None,
    };
    assert!(matches!(
        encoder.embed(&mismatched),
        Err(Error::BadInput(_))
    ));
}

/// The sentences of make_text_fixtures.py's SENTENCES.
const SENTENCES: [&str; 4] = [
    "A man is playing a guitar on the street.",
    "Les élèves étudient la physique quantique à l'université 😀",
    "東京は日本の首都です。",
    "Short.",
];

#[allow(
    clippy::print_stderr,
    clippy::print_stdout,
    reason = "a skipped test says why"
)]
fn minilm_real_weights_match_transformers_from_text(device: &Device) {
    let mut locator = WeightsLocator::from_env();
    if std::env::var_os("NONA_WEIGHTS_DIR").is_none() {
        locator.weights_dir = format!("{ROOT}/weights").into();
    }
    let loaded = match load_backbone("minilm_l6", device, &locator) {
        Err(Error::WeightsNotFound(message)) => {
            eprintln!("SKIPPED minilm_real_weights_match_transformers_from_text: {message}");
            return;
        }
        other => other.unwrap(),
    };
    assert_eq!(loaded.backbone.dim(), 384);
    let tokenizer_file = loaded.weights.path.with_file_name("tokenizer.json");
    let tokenizer = TextTokenizer::from_file(&tokenizer_file, 256).unwrap();
    let vb = VarBuilder::from_tensors(loaded.weights.load(device).unwrap(), DType::F32, device);
    let encoder = build_text_backbone("minilm_l6", Pooling::MEAN_NORMALIZED, vb).unwrap();
    let expected = fixture("minilm_real.safetensors");

    for (batch, texts) in [("b1", &SENTENCES[..1]), ("b4", &SENTENCES[..])] {
        let prefix = format!("minilm.{batch}");
        let encoded: Vec<_> = texts.iter().map(|t| tokenizer.encode(t).unwrap()).collect();
        let rows: Vec<_> = encoded.iter().enumerate().collect();
        let tokens = TokenBatch::collate(&rows, tokenizer.pad_id());
        let (input_ids, attention_mask, token_type_ids) = tokens.tensors(device).unwrap();
        let reference_ids = expected[&format!("{prefix}.input_ids")]
            .to_dtype(DType::U32)
            .unwrap();
        assert_eq!(
            input_ids.to_vec2::<u32>().unwrap(),
            reference_ids.to_vec2::<u32>().unwrap()
        );
        let input = BackboneInput::Tokens {
            input_ids,
            attention_mask,
            token_type_ids: Some(token_type_ids),
        };
        check(&encoder, &expected, &prefix, &input);
        // The registered backbone pools as sentence-transformers: normalised mean.
        let pooled = loaded.backbone.embed(&input).unwrap();
        let gap = Gap::of_tensors(&pooled, &expected[&format!("{prefix}.mean_norm")]);
        println!(
            "{prefix}: registry embed relative error {:.2e}",
            gap.relative()
        );
        assert!(gap.relative() < TOLERANCE, "{prefix}: {gap}");
    }
}

#[test]
fn text_backbones_are_registered_with_their_configs() {
    let names: Vec<&str> = nona_backbones::backbone_names().collect();
    for (name, d, layers, layout) in [
        ("bert_base", 768, 12, Layout::Bert),
        ("distilbert_base", 768, 6, Layout::DistilBert),
        ("minilm_l6", 384, 6, Layout::Bert),
    ] {
        assert!(names.contains(&name), "{name}");
        let config = nona_backbones::text::registered_config(name).unwrap();
        assert_eq!(
            (config.hidden_size, config.num_layers, config.layout),
            (d, layers, layout)
        );
        assert_eq!(config.vocab_size, 30522);
    }
    assert!(nona_backbones::text::registered_config("resnet18").is_none());
}
