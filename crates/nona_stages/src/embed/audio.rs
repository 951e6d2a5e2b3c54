//! Audio: decode → mono → resample to the backbone's rate → optional denoise → fixed window
//! (`[preprocess.audio]`), then batches of clips of one length.

use std::path::Path;

use candle_core::Device;
use nona_audio::{Clip, LoadOptions};
use nona_backbones::{BackboneInput, InputSpec};
use rayon::prelude::*;
use serde_json::json;

use super::{Prepare, Sample, stack_rows};
use crate::preprocess::{AudioOptions, PreprocessConfig, audio_message};

/// The checked `[preprocess.audio]` options.
pub(super) struct AudioConfig {
    options: AudioOptions,
}

impl AudioConfig {
    /// Value checks are the preprocess stage's (reported once, there).
    pub(super) fn new(preprocess: &PreprocessConfig) -> Self {
        Self {
            options: preprocess.audio.clone().unwrap_or_default(),
        }
    }

    /// The loading options for a backbone that reads `spec`.
    pub(super) fn inputs(&self, spec: &InputSpec) -> anyhow::Result<AudioInputs> {
        let &InputSpec::Audio {
            sample_rate,
            window,
            min_samples,
        } = spec
        else {
            anyhow::bail!("the backbone does not read audio ({spec:?})");
        };
        let load = self.options.load_options(sample_rate, window);
        if let (Some(ours), Some(theirs)) = (load.window, window)
            && ours > theirs
        {
            anyhow::bail!(
                "[preprocess.audio] duration_s = {} s is longer than the backbone's {} s window",
                ours as f64 / f64::from(sample_rate),
                theirs as f64 / f64::from(sample_rate)
            );
        }
        Ok(AudioInputs { load, min_samples })
    }
}

/// Loads clips as `nona_audio` does and batches clips of equal length.
pub(super) struct AudioInputs {
    load: LoadOptions,
    min_samples: usize,
}

impl AudioInputs {
    /// The loading options in effect, for the `nona.preprocess` metadata.
    pub(super) fn json(&self) -> String {
        let load = &self.load;
        json!({
            "sample_rate": load.sample_rate,
            "window_samples": load.window,
            "anchor": format!("{:?}", load.anchor).to_lowercase(),
            "short": format!("{:?}", load.short).to_lowercase(),
            // f32 as written (its shortest decimal), not widened to f64's 0.0000999…
            "silence_threshold": load
                .reject_silence_below
                .and_then(|v| v.to_string().parse::<f64>().ok()),
            "denoise": load.denoise.is_some(),
        })
        .to_string()
    }

    fn load(&self, sample: &Sample) -> Result<Clip, String> {
        let path = Path::new(&sample.input);
        let clip = nona_audio::load(path, &self.load).map_err(|e| audio_message(&e, path))?;
        if clip.samples.len() < self.min_samples {
            return Err(format!(
                "{} samples at {} Hz is shorter than the {} samples the backbone needs",
                clip.samples.len(),
                clip.sample_rate,
                self.min_samples
            ));
        }
        Ok(clip)
    }
}

impl Prepare for AudioInputs {
    type Item = Clip;

    fn window(&self, batch_size: usize, _unit_len: usize) -> usize {
        batch_size
    }

    fn prepare(&self, samples: &[Sample], pool: &rayon::ThreadPool) -> Vec<Result<Clip, String>> {
        pool.install(|| samples.par_iter().map(|s| self.load(s)).collect())
    }

    /// Clips of one length per batch: a fixed window makes them all equal; without one, clips
    /// are grouped by length, so no clip is ever padded by its batch (models such as HuBERT
    /// attend to every sample they are given).
    fn batches(&self, items: &[&Clip], batch_size: usize) -> Vec<Vec<usize>> {
        let mut order: Vec<usize> = (0..items.len()).collect();
        order.sort_by_key(|&i| items[i].samples.len());
        let mut batches: Vec<Vec<usize>> = Vec::new();
        for i in order {
            match batches.last_mut() {
                Some(batch)
                    if batch.len() < batch_size
                        && items[batch[0]].samples.len() == items[i].samples.len() =>
                {
                    batch.push(i);
                }
                _ => batches.push(vec![i]),
            }
        }
        batches
    }

    fn input(&self, items: &[&Clip], device: &Device) -> anyhow::Result<BackboneInput> {
        let n = items[0].samples.len();
        anyhow::ensure!(
            items.iter().all(|c| c.samples.len() == n),
            "clips in a batch differ in length"
        );
        let rows: Vec<&[f32]> = items.iter().map(|c| c.samples.as_slice()).collect();
        Ok(BackboneInput::Audio {
            samples: stack_rows(&rows, &[items.len(), n], device)?,
            lengths: items.iter().map(|c| c.valid).collect(),
        })
    }
}
