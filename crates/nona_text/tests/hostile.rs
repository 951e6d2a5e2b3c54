//! Property-based: any text (control characters, combining marks, CJK, emoji, invalid-looking
//! escapes, very long runs) tokenises without a panic into `[CLS] … [SEP]` within the maximum
//! length, or into a typed error for blank text; texts batched together come out exactly as when
//! tokenised alone, each in its own row ("never lose a good row").
//!
//! The tokenizer is a WordPiece vocabulary written by the test, plus all-MiniLM-L6-v2's
//! `tokenizer.json` when `weights/` has it. The normal run uses few cases;
//! `PROPTEST_CASES=20000 cargo nextest run -p nona_text hostile` runs a long one.

use std::path::PathBuf;
use std::sync::LazyLock;

use nona_testkit::cases;
use nona_text::{Encoded, TextError, TextTokenizer, TokenBatch, plan_batches};
use proptest::prelude::*;

const MAX_LENGTH: usize = 24;

/// A small lower-cased WordPiece vocabulary: specials, letters, digits, `##` pieces, a few words.
fn vocab_tokenizer() -> TextTokenizer {
    let dir = tempfile::tempdir().unwrap();
    let mut vocab: Vec<String> = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
        .map(str::to_owned)
        .to_vec();
    for c in ('a'..='z').chain('0'..='9') {
        vocab.push(c.to_string());
        vocab.push(format!("##{c}"));
    }
    vocab.extend([".", ",", "!", "?", "'", "the", "cat", "##s", "nona", "中"].map(str::to_owned));
    let path = dir.path().join("vocab.txt");
    std::fs::write(&path, vocab.join("\n")).unwrap();
    TextTokenizer::from_vocab(&path, true, MAX_LENGTH).unwrap()
}

/// The test's vocabulary first, then MiniLM's when present; built once for every case.
static TOKENIZERS: LazyLock<Vec<TextTokenizer>> = LazyLock::new(tokenizers);

fn tokenizers() -> Vec<TextTokenizer> {
    let mut tokenizers = vec![vocab_tokenizer()];
    let weights = std::env::var_os("NONA_WEIGHTS_DIR").map_or_else(
        || PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../weights")),
        PathBuf::from,
    );
    let minilm = weights.join("all-MiniLM-L6-v2/tokenizer.json");
    if minilm.is_file() {
        tokenizers.push(TextTokenizer::from_file(&minilm, MAX_LENGTH).unwrap());
    }
    tokenizers
}

/// Text from words, whitespace of every kind, control and format characters, combining marks,
/// CJK, emoji and arbitrary code points.
fn text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        3 => "[a-zA-Z0-9]{1,12}",
        2 => prop::sample::select(vec![
            " ", "\t", "\n", "\r\n", "\u{a0}", "\u{3000}", "\u{200b}", "\u{feff}", "\0",
            "\u{7}", "\u{1b}[0m", "\u{85}", "\u{2028}", "\u{301}", "e\u{301}", "中文",
            "🦀", "👩‍👩‍👧", "\u{fffd}", "[CLS]", "[SEP]", "[PAD]", "##", "...", "'s",
        ])
        .prop_map(str::to_owned),
        1 => any::<char>().prop_map(String::from),
    ];
    prop::collection::vec(piece, 0..64).prop_map(|pieces| pieces.concat())
}

/// `encode` is `[CLS] … [SEP]` within the maximum length, or a typed error for blank text.
fn check_encoding(
    tokenizer: &TextTokenizer,
    text: &str,
    result: &Result<Encoded, TextError>,
) -> Result<(), TestCaseError> {
    let cls = tokenizer.inner().token_to_id("[CLS]");
    let sep = tokenizer.inner().token_to_id("[SEP]");
    match result {
        Ok(encoded) => {
            prop_assert!(!text.trim().is_empty());
            prop_assert!((3..=MAX_LENGTH).contains(&encoded.len()), "{:?}", encoded);
            prop_assert_eq!(encoded.ids.first().copied(), cls);
            prop_assert_eq!(encoded.ids.last().copied(), sep);
            prop_assert_eq!(encoded.type_ids.len(), encoded.len());
        }
        Err(TextError::Empty) => prop_assert!(text.trim().is_empty()),
        Err(TextError::NoTokens) => prop_assert!(!text.trim().is_empty()),
        Err(other) => prop_assert!(false, "{:?}: unexpected error {}", text, other),
    }
    Ok(())
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn any_text_tokenises_or_is_a_typed_error(text in text()) {
        for tokenizer in TOKENIZERS.iter() {
            check_encoding(tokenizer, &text, &tokenizer.encode(&text))?;
        }
    }

}

proptest! {
    #![proptest_config(cases(48))]

    #[test]
    fn batched_texts_come_out_as_tokenised_alone(
        texts in prop::collection::vec(text(), 1..24),
        batch_size in 1..8usize,
    ) {
        let tokenizer = &TOKENIZERS[0];
        let encoded: Vec<(usize, Encoded)> = texts
            .iter()
            .enumerate()
            .filter_map(|(index, text)| tokenizer.encode(text).ok().map(|e| (index, e)))
            .collect();
        let lengths: Vec<usize> = encoded.iter().map(|(_, e)| e.len()).collect();
        let mut seen = Vec::new();
        for group in plan_batches(&lengths, batch_size, 8) {
            let rows: Vec<(usize, &Encoded)> =
                group.iter().map(|&k| (encoded[k].0, &encoded[k].1)).collect();
            let batch = TokenBatch::collate(&rows, tokenizer.pad_id());
            for (row, &index) in batch.indices.iter().enumerate() {
                let alone = tokenizer.encode(&texts[index]).unwrap();
                let start = row * batch.seq_len;
                prop_assert_eq!(&batch.input_ids[start..start + alone.len()], alone.ids.as_slice());
                prop_assert!(batch.input_ids[start + alone.len()..start + batch.seq_len]
                    .iter()
                    .all(|&id| id == tokenizer.pad_id()));
                let real = batch.attention_mask[start..start + batch.seq_len]
                    .iter()
                    .filter(|&&m| m == 1)
                    .count();
                prop_assert_eq!(real, alone.len());
                seen.push(index);
            }
        }
        seen.sort_unstable();
        let expected: Vec<usize> = encoded.iter().map(|(index, _)| *index).collect();
        prop_assert_eq!(seen, expected);
    }
}
