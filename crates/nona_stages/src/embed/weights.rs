//! Where the backbone's weights and tokenizer come from (resolved once, on first use, since
//! both are fingerprinted by their SHA-256), and the backbone built from them.

use anyhow::Context;
use candle_core::{DType, Device};
use nona_backbones::{Backbone, ResolvedTokenizer, ResolvedWeights, WeightsLocator};

use super::EmbedStage;
use super::config::SYNTHETIC_WEIGHTS;

/// Where the backbone's weights come from.
#[derive(Debug, Clone)]
pub(super) enum WeightsSource {
    /// `weights = "synthetic"`.
    Synthetic,
    /// A file, the weights directory or the Hugging Face cache.
    Locator(WeightsLocator),
}

impl EmbedStage {
    /// The weights file found and its digest (resolved once); `None` for synthetic weights.
    pub(super) fn resolved(&self) -> anyhow::Result<Option<&ResolvedWeights>> {
        let WeightsSource::Locator(locator) = &self.weights else {
            return Ok(None);
        };
        if self.resolved.get().is_none() {
            let _ = self
                .resolved
                .set(locator.resolve(self.entry.name, &self.entry.weights)?);
        }
        Ok(self.resolved.get())
    }

    /// The tokenizer of a text backbone (found after the weights, which it may sit next to).
    pub(super) fn tokenizer(&self) -> anyhow::Result<Option<&ResolvedTokenizer>> {
        let Some(spec) = &self.entry.tokenizer else {
            return Ok(None);
        };
        if self.tokenizer.get().is_none() {
            let weights_path = self.resolved()?.map(|r| r.path.clone());
            let locator = match &self.weights {
                WeightsSource::Locator(locator) => locator.clone(),
                WeightsSource::Synthetic => WeightsLocator::from_env(),
            };
            let _ = self.tokenizer.set(locator.resolve_tokenizer(
                self.entry.name,
                spec,
                self.tokenizer_file.as_deref(),
                weights_path.as_deref(),
            )?);
        }
        Ok(self.tokenizer.get())
    }

    /// The weights' SHA-256, or `synthetic`.
    pub(super) fn weights_label(&self) -> String {
        match self.resolved.get() {
            Some(resolved) => resolved.sha256.clone(),
            None => SYNTHETIC_WEIGHTS.to_owned(),
        }
    }

    /// Loads the weights onto `device` and builds the backbone with the pipeline's options.
    pub(super) fn build_backbone(&self, device: &Device) -> anyhow::Result<Box<dyn Backbone>> {
        let vb = match self.resolved()? {
            Some(resolved) => {
                let tensors = resolved
                    .load(device)
                    .with_context(|| format!("loading {}", resolved.path.display()))?;
                candle_nn::VarBuilder::from_tensors(tensors, DType::F32, device)
            }
            None => candle_nn::VarBuilder::from_backend(
                Box::new(nona_backbones::weights::SyntheticWeights),
                DType::F32,
                device.clone(),
            ),
        };
        Ok(nona_backbones::build_backbone_with(
            &self.config.backbone,
            vb,
            &self.options,
        )?)
    }
}
