//! Text tokenisation for nona's BERT-family backbones.
//!
//! A [`TextTokenizer`] is loaded from a model's `tokenizer.json` (any Hugging Face `tokenizers`
//! pipeline) or from a WordPiece `vocab.txt` (BERT's uncased/cased pipeline rebuilt in code). It
//! truncates every text to the model's maximum length (special tokens included) and gives the same
//! token ids as Python `tokenizers`/`transformers` (`tokenizer(text, truncation=True,
//! max_length=...)`). Texts that are empty or whitespace-only, or that normalise to nothing, are a
//! typed [`TextError`] so that the caller can record them as errors-table rows.
//!
//! Batches: [`plan_batches`] groups texts of similar length (sorted by length inside windows of
//! consecutive texts) and [`TokenBatch::collate`] pads one group to its longest member, remembering
//! the original index of every row.
//!
//! ```no_run
//! use nona_text::{TextTokenizer, TokenBatch, plan_batches};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let tokenizer = TextTokenizer::from_file("weights/all-MiniLM-L6-v2/tokenizer.json".as_ref(), 256)?;
//! let texts = ["a short one", "a somewhat longer sentence", "   "];
//! let encoded: Vec<_> = texts.iter().map(|t| tokenizer.encode(t)).collect();
//! // Errors (the whitespace-only text) become error rows; the rest is batched.
//! let ok: Vec<(usize, nona_text::Encoded)> = encoded
//!     .into_iter()
//!     .enumerate()
//!     .filter_map(|(i, e)| e.ok().map(|e| (i, e)))
//!     .collect();
//! let lengths: Vec<usize> = ok.iter().map(|(_, e)| e.len()).collect();
//! for group in plan_batches(&lengths, 32, 1024) {
//!     let rows: Vec<(usize, &nona_text::Encoded)> = group.iter().map(|&k| (ok[k].0, &ok[k].1)).collect();
//!     let batch = TokenBatch::collate(&rows, tokenizer.pad_id());
//!     let (ids, mask, types) = batch.tensors(&candle_core::Device::Cpu)?;
//!     // ... backbone.embed(&BackboneInput::Tokens { .. }) → rows batch.indices[i]
//! #   let _ = (ids, mask, types);
//! }
//! # Ok(()) }
//! ```

use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use tokenizers::models::wordpiece::WordPiece;
use tokenizers::normalizers::BertNormalizer;
use tokenizers::pre_tokenizers::bert::BertPreTokenizer;
use tokenizers::processors::bert::BertProcessing;
use tokenizers::{
    AddedToken, Tokenizer, TruncationDirection, TruncationParams, TruncationStrategy,
};

/// Why a text could not be tokenised.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TextError {
    /// The text is empty or contains only whitespace.
    #[error("empty or whitespace-only text")]
    Empty,
    /// The text is not blank but normalises to no token at all (e.g. only control characters).
    #[error("text has no tokens after normalisation (only control or unknown characters?)")]
    NoTokens,
    /// The tokenizer file could not be read or parsed.
    #[error("{path}: {message}")]
    BadTokenizerFile {
        /// The file involved.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// The tokenizer failed on a text or its configuration is invalid.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// Building tensors failed.
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
}

/// Result alias of this crate.
pub type Result<T, E = TextError> = std::result::Result<T, E>;

/// The token ids of one text, special tokens included, truncated to the tokenizer's maximum length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    /// Token ids (`[CLS] … [SEP]` for BERT).
    pub ids: Vec<u32>,
    /// Segment ids (all 0 for a single text).
    pub type_ids: Vec<u32>,
}

