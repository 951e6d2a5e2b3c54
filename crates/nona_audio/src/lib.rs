//! Audio loading for embeddings: decode (WAV, FLAC, MP3, OGG/Vorbis, AAC/M4A), downmix to mono,
//! resample, optional spectral-gating denoise, and fixed-length windows.
//!
//! ```no_run
//! use nona_audio::{LoadOptions, load};
//! # fn main() -> nona_audio::Result<()> {
//! // 16 kHz mono, first 30 s, zero-padded: what Whisper expects.
//! let clip = load("cough.ogg".as_ref(), &LoadOptions::whisper())?;
//! assert_eq!(clip.samples.len(), 480_000);
//! let audio_samples = clip.valid; // samples that carry audio, for pooling
//! # let _ = audio_samples;
//! # Ok(()) }
//! ```

mod decode;
pub mod denoise;
mod error;
mod resample;
mod window;

use std::path::Path;

pub use decode::{Decoded, Probed, decode_bytes, decode_file, downmix, probe_file};
pub use denoise::{DenoiseParams, denoise};
pub use error::{AudioError, Result};
pub use resample::resample;
pub use window::{ShortPolicy, WindowAnchor, take_window};

/// Sample rate of Whisper and HuBERT inputs.
pub const SAMPLE_RATE_16K: u32 = 16_000;

/// How [`load`] turns a file into a fixed-length mono clip.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadOptions {
    /// Target sample rate in Hz.
    pub sample_rate: u32,
    /// Window length in samples at `sample_rate`; `None` keeps the whole clip.
    pub window: Option<usize>,
    /// Where the window sits in longer clips.
    pub anchor: WindowAnchor,
    /// What to do with clips shorter than the window.
    pub short: ShortPolicy,
    /// `Some(peak)`: reject clips whose largest absolute sample is `<= peak` (silence only);
    /// `None` accepts them.
    pub reject_silence_below: Option<f32>,
    /// Spectral-gating denoise applied after resampling, before windowing.
    pub denoise: Option<DenoiseParams>,
}

impl LoadOptions {
    /// Mono at `sample_rate`, the whole clip, silence accepted, no denoise.
    pub fn new(sample_rate: u32) -> Self {
        Self {
            sample_rate,
            window: None,
            anchor: WindowAnchor::Start,
            short: ShortPolicy::Pad,
            reject_silence_below: None,
            denoise: None,
        }
    }

    /// Whisper's input: 16 kHz, the first 30 s, zero-padded.
    pub fn whisper() -> Self {
        Self::new(SAMPLE_RATE_16K).with_window_seconds(30.0)
    }

    /// CoughVid-style clips: 16 kHz, the first 1 s, zero-padded.
    pub fn coughvid() -> Self {
        Self::new(SAMPLE_RATE_16K).with_window_seconds(1.0)
    }

    /// Sets the window to `seconds` at the target rate (rounded to whole samples).
    pub fn with_window_seconds(mut self, seconds: f64) -> Self {
        self.window = Some((seconds * f64::from(self.sample_rate)).round() as usize);
        self
    }
}

/// A loaded clip.
#[derive(Debug, Clone, PartialEq)]
pub struct Clip {
    /// Mono samples at `sample_rate` (window length when a window was asked for).
    pub samples: Vec<f32>,
    /// Leading samples that carry audio (the rest is zero padding).
    pub valid: usize,
    /// Sample rate of `samples`.
    pub sample_rate: u32,
    /// Sample rate of the file.
    pub source_rate: u32,
    /// Channels in the file.
    pub source_channels: usize,
}

/// Decodes `path`, downmixes to mono, resamples, denoises and windows it as `options` say.
pub fn load(path: &Path, options: &LoadOptions) -> Result<Clip> {
    let decoded = decode_file(path)?;
    prepare(decoded, path, options)
}

/// [`load`] for audio that is already decoded; `path` is only used in errors.
pub fn prepare(decoded: Decoded, path: &Path, options: &LoadOptions) -> Result<Clip> {
    let mono = decoded.to_mono();
    let mut samples =
        resample(&mono, decoded.sample_rate, options.sample_rate).map_err(|message| {
            AudioError::Resample {
                path: path.to_owned(),
                from: decoded.sample_rate,
                to: options.sample_rate,
                message,
            }
        })?;
    if let Some(threshold) = options.reject_silence_below {
        let peak = samples.iter().fold(0.0f32, |m, s| m.max(s.abs()));
        if peak <= threshold {
            return Err(AudioError::Silent {
                path: path.to_owned(),
                peak,
            });
        }
    }
    if let Some(params) = &options.denoise {
        samples = denoise(&samples, options.sample_rate, params);
    }
    let (samples, valid) = match options.window {
        None => {
            let n = samples.len();
            (samples, n)
        }
        Some(len) => {
            if samples.len() < len && options.short == ShortPolicy::Error {
                return Err(AudioError::TooShort {
                    path: path.to_owned(),
                    samples: samples.len(),
                    window: len,
                });
            }
            take_window(&samples, len, options.anchor)
        }
    };
    Ok(Clip {
        samples,
        valid,
        sample_rate: options.sample_rate,
        source_rate: decoded.sample_rate,
        source_channels: decoded.channels.len(),
    })
}
