//! `embed` on text datasets: texts (in the manifest, or in files it names) → the backbone's own
//! tokenizer → BERT-family encoder → pooled embeddings, equal to what the libraries give for the
//! same text (the stage adds no drift); bad texts become errors-table rows; bad options are
//! reported with file:line.

mod common;

use std::path::{Path, PathBuf};

use candle_core::{DType, Device};
use candle_nn::VarBuilder;
use common::{
    assert_conforms, assert_parity, error_rows, nona, read_embeddings, real_weights,
    repo_weights_dir, run_in, schema_file, stderr, table_metadata,
};
use nona_backbones::text::{Pooling, build_text_backbone};
use nona_backbones::weights::SyntheticWeights;
use nona_backbones::{Backbone, BackboneInput, WeightsLocator};
use nona_testkit::Gap;
use nona_text::{TextTokenizer, TokenBatch};

/// Messy texts that must embed: accents, emoji, CJK, stray whitespace, newlines and quotes inside
/// a CSV field, and one far past MiniLM's 256 tokens (truncated).
fn good_texts() -> Vec<(String, String)> {
    let long = "the quick brown fox jumps over the lazy dog ".repeat(60);
    [
        "A perfectly ordinary sentence.",
        "Crème brûlée à la café — naïve façade!",
        "🤩🤩 best. purchase. ever!!! 🚀",
        "日本語のテキストも少し。",
        "   leading and trailing whitespace   ",
        "Tabs\tand\nnewlines\r\nmixed, with \"quotes\"",
        "short",
        &long,
        "a b c d e f g h i j k l m n o p q r s t u v w x y z",
        "UPPER case SHOUTING and lower case whispering",
    ]
    .iter()
    .enumerate()
    .map(|(i, t)| (format!("t{i:02}"), (*t).to_owned()))
    .collect()
}

