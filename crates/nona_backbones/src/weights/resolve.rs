//! [`WeightsLocator`]: the resolution order local file → Hugging Face cache → download → error.

use std::path::{Path, PathBuf};

use super::{ResolvedWeights, TokenizerSpec, WeightsSpec, hf_cache, sha256_file};
use crate::{Error, Result};

/// How a tokenizer file is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenizerFormat {
    /// A Hugging Face `tokenizer.json` (the full pipeline).
    Json,
    /// A WordPiece `vocab.txt`, one token per line (BERT's pipeline is rebuilt around it).
    Vocab,
}

impl TokenizerFormat {
    /// `.json` files are `tokenizer.json`s; anything else is read as a `vocab.txt`.
    pub fn of(path: &Path) -> Self {
        if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"))
        {
            Self::Json
        } else {
            Self::Vocab
        }
    }
}

/// A tokenizer file that was found, with its provenance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedTokenizer {
    /// The file.
    pub path: PathBuf,
    /// How it is written.
    pub format: TokenizerFormat,
    /// Lower-case hex sha256 of its bytes.
    pub sha256: String,
    /// Lower-case a `vocab.txt`'s input (from the backbone's [`TokenizerSpec`]).
    pub lowercase: bool,
}

impl ResolvedTokenizer {
    fn from_file(path: &Path, spec: &TokenizerSpec) -> Result<Self> {
        Ok(Self {
            path: path.to_owned(),
            format: TokenizerFormat::of(path),
            sha256: sha256_file(path)?,
            lowercase: spec.lowercase,
        })
    }
}

/// The files looked for next to a weights file, preferred first.
const BESIDE_WEIGHTS: [&str; 2] = ["tokenizer.json", "vocab.txt"];

/// Where to look for weights files; build it with [`WeightsLocator::from_env`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeightsLocator {
    /// A file given explicitly by the user (`--weights`); used as is when set.
    pub file: Option<PathBuf>,
    /// Directory of local weights files (`$NONA_WEIGHTS_DIR`, default `weights`).
    pub weights_dir: PathBuf,
    /// Hugging Face hub cache (`$HF_HUB_CACHE`, else `$HF_HOME/hub`, else `~/.cache/huggingface/hub`).
    pub hf_hub_cache: PathBuf,
    /// `HF_HUB_OFFLINE=1`: never download.
    pub offline: bool,
}

