//! Token ids equal Python `transformers`' on messy text (tests/fixtures/text/tokens.json, made by
//! make_text_fixtures.py), for the all-MiniLM-L6-v2 tokenizer loaded from `tokenizer.json` and rebuilt
//! from `vocab.txt`. Needs the files of scripts/weights/minilm_l6.sh; skipped with a message when
//! they are absent.

use std::path::PathBuf;

use nona_text::{TextError, TextTokenizer};
use serde_json::Value;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

fn model_dir() -> Option<PathBuf> {
    let weights = std::env::var_os("NONA_WEIGHTS_DIR")
        .map_or_else(|| PathBuf::from(ROOT).join("weights"), PathBuf::from);
    let dir = weights.join("all-MiniLM-L6-v2");
    dir.join("tokenizer.json").is_file().then_some(dir)
}

fn fixture() -> Vec<Value> {
    let text = std::fs::read_to_string(format!("{ROOT}/tests/fixtures/text/tokens.json")).unwrap();
    let json: Value = serde_json::from_str(&text).unwrap();
    json["cases"].as_array().unwrap().clone()
}

fn ids(value: &Value) -> Vec<u32> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| u32::try_from(v.as_u64().unwrap()).unwrap())
        .collect()
}

fn check(tokenizer: &TextTokenizer, key: &str) -> usize {
    let mut compared = 0;
    for case in fixture() {
        let text = case["text"].as_str().unwrap();
        let result = tokenizer.encode(text);
        match case["error"].as_str() {
            Some("empty") => assert!(
                matches!(result, Err(TextError::Empty)),
                "{text:?}: {result:?}"
            ),
            Some("no_tokens") => {
                assert!(
                    matches!(result, Err(TextError::NoTokens)),
                    "{text:?}: {result:?}"
                );
            }
            Some(other) => panic!("unknown expected error {other}"),
            None => {
                let encoded = result.unwrap();
                let expected = ids(&case[key]);
                assert_eq!(encoded.ids, expected, "{key} of {text:?}");
                assert!(encoded.len() <= tokenizer.max_length());
                assert!(encoded.type_ids.iter().all(|&t| t == 0));
                compared += 1;
            }
        }
    }
    compared
}

#[test]
#[allow(clippy::print_stderr, reason = "a skipped test says why")]
fn tokenizer_json_matches_transformers() {
    let Some(dir) = model_dir() else {
        eprintln!("SKIPPED tokenizer_json_matches_transformers: run scripts/weights/minilm_l6.sh");
        return;
    };
    let full = TextTokenizer::from_file(&dir.join("tokenizer.json"), 256).unwrap();
    assert_eq!(full.pad_id(), 0);
    assert!(check(&full, "fast_256") >= 20);
    // Truncation at 16 cuts most texts: [CLS] + 14 tokens + [SEP].
    let short = TextTokenizer::from_file(&dir.join("tokenizer.json"), 16).unwrap();
    assert!(check(&short, "fast_16") >= 20);
}

#[test]
#[allow(clippy::print_stderr, reason = "a skipped test says why")]
fn vocab_txt_matches_the_python_wordpiece_tokenizer() {
    let Some(dir) = model_dir() else {
        eprintln!(
            "SKIPPED vocab_txt_matches_the_python_wordpiece_tokenizer: run scripts/weights/minilm_l6.sh"
        );
        return;
    };
    let tokenizer = TextTokenizer::from_vocab(&dir.join("vocab.txt"), true, 256).unwrap();
    assert!(check(&tokenizer, "slow_256") >= 20);
}

#[test]
fn missing_tokenizer_file_is_a_typed_error() {
    let missing = PathBuf::from(ROOT).join("no/such/tokenizer.json");
    assert!(matches!(
        TextTokenizer::from_file(&missing, 8),
        Err(TextError::BadTokenizerFile { .. })
    ));
    assert!(matches!(
        TextTokenizer::from_vocab(&missing, true, 8),
        Err(TextError::BadTokenizerFile { .. })
    ));
}