fn csv_field(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

/// Writes `labels.csv` (`id,text,label`) with the good texts and three bad ones: an empty text
/// and a whitespace-only text (rejected by preprocess) and one of control characters only (no
/// token survives BERT's text cleaning: rejected by embed). Returns the good (id, text) pairs.
fn text_dataset(root: &Path) -> Vec<(String, String)> {
    std::fs::create_dir_all(root).unwrap();
    let good = good_texts();
    let mut rows: Vec<(String, String)> = good.clone();
    rows.insert(3, ("bad_empty".into(), String::new()));
    rows.insert(6, ("bad_blank".into(), " \t  ".into()));
    rows.insert(9, ("bad_control".into(), "\u{7}\u{1}\u{2}".into()));
    let mut csv = String::from("id,text,label\n");
    for (i, (id, text)) in rows.iter().enumerate() {
        csv.push_str(&format!("{id},{},{}\n", csv_field(text), i as f64 * 0.25));
    }
    std::fs::write(root.join("labels.csv"), csv).unwrap();
    good
}

/// The `[CLS] … [SEP]` ids of `text` as one batch.
fn one_text(tokenizer: &TextTokenizer, text: &str) -> BackboneInput {
    let encoded = tokenizer.encode(text).unwrap();
    let batch = TokenBatch::collate(&[(0, &encoded)], tokenizer.pad_id());
    let (input_ids, attention_mask, token_type_ids) = batch.tensors(&Device::Cpu).unwrap();
    BackboneInput::Tokens {
        input_ids,
        attention_mask,
        token_type_ids: Some(token_type_ids),
    }
}

fn row(values: &[f32], dim: usize, index: usize) -> &[f32] {
    &values[index * dim..(index + 1) * dim]
}

fn embed_one(backbone: &dyn Backbone, input: &BackboneInput) -> Vec<f32> {
    backbone
        .embed(input)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap()
}

/// Real all-MiniLM-L6-v2: weights and tokenizer found through `$NONA_WEIGHTS_DIR`, similar-length
/// batches across several units, errors in both stages, provenance in the metadata, and every row
/// equal to the library's embedding of the same text alone.
#[test]
fn minilm_real_weights_end_to_end() {
    const TEST: &str = "minilm_real_weights_end_to_end";
    let Some(model_dir) = real_weights(TEST, "all-MiniLM-L6-v2/model.safetensors") else {
        return;
    };
    let model_dir = model_dir.parent().unwrap().to_path_buf();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let good = text_dataset(&data);
    std::fs::write(
        tmp.path().join("minilm.toml"),
        r#"[dataset]
root = "data"
manifest = "labels.csv"
modality = "text"
input_column = "text"
synthetic = true

[preprocess]

[preprocess.text]
source = "column"

[embed]
backbone = "minilm_l6"
batch_size = 3
shard_rows = 5
"#,
    )
    .unwrap();
    let out = nona()
        .current_dir(tmp.path())
        .env("NONA_WEIGHTS_DIR", repo_weights_dir())
        .env("HF_HUB_OFFLINE", "1")
        .args(["run", "minilm.toml"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));

    let embed_dir = tmp.path().join("runs/minilm/embed");
    let (ids, values, dim) = read_embeddings(&embed_dir);
    assert_eq!(dim, 384);
    let expected_ids: Vec<&str> = good.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, expected_ids, "rows keep the manifest order");
    assert_conforms(&schema_file("embeddings.schema.json"), &embed_dir);

    // Errors: blank texts in preprocess (with their manifest line), control characters in embed.
    let preprocess_errors = error_rows(&tmp.path().join("runs/minilm/preprocess/_errors"));
    let ids_of = |rows: &[(String, String, String)]| -> Vec<String> {
        rows.iter().map(|r| r.0.clone()).collect()
    };
    assert_eq!(ids_of(&preprocess_errors), ["bad_blank", "bad_empty"]);
    // The CSV reader trims cells, so a whitespace-only text arrives empty.
    assert!(
        preprocess_errors[0]
            .2
            .contains("empty input (column `text`)"),
        "{preprocess_errors:?}"
    );
    assert!(
        preprocess_errors[0].1.ends_with("labels.csv:line 8"),
        "{preprocess_errors:?}"
    );
    assert!(preprocess_errors[1].2.contains("empty"));
    let embed_errors = error_rows(&embed_dir.join("_errors"));
    assert_eq!(ids_of(&embed_errors), ["bad_control"]);
    assert!(
        embed_errors[0].2.contains("no tokens") && embed_errors[0].1.ends_with("labels.csv:row 9"),
        "{embed_errors:?}"
    );
    assert_conforms(
        &schema_file("errors.schema.json"),
        &embed_dir.join("_errors"),
    );

    let metadata = table_metadata(&embed_dir);
    for (key, value) in [
        ("nona.model_id", "minilm_l6"),
        (
            "nona.weights_sha256",
            "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
        ),
        (
            "nona.tokenizer_sha256",
            "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
        ),
        ("nona.modality", "text"),
        ("nona.pooling", "mean"),
        ("nona.normalize", "true"),
        ("nona.embedding_dim", "384"),
        ("nona.synthetic", "true"),
    ] {
        assert_eq!(metadata.get(key).map(String::as_str), Some(value), "{key}");
    }
    assert!(metadata["nona.tokenizer_path"].ends_with("all-MiniLM-L6-v2/tokenizer.json"));
    assert!(metadata["nona.preprocess"].contains("\"max_tokens\":256"));

    // Parity: each row equals the library's embedding of its text alone (no padding, no
    // batching), so batching by length and the stage's plumbing add nothing.
    let tokenizer = TextTokenizer::from_file(&model_dir.join("tokenizer.json"), 256).unwrap();
    let mut locator = WeightsLocator::from_env();
    locator.weights_dir = repo_weights_dir();
    let loaded = nona_backbones::load_backbone("minilm_l6", &Device::Cpu, &locator).unwrap();
    for (index, (id, text)) in good.iter().enumerate() {
        let expected = embed_one(loaded.backbone.as_ref(), &one_text(&tokenizer, text));
        assert_parity(&format!("minilm {id}"), row(&values, dim, index), &expected);
        let norm: f32 = row(&values, dim, index).iter().map(|v| v * v).sum();
        assert!((norm.sqrt() - 1.0).abs() < 1e-5, "{id} is L2-normalised");
    }
    // The long text was truncated to 256 tokens, not rejected.
    assert_eq!(tokenizer.encode(&good[7].1).unwrap().len(), 256);
}

/// A WordPiece vocabulary of a few words (ids 0-4 are BERT's special tokens).
fn write_vocab(path: &Path) {
    let tokens = [
        "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat", "on", "mat", "dog",
        "ran", "far", "away", "a", "quick", "brown", "fox", ".", ",", "!", "##s", "##ed",
    ];
    std::fs::write(path, tokens.join("\n") + "\n").unwrap();
}

