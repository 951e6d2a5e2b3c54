//! Whisper's log-mel spectrogram, computed as Whisper computes it (`whisper.audio.log_mel_spectrogram`
//! on `pad_or_trim(audio)`, equivalently transformers' `WhisperFeatureExtractor`):
//!
//! 1. pad with zeros (or trim) to 30 s at 16 kHz (480 000 samples);
//! 2. STFT: periodic Hann window of 400, hop 160, centred frames with reflect padding of 200;
//!    power `|X|²`, the last of the 3001 frames dropped → 3000 frames;
//! 3. mel filters: Slaney mel scale and Slaney area normalisation (librosa's defaults,
//!    `librosa.filters.mel(sr=16000, n_fft=400, n_mels=80)`), computed here in `f64`;
//! 4. `log10(max(mel, 1e-10))`, floored at the clip's maximum − 8, then `(x + 4) / 4`.
//!
//! [`LogMel::compute_frames`] gives it frame-major, the layout the CPU encoder reads.

use std::sync::Arc;

use rayon::prelude::*;
use realfft::{RealFftPlanner, RealToComplex};

/// Sample rate Whisper expects.
pub const SAMPLE_RATE: u32 = 16_000;
/// FFT size.
pub const N_FFT: usize = 400;
/// Hop between frames.
pub const HOP_LENGTH: usize = 160;
/// Samples in Whisper's 30 s window.
pub const N_SAMPLES: usize = 480_000;
/// Mel frames in Whisper's 30 s window.
pub const N_FRAMES: usize = N_SAMPLES / HOP_LENGTH;

/// Slaney-style mel filter bank `(n_mels, n_fft / 2 + 1)` row-major, as librosa builds it with
/// `htk=False, norm="slaney"` from 0 Hz to `sample_rate / 2`.
pub fn mel_filters(sample_rate: u32, n_fft: usize, n_mels: usize) -> Vec<f32> {
    let bins = n_fft / 2 + 1;
    let nyquist = f64::from(sample_rate) / 2.0;
    let fft_freqs: Vec<f64> = (0..bins)
        .map(|k| nyquist * k as f64 / (bins - 1) as f64)
        .collect();
    let (mel_min, mel_max) = (hz_to_mel(0.0), hz_to_mel(nyquist));
    let mel_freqs: Vec<f64> = (0..n_mels + 2)
        .map(|i| mel_to_hz(mel_min + (mel_max - mel_min) * i as f64 / (n_mels + 1) as f64))
        .collect();
    let mut filters = vec![0.0f32; n_mels * bins];
    for m in 0..n_mels {
        let (lower, center, upper) = (mel_freqs[m], mel_freqs[m + 1], mel_freqs[m + 2]);
        let norm = 2.0 / (upper - lower);
        for (k, &f) in fft_freqs.iter().enumerate() {
            let rising = (f - lower) / (center - lower);
            let falling = (upper - f) / (upper - center);
            filters[m * bins + k] = (rising.min(falling).max(0.0) * norm) as f32;
        }
    }
    filters
}

const F_SP: f64 = 200.0 / 3.0;
const MIN_LOG_HZ: f64 = 1000.0;
const MIN_LOG_MEL: f64 = MIN_LOG_HZ / F_SP;

fn log_step() -> f64 {
    6.4f64.ln() / 27.0
}

/// Slaney mel scale: linear below 1 kHz, logarithmic above.
fn hz_to_mel(hz: f64) -> f64 {
    if hz >= MIN_LOG_HZ {
        MIN_LOG_MEL + (hz / MIN_LOG_HZ).ln() / log_step()
    } else {
        hz / F_SP
    }
}

fn mel_to_hz(mel: f64) -> f64 {
    if mel >= MIN_LOG_MEL {
        MIN_LOG_HZ * (log_step() * (mel - MIN_LOG_MEL)).exp()
    } else {
        F_SP * mel
    }
}

/// One mel filter's non-zero stretch: its weights (as `f64`) from FFT bin `first` on.
#[derive(Debug, Clone)]
struct Band {
    first: usize,
    weights: Vec<f64>,
}

/// Frames per rayon task.
const FRAMES_PER_TASK: usize = 64;

/// Computes Whisper log-mel spectrograms for 16 kHz mono clips. The filters, the window and the
/// FFT plan are made once; frames are computed in parallel, each task reusing its buffers, and a
/// filter sums only the FFT bins where it is non-zero (the same sums as the dense product: the
/// bins it skips add zeros).
#[derive(Clone)]
pub struct LogMel {
    n_mels: usize,
    bands: Vec<Band>,
    window: Vec<f64>,
    fft: Arc<dyn RealToComplex<f64>>,
}

impl std::fmt::Debug for LogMel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogMel")
            .field("n_mels", &self.n_mels)
            .finish()
    }
}

