//! Finding, identifying and reading weights files.
//!
//! Resolution order ([`WeightsLocator::resolve`]): an explicit file, then `weights_dir/<known name>`,
//! then the Hugging Face hub cache, then a download into that cache (unless `HF_HUB_OFFLINE=1`),
//! else an error that names the file to provide and where. Readable formats: safetensors, zip
//! PyTorch checkpoints (torch ≥ 1.6), legacy pre-zip PyTorch pickles and CTranslate2 Whisper
//! `model.bin` files (mapped to transformers' encoder names). Tokenizers of text backbones are
//! found the same way ([`WeightsLocator::resolve_tokenizer`]).

pub mod ctranslate2;
mod hf_cache;
mod legacy_pickle;
mod resolve;
mod synthetic;

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use sha2::{Digest, Sha256};

use crate::{Error, Result};

pub use hf_cache::HfFile;
pub use legacy_pickle::read_legacy_pth;
pub use resolve::{ResolvedTokenizer, TokenizerFormat, WeightsLocator};
pub use synthetic::{SyntheticWeights, synthetic_values};

/// Where the weights of one backbone can come from.
#[derive(Debug, Clone, Copy)]
pub struct WeightsSpec {
    /// File names accepted in the local weights directory, preferred first.
    pub file_names: &'static [&'static str],
    /// The file on the Hugging Face hub, if the weights are published there.
    pub hf: Option<HfFile>,
    /// Human description of where the weights come from (used in error messages).
    pub origin: &'static str,
}

/// Where the tokenizer of a text backbone can come from.
#[derive(Debug, Clone, Copy)]
pub struct TokenizerSpec {
    /// Paths accepted under the local weights directory (`tokenizer.json` or a WordPiece
    /// `vocab.txt`), preferred first.
    pub file_names: &'static [&'static str],
    /// The `tokenizer.json` on the Hugging Face hub, if published there.
    pub hf: Option<HfFile>,
    /// Whether a `vocab.txt` is used lower-cased with accents stripped (uncased models).
    pub lowercase: bool,
}

/// How a weights file is encoded, detected from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightsFormat {
    /// `.safetensors`.
    Safetensors,
    /// PyTorch zip checkpoint (`torch.save`, torch ≥ 1.6).
    TorchZip,
    /// PyTorch legacy checkpoint (pickles followed by raw storages, torch < 1.6 or
    /// `_use_new_zipfile_serialization=False`).
    TorchLegacy,
    /// CTranslate2 `model.bin` (binary version 6); only Whisper models are read.
    CTranslate2,
}

impl WeightsFormat {
    /// Detects the format of `path` from its magic bytes.
    pub fn detect(path: &Path) -> Result<Self> {
        let mut head = [0u8; 9];
        let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let read = file.read(&mut head).map_err(|e| Error::io(path, e))?;
        match &head[..read] {
            [b'P', b'K', 3, 4, ..] => Ok(Self::TorchZip),
            [0x80, ..] => Ok(Self::TorchLegacy),
            [_, _, _, _, _, _, _, _, b'{'] => Ok(Self::Safetensors),
            // Binary version 6, then the length-prefixed spec name.
            [6, 0, 0, 0, ..] => Ok(Self::CTranslate2),
            _ => Err(Error::bad_file(
                path,
                "not a safetensors file, a PyTorch checkpoint nor a CTranslate2 model.bin",
            )),
        }
    }
}

/// A weights file that was found, with what is needed to record its provenance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedWeights {
    /// The file.
    pub path: PathBuf,
    /// Its encoding.
    pub format: WeightsFormat,
    /// Lower-case hex sha256 of the file's bytes.
    pub sha256: String,
}

impl ResolvedWeights {
    /// Identifies `path`: detects its format and hashes it.
    pub fn from_file(path: &Path) -> Result<Self> {
        Ok(Self {
            path: path.to_owned(),
            format: WeightsFormat::detect(path)?,
            sha256: sha256_file(path)?,
        })
    }

    /// Reads every tensor of the file onto `device`, keyed by its state-dict name (for a
    /// CTranslate2 Whisper model: its encoder under transformers' `WhisperEncoder` names, `f32`).
    pub fn load(&self, device: &Device) -> Result<HashMap<String, Tensor>> {
        let tensors = match self.format {
            WeightsFormat::Safetensors => candle_core::safetensors::load(&self.path, device)?,
            WeightsFormat::TorchZip => candle_core::pickle::read_all(&self.path)?
                .into_iter()
                .map(|(name, tensor)| Ok((name, tensor.to_device(device)?)))
                .collect::<Result<_>>()?,
            WeightsFormat::TorchLegacy => read_legacy_pth(&self.path, device)?,
            WeightsFormat::CTranslate2 => ctranslate2::Ct2Model::read(&self.path)?
                .whisper_encoder(device)
                .ok_or_else(|| {
                    Error::bad_file(&self.path, "not a CTranslate2 Whisper (WhisperSpec) model")
                })?,
        };
        Ok(tensors)
    }
}

/// Lower-case hex sha256 of a file, streamed.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let read = file.read(&mut buffer).map_err(|e| Error::io(path, e))?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect())
}