/// Texts in files the manifest names (one missing, one empty, one not UTF-8: preprocess errors),
/// DistilBERT with synthetic weights and a `tokenizer = "vocab.txt"`, `cls` (its default) and
/// `mean` pooling, each equal to the library's pooling of the same tokens.
#[test]
fn text_files_distilbert_cls_and_mean_pooling_match_the_library() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir_all(data.join("txt")).unwrap();
    let texts = [
        ("d0", "The cat sat on the mat."),
        ("d1", "A quick brown fox ran far away!"),
        ("d2", "dogs, cats"),
        ("d3", "The CAT."),
        (
            "d4",
            "the the the the the the the the the the the the the the the the",
        ),
    ];
    let mut csv = String::from("id,file,label\n");
    for (i, (id, text)) in texts.iter().enumerate() {
        std::fs::write(data.join(format!("txt/{id}.txt")), text).unwrap();
        csv.push_str(&format!("{id},{id},{i}\n"));
    }
    std::fs::write(data.join("txt/empty.txt"), "  \n").unwrap();
    std::fs::write(data.join("txt/latin1.txt"), b"caf\xe9").unwrap();
    csv.push_str("empty,empty,1\nlatin1,latin1,2\nmissing,missing,3\n");
    std::fs::write(data.join("labels.csv"), csv).unwrap();
    write_vocab(&tmp.path().join("vocab.txt"));
    let pipeline = |name: &str, pooling: &str| {
        std::fs::write(
            tmp.path().join(format!("{name}.toml")),
            format!(
                r#"[dataset]
root = "data"
manifest = "labels.csv"
modality = "text"
input_column = "file"
input_template = "txt/{{}}.txt"

[preprocess.text]
source = "file"
max_tokens = 8

[embed]
backbone = "distilbert_base"
weights = "synthetic"
tokenizer = "vocab.txt"
{pooling}
batch_size = 2
"#
            ),
        )
        .unwrap();
    };
    pipeline("cls", "");
    pipeline("mean", "pooling = \"mean\"");
    for name in ["cls", "mean"] {
        let out = run_in(tmp.path(), &["run", &format!("{name}.toml")]);
        assert!(out.status.success(), "{}", stderr(&out));
    }

    let errors = error_rows(&tmp.path().join("runs/cls/preprocess/_errors"));
    let summary: Vec<(&str, bool)> = errors
        .iter()
        .map(|(id, source, _)| (id.as_str(), source.ends_with(&format!("txt/{id}.txt"))))
        .collect();
    assert_eq!(
        summary,
        [("empty", true), ("latin1", true), ("missing", true)]
    );
    assert!(errors[0].2.contains("whitespace-only"), "{errors:?}");
    assert!(errors[1].2.contains("not UTF-8"), "{errors:?}");
    assert!(errors[2].2.contains("cannot read file"), "{errors:?}");

    let tokenizer = TextTokenizer::from_vocab(&tmp.path().join("vocab.txt"), true, 8).unwrap();
    let vb = VarBuilder::from_backend(Box::new(SyntheticWeights), DType::F32, Device::Cpu);
    let encoder = build_text_backbone("distilbert_base", Pooling::CLS, vb).unwrap();
    for (name, pooling) in [("cls", Pooling::CLS), ("mean", Pooling::MEAN)] {
        let dir = tmp.path().join(format!("runs/{name}/embed"));
        let (ids, values, dim) = read_embeddings(&dir);
        assert_eq!(dim, 768);
        assert_eq!(ids, ["d0", "d1", "d2", "d3", "d4"]);
        let metadata = table_metadata(&dir);
        assert_eq!(metadata["nona.pooling"], name);
        assert_eq!(metadata["nona.normalize"], "false");
        assert_eq!(metadata["nona.weights_sha256"], "synthetic");
        assert!(metadata["nona.tokenizer_path"].ends_with("vocab.txt"));
        assert!(metadata["nona.preprocess"].contains("\"source\":\"file\""));
        for (index, (id, text)) in texts.iter().enumerate() {
            let input = one_text(&tokenizer, text);
            let (hidden, mask) = encoder.last_hidden_state(&input).unwrap();
            let expected: Vec<f32> = pooling
                .pool(&hidden, &mask)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1()
                .unwrap();
            assert_parity(
                &format!("distilbert {name} {id}"),
                row(&values, dim, index),
                &expected,
            );
        }
    }
    // The two poolings differ, and max_tokens = 8 truncated d4 (17 tokens) to 8.
    let (_, cls, _) = read_embeddings(&tmp.path().join("runs/cls/embed"));
    let (_, mean, _) = read_embeddings(&tmp.path().join("runs/mean/embed"));
    let difference = Gap::between(&cls, &mean);
    assert!(difference.relative() > 1e-2, "cls vs mean: {difference}");
    assert_eq!(tokenizer.encode(texts[4].1).unwrap().len(), 8);
}

