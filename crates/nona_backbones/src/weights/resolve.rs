//! [`WeightsLocator`]: the resolution order local file → Hugging Face cache → download → error.

use std::path::PathBuf;

use super::{ResolvedWeights, WeightsSpec, hf_cache};
use crate::{Error, Result};

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