impl Encoded {
    /// Number of tokens.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether there is no token (never true for an [`Encoded`] from [`TextTokenizer::encode`]).
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

/// A tokenizer with the truncation a backbone needs.
#[derive(Debug, Clone)]
pub struct TextTokenizer {
    tokenizer: Tokenizer,
    max_length: usize,
    pad_id: u32,
}

impl TextTokenizer {
    /// Loads a Hugging Face `tokenizer.json`. Its own padding settings are dropped (batches are
    /// padded by [`TokenBatch::collate`]) and its truncation is replaced by `max_length` tokens
    /// (special tokens included, longest-first, from the right), as `transformers` does with
    /// `truncation=True, max_length=max_length`.
    pub fn from_file(path: &Path, max_length: usize) -> Result<Self> {
        let tokenizer = Tokenizer::from_file(path).map_err(|e| TextError::BadTokenizerFile {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        let pad_id = tokenizer
            .get_padding()
            .map(|padding| padding.pad_id)
            .or_else(|| tokenizer.token_to_id("[PAD]"))
            .unwrap_or(0);
        Self::with_tokenizer(tokenizer, max_length, pad_id)
    }

    /// Builds BERT's WordPiece tokenizer from a `vocab.txt` (one token per line, id = line number):
    /// BERT normaliser (clean text, CJK characters split, accents stripped when lower-casing),
    /// BERT pre-tokeniser, WordPiece with `##` continuations and `[UNK]`, and `[CLS] … [SEP]`, as
    /// `transformers.BertTokenizer(vocab, do_lower_case=lowercase)`.
    pub fn from_vocab(path: &Path, lowercase: bool, max_length: usize) -> Result<Self> {
        let bad = |message: String| TextError::BadTokenizerFile {
            path: path.to_owned(),
            message,
        };
        let vocab = path
            .to_str()
            .ok_or_else(|| bad("path is not UTF-8".into()))?;
        let model = WordPiece::from_file(vocab)
            .unk_token("[UNK]".into())
            .build()
            .map_err(|e| bad(e.to_string()))?;
        let mut tokenizer = Tokenizer::new(model);
        let id = |token: &str| {
            tokenizer
                .token_to_id(token)
                .ok_or_else(|| bad(format!("vocabulary has no {token}")))
        };
        let (cls, sep, pad) = (id("[CLS]")?, id("[SEP]")?, id("[PAD]")?);
        tokenizer
            .with_normalizer(Some(BertNormalizer::new(true, true, None, lowercase)))
            .map_err(|e| bad(e.to_string()))?;
        tokenizer.with_pre_tokenizer(Some(BertPreTokenizer));
        tokenizer.with_post_processor(Some(BertProcessing::new(
            ("[SEP]".into(), sep),
            ("[CLS]".into(), cls),
        )));
        let specials: Vec<AddedToken> = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
            .into_iter()
            .filter(|token| tokenizer.token_to_id(token).is_some())
            .map(|token| AddedToken::from(token, true))
            .collect();
        tokenizer
            .add_special_tokens(specials)
            .map_err(|e| bad(e.to_string()))?;
        Self::with_tokenizer(tokenizer, max_length, pad)
    }

    fn with_tokenizer(mut tokenizer: Tokenizer, max_length: usize, pad_id: u32) -> Result<Self> {
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(Some(TruncationParams {
                direction: TruncationDirection::Right,
                max_length,
                strategy: TruncationStrategy::LongestFirst,
                stride: 0,
            }))
            .map_err(|e| TextError::Tokenizer(e.to_string()))?;
        Ok(Self {
            tokenizer,
            max_length,
            pad_id,
        })
    }

    /// Maximum number of tokens of one text, special tokens included.
    pub fn max_length(&self) -> usize {
        self.max_length
    }

    /// Id of the padding token.
    pub fn pad_id(&self) -> u32 {
        self.pad_id
    }

    /// The underlying Hugging Face tokenizer.
    pub fn inner(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// Tokenises one text (with special tokens, truncated).
    ///
    /// Errors: [`TextError::Empty`] for an empty or whitespace-only text, [`TextError::NoTokens`]
    /// when nothing but special tokens remains after normalisation.
    pub fn encode(&self, text: &str) -> Result<Encoded> {
        if text.trim().is_empty() {
            return Err(TextError::Empty);
        }
        let encoding = self
            .tokenizer
            .encode(text, true)
            .map_err(|e| TextError::Tokenizer(e.to_string()))?;
        if encoding.get_special_tokens_mask().iter().all(|&s| s == 1) {
            return Err(TextError::NoTokens);
        }
        Ok(Encoded {
            ids: encoding.get_ids().to_vec(),
            type_ids: encoding.get_type_ids().to_vec(),
        })
    }
}

/// Groups items of similar length to waste little padding.
///
/// Consecutive windows of `window` items (in input order) are each sorted by length (stable, so
/// equal lengths keep their order) and cut into batches of at most `batch_size`. Returns the
/// batches as indices into `lengths`; every index appears exactly once. Windowing bounds how far an
/// item moves, so outputs can be written in nearly input order.
pub fn plan_batches(lengths: &[usize], batch_size: usize, window: usize) -> Vec<Vec<usize>> {
    let batch_size = batch_size.max(1);
    let window = window.max(batch_size);
    let mut batches = Vec::with_capacity(lengths.len().div_ceil(batch_size));
    let indices: Vec<usize> = (0..lengths.len()).collect();
    for chunk in indices.chunks(window) {
        let mut sorted = chunk.to_vec();
        sorted.sort_by_key(|&i| lengths[i]);
        batches.extend(sorted.chunks(batch_size).map(<[usize]>::to_vec));
    }
    batches
}

/// A padded batch of tokenised texts, row-major `(batch_size, seq_len)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenBatch {
    /// For each row, the caller-given index of its text (e.g. its position in the input table).
    pub indices: Vec<usize>,
    /// Rows.
    pub batch_size: usize,
    /// Columns: the longest text of the batch.
    pub seq_len: usize,
    /// Token ids, padded with the tokenizer's pad id.
    pub input_ids: Vec<u32>,
    /// 1 for a real token, 0 for padding (Hugging Face convention).
    pub attention_mask: Vec<u32>,
    /// Segment ids, 0 on padding.
    pub token_type_ids: Vec<u32>,
}

impl TokenBatch {
    /// Pads `(index, encoded)` rows to the longest one, padding on the right with `pad_id`.
    pub fn collate(rows: &[(usize, &Encoded)], pad_id: u32) -> Self {
        let seq_len = rows.iter().map(|(_, e)| e.len()).max().unwrap_or(0);
        let batch_size = rows.len();
        let mut batch = Self {
            indices: rows.iter().map(|&(i, _)| i).collect(),
            batch_size,
            seq_len,
            input_ids: vec![pad_id; batch_size * seq_len],
            attention_mask: vec![0; batch_size * seq_len],
            token_type_ids: vec![0; batch_size * seq_len],
        };
        for (row, (_, encoded)) in rows.iter().enumerate() {
            let start = row * seq_len;
            let n = encoded.len();
            batch.input_ids[start..start + n].copy_from_slice(&encoded.ids);
            batch.attention_mask[start..start + n].fill(1);
            batch.token_type_ids[start..start + n].copy_from_slice(&encoded.type_ids);
        }
        batch
    }

    /// Number of padding positions (the waste [`plan_batches`] keeps small).
    pub fn padding(&self) -> usize {
        self.attention_mask.iter().filter(|&&m| m == 0).count()
    }

    /// `(input_ids, attention_mask, token_type_ids)` as `(B, L)` `u32` tensors on `device`.
    pub fn tensors(&self, device: &Device) -> Result<(Tensor, Tensor, Tensor)> {
        let shape = (self.batch_size, self.seq_len);
        Ok((
            Tensor::from_slice(&self.input_ids, shape, device)?,
            Tensor::from_slice(&self.attention_mask, shape, device)?,
            Tensor::from_slice(&self.token_type_ids, shape, device)?,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::{Encoded, TokenBatch, plan_batches};

    #[test]
    fn plan_batches_sorts_within_windows_and_keeps_every_index() {
        let lengths = [5, 1, 4, 2, 9, 3, 3, 8];
        let batches = plan_batches(&lengths, 2, 4);
        assert_eq!(
            batches,
            vec![vec![1, 3], vec![2, 0], vec![5, 6], vec![7, 4]]
        );
        let mut all: Vec<usize> = batches.concat();
        all.sort_unstable();
        assert_eq!(all, (0..lengths.len()).collect::<Vec<_>>());
        assert!(plan_batches(&[], 4, 16).is_empty());
        // A window smaller than the batch is widened to the batch.
        assert_eq!(plan_batches(&[3, 2, 1], 3, 1), vec![vec![2, 1, 0]]);
    }

    #[test]
    fn collate_pads_right_and_masks() {
        let a = Encoded {
            ids: vec![101, 7, 102],
            type_ids: vec![0, 0, 0],
        };
        let b = Encoded {
            ids: vec![101, 102],
            type_ids: vec![0, 0],
        };
        let batch = TokenBatch::collate(&[(4, &a), (1, &b)], 9);
        assert_eq!(batch.indices, vec![4, 1]);
        assert_eq!((batch.batch_size, batch.seq_len), (2, 3));
        assert_eq!(batch.input_ids, vec![101, 7, 102, 101, 102, 9]);
        assert_eq!(batch.attention_mask, vec![1, 1, 1, 1, 1, 0]);
        assert_eq!(batch.padding(), 1);
        let (ids, mask, _) = batch.tensors(&candle_core::Device::Cpu).unwrap();
        assert_eq!(ids.dims(), &[2, 3]);
        assert_eq!(
            mask.to_vec2::<u32>().unwrap(),
            vec![vec![1, 1, 1], vec![1, 1, 0]]
        );
    }
}