impl LogMel {
    /// The front end with `n_mels` bins (80 for Whisper up to large-v2, 128 for large-v3).
    pub fn new(n_mels: usize) -> Self {
        let window = (0..N_FFT)
            .map(|i| 0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / N_FFT as f64).cos())
            .collect();
        let bins = N_FFT / 2 + 1;
        let filters = mel_filters(SAMPLE_RATE, N_FFT, n_mels);
        let bands = filters
            .chunks_exact(bins)
            .map(|filter| {
                let first = filter.iter().position(|&w| w != 0.0).unwrap_or(0);
                let last = filter.iter().rposition(|&w| w != 0.0).unwrap_or(0);
                Band {
                    first,
                    weights: filter[first..=last.max(first)]
                        .iter()
                        .map(|&w| f64::from(w))
                        .collect(),
                }
            })
            .collect();
        Self {
            n_mels,
            bands,
            window,
            fft: RealFftPlanner::<f64>::new().plan_fft_forward(N_FFT),
        }
    }

    /// Mel bins.
    pub fn n_mels(&self) -> usize {
        self.n_mels
    }

    /// The log-mel spectrogram `(n_mels, 3000)` row-major of `samples` (16 kHz mono), padded with
    /// zeros or trimmed to 30 s first.
    pub fn compute(&self, samples: &[f32]) -> Vec<f32> {
        let frames = self.compute_frames(samples);
        let mut log_mel = vec![0.0f32; self.n_mels * N_FRAMES];
        for (t, frame) in frames.chunks_exact(self.n_mels).enumerate() {
            for (m, &v) in frame.iter().enumerate() {
                log_mel[m * N_FRAMES + t] = v;
            }
        }
        log_mel
    }

    /// The same spectrogram frame-major, `(3000, n_mels)` row-major: the layout the encoder's
    /// first convolution reads.
    pub fn compute_frames(&self, samples: &[f32]) -> Vec<f32> {
        // Centred frames: reflect-pad N_FFT / 2 on both sides (numpy's "reflect", edge excluded)
        // of the clip padded with zeros or trimmed to N_SAMPLES.
        let sample = |i: usize| samples.get(i).map_or(0.0, |&s| f64::from(s));
        let half = N_FFT / 2;
        let mut padded = Vec::with_capacity(N_SAMPLES + N_FFT);
        padded.extend((1..=half).rev().map(sample));
        padded.extend((0..N_SAMPLES).map(sample));
        padded.extend((1..=half).map(|i| sample(N_SAMPLES - 1 - i)));

        let mut log_mel = vec![0.0f32; N_FRAMES * self.n_mels];
        let max = log_mel
            .par_chunks_mut(FRAMES_PER_TASK * self.n_mels)
            .enumerate()
            .map(|(task, out)| self.log_frames(&padded, task * FRAMES_PER_TASK, out))
            .reduce(|| f64::NEG_INFINITY, f64::max);
        let floor = (max - 8.0) as f32;
        for v in &mut log_mel {
            *v = (v.max(floor) + 4.0) / 4.0;
        }
        log_mel
    }

    /// `log10(max(mel energy, 1e-10))` of the frames from `first` on into `out` (frame-major);
    /// returns their largest value.
    fn log_frames(&self, padded: &[f64], first: usize, out: &mut [f32]) -> f64 {
        let mut frame = self.fft.make_input_vec();
        let mut spectrum = self.fft.make_output_vec();
        let mut scratch = self.fft.make_scratch_vec();
        let mut power = vec![0.0f64; spectrum.len()];
        let mut max = f64::NEG_INFINITY;
        for (t, out) in (first..).zip(out.chunks_exact_mut(self.n_mels)) {
            let start = t * HOP_LENGTH;
            for ((f, &x), &w) in frame
                .iter_mut()
                .zip(&padded[start..start + N_FFT])
                .zip(&self.window)
            {
                *f = x * w;
            }
            self.fft
                .process_with_scratch(&mut frame, &mut spectrum, &mut scratch)
                .expect("buffer sizes match the plan");
            for (p, c) in power.iter_mut().zip(&spectrum) {
                *p = c.norm_sqr();
            }
            for (v, band) in out.iter_mut().zip(&self.bands) {
                let energy: f64 = band
                    .weights
                    .iter()
                    .zip(&power[band.first..])
                    .map(|(w, p)| w * p)
                    .sum();
                let value = energy.max(1e-10).log10();
                max = max.max(value);
                *v = value as f32;
            }
        }
        max
    }
}

#[cfg(test)]
mod tests {
    use super::{hz_to_mel, mel_filters, mel_to_hz};

    #[test]
    fn slaney_scale_round_trips_and_is_linear_below_1khz() {
        assert!((hz_to_mel(1000.0) - 15.0).abs() < 1e-12);
        assert!((hz_to_mel(200.0) - 3.0).abs() < 1e-12);
        for hz in [0.0, 300.0, 999.0, 1000.0, 4321.0, 8000.0] {
            assert!((mel_to_hz(hz_to_mel(hz)) - hz).abs() < 1e-9);
        }
    }

    #[test]
    fn filters_are_triangles_with_slaney_area_norm() {
        let filters = mel_filters(16_000, 400, 80);
        assert_eq!(filters.len(), 80 * 201);
        assert!(filters.iter().all(|&w| w >= 0.0));
        // Every filter is non-empty, and low filters (linear part, 8000/81·… Hz wide) are narrow.
        for m in 0..80 {
            assert!(
                filters[m * 201..(m + 1) * 201].iter().any(|&w| w > 0.0),
                "filter {m}"
            );
        }
    }
}