impl WeightsLocator {
    /// Reads the locations from the process environment.
    pub fn from_env() -> Self {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// Reads the locations from an environment lookup (testable without touching the real environment).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Self {
        let non_empty = |name: &str| var(name).filter(|value| !value.is_empty());
        let hf_home = non_empty("HF_HOME").map(PathBuf::from).unwrap_or_else(|| {
            let cache = non_empty("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|| {
                    PathBuf::from(non_empty("HOME").unwrap_or_default()).join(".cache")
                });
            cache.join("huggingface")
        });
        let offline = non_empty("HF_HUB_OFFLINE").is_some_and(|value| {
            matches!(
                value.to_ascii_lowercase().as_str(),
                "1" | "true" | "yes" | "on"
            )
        });
        Self {
            file: None,
            weights_dir: non_empty("NONA_WEIGHTS_DIR")
                .map_or_else(|| PathBuf::from("weights"), PathBuf::from),
            hf_hub_cache: non_empty("HF_HUB_CACHE")
                .map_or_else(|| hf_home.join("hub"), PathBuf::from),
            offline,
        }
    }

    /// Finds the weights of backbone `name` and hashes them.
    pub fn resolve(&self, name: &str, spec: &WeightsSpec) -> Result<ResolvedWeights> {
        if let Some(file) = &self.file {
            if !file.is_file() {
                return Err(Error::WeightsNotFound(format!(
                    "weights file {} given for `{name}` does not exist",
                    file.display()
                )));
            }
            return ResolvedWeights::from_file(file);
        }
        if let Some(local) = spec
            .file_names
            .iter()
            .map(|f| self.weights_dir.join(f))
            .find(|p| p.is_file())
        {
            return ResolvedWeights::from_file(&local);
        }
        let mut hint = self.missing_hint(name, spec);
        if let Some(hf) = &spec.hf {
            if let Some(cached) = hf_cache::cached_file(&self.hf_hub_cache, hf) {
                return ResolvedWeights::from_file(&cached);
            }
            let expected = hf_cache::snapshot_path(&self.hf_hub_cache, hf, hf.revision);
            hint.push_str(&format!(
                "; it is not in the Hugging Face cache either ({})",
                expected.display()
            ));
            if self.offline {
                hint.push_str(&format!(
                    " and HF_HUB_OFFLINE=1 forbids downloading {}",
                    hf.url()
                ));
            } else {
                match hf_cache::download(&self.hf_hub_cache, hf) {
                    Ok(path) => return ResolvedWeights::from_file(&path),
                    Err(e) => hint.push_str(&format!(" and downloading it failed: {e}")),
                }
            }
        }
        Err(Error::WeightsNotFound(hint))
    }

    /// Finds the tokenizer of text backbone `name`: `explicit` when given; else `tokenizer.json`
    /// or `vocab.txt` in the directory of the weights file (`weights`, when the weights come from
    /// a file); else `weights_dir/<known name>`; else the Hugging Face cache, downloading unless
    /// offline; else an error that says which file to put where.
    pub fn resolve_tokenizer(
        &self,
        name: &str,
        spec: &TokenizerSpec,
        explicit: Option<&Path>,
        weights: Option<&Path>,
    ) -> Result<ResolvedTokenizer> {
        if let Some(file) = explicit {
            if !file.is_file() {
                return Err(Error::WeightsNotFound(format!(
                    "tokenizer file {} given for `{name}` does not exist",
                    file.display()
                )));
            }
            return ResolvedTokenizer::from_file(file, spec);
        }
        let beside = weights
            .and_then(Path::parent)
            .into_iter()
            .flat_map(|dir| BESIDE_WEIGHTS.iter().map(move |f| dir.join(f)));
        let local = spec.file_names.iter().map(|f| self.weights_dir.join(f));
        if let Some(found) = beside.chain(local).find(|p| p.is_file()) {
            return ResolvedTokenizer::from_file(&found, spec);
        }
        let dir = self.weights_dir.display();
        let wanted: Vec<String> = spec
            .file_names
            .iter()
            .map(|f| format!("{dir}/{f}"))
            .collect();
        let mut hint = format!(
            "no tokenizer for backbone `{name}`: put {} in place (or name one with `tokenizer = ...`)",
            wanted.join(" or ")
        );
        if let Some(weights) = weights.and_then(Path::parent) {
            hint.push_str(&format!(
                ", or a tokenizer.json / vocab.txt next to the weights in {}",
                weights.display()
            ));
        }
        if let Some(hf) = &spec.hf {
            if let Some(cached) = hf_cache::cached_file(&self.hf_hub_cache, hf) {
                return ResolvedTokenizer::from_file(&cached, spec);
            }
            if self.offline {
                hint.push_str(&format!(
                    "; HF_HUB_OFFLINE=1 forbids downloading {}",
                    hf.url()
                ));
            } else {
                match hf_cache::download(&self.hf_hub_cache, hf) {
                    Ok(path) => return ResolvedTokenizer::from_file(&path, spec),
                    Err(e) => hint.push_str(&format!("; downloading it failed: {e}")),
                }
            }
        }
        Err(Error::WeightsNotFound(hint))
    }

    fn missing_hint(&self, name: &str, spec: &WeightsSpec) -> String {
        let dir = self.weights_dir.display();
        let mut names = spec.file_names.iter().map(|f| format!("{dir}/{f}"));
        let first = names.next().unwrap_or_default();
        let others: Vec<String> = names.collect();
        let alternatives = if others.is_empty() {
            String::new()
        } else {
            format!(" (or {})", others.join(", "))
        };
        format!(
            "no weights for backbone `{name}`: put {first}{alternatives} in place, from {}",
            spec.origin
        )
    }
}