/// BERT-base with synthetic weights, `mean` pooling and `normalize = true`: unit-norm rows equal
/// to the library's normalised mean of the same tokens.
#[test]
fn bert_mean_normalized_matches_the_library() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let texts = [
        "the cat sat.",
        "a dog ran far away, the fox sat on the mat!",
        "mats",
    ];
    let mut csv = String::from("id,text,label\n");
    for (i, text) in texts.iter().enumerate() {
        csv.push_str(&format!("b{i},{},{i}\n", csv_field(text)));
    }
    std::fs::write(data.join("labels.csv"), csv).unwrap();
    write_vocab(&tmp.path().join("vocab.txt"));
    std::fs::write(
        tmp.path().join("bert.toml"),
        r#"[dataset]
root = "data"
manifest = "labels.csv"
modality = "text"
input_column = "text"

[preprocess]

[embed]
backbone = "bert_base"
weights = "synthetic"
tokenizer = "vocab.txt"
pooling = "mean"
normalize = true
batch_size = 8
"#,
    )
    .unwrap();
    let out = run_in(tmp.path(), &["run", "bert.toml"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let dir = tmp.path().join("runs/bert/embed");
    let (ids, values, dim) = read_embeddings(&dir);
    assert_eq!((ids.len(), dim), (3, 768));
    let metadata = table_metadata(&dir);
    assert_eq!(
        (
            metadata["nona.pooling"].as_str(),
            metadata["nona.normalize"].as_str()
        ),
        ("mean", "true")
    );

    let tokenizer = TextTokenizer::from_vocab(&tmp.path().join("vocab.txt"), true, 512).unwrap();
    let vb = VarBuilder::from_backend(Box::new(SyntheticWeights), DType::F32, Device::Cpu);
    let encoder = build_text_backbone("bert_base", Pooling::MEAN_NORMALIZED, vb).unwrap();
    for (index, text) in texts.iter().enumerate() {
        let expected = embed_one(&encoder, &one_text(&tokenizer, text));
        let got = row(&values, dim, index);
        assert_parity(&format!("bert mean+l2 b{index}"), got, &expected);
        let norm = got.iter().map(|v| v * v).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "norm {norm}");
    }
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// Problems with text options are reported by `nona validate` with file:line, before any work.
#[test]
fn text_config_errors_are_reported_with_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    text_dataset(&tmp.path().join("data"));
    common::image_dataset(&tmp.path().join("img"), 3);
    let base = "[dataset]\nroot = \"data\"\nmanifest = \"labels.csv\"\nmodality = \"text\"\ninput_column = \"text\"\n\n[preprocess]\n";
    let cases: [(&str, String, &[&str]); 7] = [
        (
            "pooling.toml",
            format!("{base}\n[embed]\nbackbone = \"minilm_l6\"\npooling = \"meen\"\n"),
            &["pooling.toml:11:1: unknown value `meen` in `embed`; did you mean `mean`?"],
        ),
        (
            "first.toml",
            format!("{base}\n[embed]\nbackbone = \"minilm_l6\"\npooling = \"first\"\n"),
            &["first.toml:11:1: backbone `minilm_l6` does not offer pooling `first` (it offers mean, cls)"],
        ),
        (
            "source.toml",
            format!("{base}\n[preprocess.text]\nsource = \"files\"\n"),
            &["source.toml:10:1: unknown value `files` in `preprocess`; did you mean `file`?"],
        ),
        (
            "max.toml",
            format!(
                "{base}\n[preprocess.text]\nmax_tokens = 1000\n\n[embed]\nbackbone = \"minilm_l6\"\n"
            ),
            &["max.toml:10:1: `max_tokens` = 1000 exceeds the 256 tokens backbone `minilm_l6` reads"],
        ),
        (
            "min.toml",
            format!("{base}\n[preprocess.text]\nmax_tokens = 2\n"),
            &["min.toml:10:1: `max_tokens` must be at least 3"],
        ),
        (
            "mismatch.toml",
            format!(
                "{base}\n[preprocess.image]\ntransforms = []\n\n[embed]\nbackbone = \"resnet18\"\ntokenizer = \"nowhere.json\"\n"
            ),
            &[
                "mismatch.toml:9:13: `[preprocess.image]` is for image datasets, but `dataset.modality` is Text",
                "mismatch.toml:13:1: backbone `resnet18` reads image, but `dataset.modality` is text",
                "mismatch.toml:14:1: tokenizer file",
                "mismatch.toml:14:1: `tokenizer` is for text backbones; `resnet18` reads image",
            ],
        ),
        (
            "image.toml",
            "[dataset]\nroot = \"img\"\nmanifest = \"labels.csv\"\nmodality = \"image\"\n\n[preprocess.text]\nsource = \"file\"\n\n[preprocess.image]\ntransforms = [{ resize = [4, 4] }]\n\n[embed]\nbackbone = \"minilm_l6\"\nweights = \"synthetic\"\n".to_owned(),
            &[
                "image.toml:6:13: `[preprocess.text]` is for text datasets, but `dataset.modality` is Image",
                "image.toml:13:1: backbone `minilm_l6` reads text, but `dataset.modality` is image",
            ],
        ),
    ];
    for (name, text, expected) in cases {
        write(tmp.path(), name, &text);
        let out = run_in(tmp.path(), &["validate", name]);
        assert_eq!(out.status.code(), Some(2), "{name}");
        let err = stderr(&out);
        for line in expected {
            assert!(err.contains(line), "{name}: expected `{line}` in\n{err}");
        }
    }
}
