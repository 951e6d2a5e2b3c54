//! Audio: `[preprocess.audio]` (decode → mono → resample to the backbone's rate → optional
//! denoise → fixed-length window); the probe reads the container and codec headers;
//! preparation loads the clips as `nona_audio` does and batches clips of one length.

use std::path::Path;

use candle_core::Device;
use nona_audio::{Clip, LoadOptions, ShortPolicy};
use nona_backbones::{BackboneInput, InputSpec};
use nona_pipeline::config::{ConfigError, Pipeline};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Prepare, Sample, stack_rows};

/// `[preprocess.audio]`: decode → mono → resample to the backbone's rate (16 kHz) → optional
/// denoise → fixed-length window.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AudioOptions {
    /// Window length in seconds: longer clips are trimmed, shorter ones zero-padded (or rejected,
    /// see `short`). Default: the backbone's window (30 s for Whisper), else the whole clip.
    #[serde(default)]
    duration_s: Option<f64>,
    /// Where the window sits in a longer clip: `start` or `center`.
    #[serde(default)]
    anchor: AudioAnchor,
    /// Clips shorter than `duration_s`: `pad` with zeros, or `error` (an errors-table row).
    #[serde(default)]
    short: ShortPolicy,
    /// Stationary spectral gating as the `noisereduce` package (noise profile from the clip).
    #[serde(default)]
    denoise: bool,
    /// Silent clips (peak amplitude at most `silence_threshold`): `keep` them, or `error`.
    #[serde(default)]
    silence: SilentClips,
    /// Peak amplitude (full scale 1.0) at or below which a clip counts as silent.
    #[serde(default = "default_silence_threshold")]
    silence_threshold: f32,
}

impl Default for AudioOptions {
    fn default() -> Self {
        Self {
            duration_s: None,
            anchor: AudioAnchor::default(),
            short: ShortPolicy::default(),
            denoise: false,
            silence: SilentClips::default(),
            silence_threshold: default_silence_threshold(),
        }
    }
}

fn default_silence_threshold() -> f32 {
    1e-4
}

/// Where a window is taken from a clip longer than it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
enum AudioAnchor {
    /// The first samples.
    #[default]
    Start,
    /// The middle samples.
    Center,
}

/// What to do with a silent clip.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
enum SilentClips {
    /// Embed it like any other.
    #[default]
    Keep,
    /// Record it in the errors table.
    Error,
}

impl AudioOptions {
    /// How `nona_audio` loads a clip for a backbone reading `sample_rate` Hz with its own window
    /// of `backbone_window` samples (`None`: any length).
    fn load_options(&self, sample_rate: u32, backbone_window: Option<usize>) -> LoadOptions {
        let mut options = LoadOptions::new(sample_rate);
        options.window = match self.duration_s {
            Some(seconds) => Some((seconds * f64::from(sample_rate)).round() as usize),
            None => backbone_window,
        };
        options.anchor = match self.anchor {
            AudioAnchor::Start => nona_audio::WindowAnchor::Start,
            AudioAnchor::Center => nona_audio::WindowAnchor::Center,
        };
        options.short = self.short;
        options.reject_silence_below =
            (self.silence == SilentClips::Error).then_some(self.silence_threshold);
        options.denoise = self.denoise.then(nona_audio::DenoiseParams::default);
        options
    }
}

/// Checks the `[preprocess.audio]` values.
pub(super) fn check_options(
    pipeline: &Pipeline,
    options: &AudioOptions,
    errors: &mut Vec<ConfigError>,
) {
    let mut problem = |key: &str, message: String| {
        errors.push(pipeline.error_at(&format!("preprocess.audio.{key}"), message));
    };
    if let Some(seconds) = options.duration_s
        && !(seconds.is_finite() && seconds > 0.0)
    {
        problem(
            "duration_s",
            format!("`duration_s` must be a positive number of seconds, got {seconds}"),
        );
    }
    if !(options.silence_threshold.is_finite() && options.silence_threshold >= 0.0) {
        problem(
            "silence_threshold",
            format!(
                "`silence_threshold` must be a peak amplitude >= 0 (full scale 1.0), got {}",
                options.silence_threshold
            ),
        );
    }
    if options.duration_s.is_none() && options.short == ShortPolicy::Error {
        problem(
            "short",
            "`short = \"error\"` needs a `duration_s` to compare clips with".to_owned(),
        );
    }
}

/// Checks that an audio file's container and codec can be decoded (headers only: a truncated
/// stream fails later, in `embed`).
pub(super) fn probe(path: &Path) -> Result<(), String> {
    nona_audio::probe_file(path).map_err(|e| audio_message(&e, path))?;
    Ok(())
}

/// An audio error's message without the leading `path: ` (the errors table has the path in its
/// `source` column).
fn audio_message(error: &nona_audio::AudioError, path: &Path) -> String {
    let text = error.to_string();
    text.strip_prefix(&format!("{}: ", path.display()))
        .map_or_else(|| text.clone(), str::to_owned)
}

/// The checked `[preprocess.audio]` options.
pub(crate) struct AudioConfig {
    options: AudioOptions,
}

impl AudioConfig {
    /// Value checks are the preprocess stage's (reported once, there).
    pub(crate) fn new(options: Option<&AudioOptions>) -> Self {
        Self {
            options: options.cloned().unwrap_or_default(),
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
pub(crate) struct AudioInputs {
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
