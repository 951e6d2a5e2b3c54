//! Whisper's log-mel spectrogram, computed as Whisper computes it (`whisper.audio.log_mel_spectrogram`
//! on `pad_or_trim(audio)`, equivalently transformers' `WhisperFeatureExtractor`):
//!
//! 1. pad with zeros (or trim) to 30 s at 16 kHz (480 000 samples);
//! 2. STFT: periodic Hann window of 400, hop 160, centred frames with reflect padding of 200;
//!    power `|X|²`, the last of the 3001 frames dropped → 3000 frames;
//! 3. mel filters: Slaney mel scale and Slaney area normalisation (librosa's defaults,
//!    `librosa.filters.mel(sr=16000, n_fft=400, n_mels=80)`), computed here in `f64`;
//! 4. `log10(max(mel, 1e-10))`, floored at the clip's maximum − 8, then `(x + 4) / 4`.

use realfft::RealFftPlanner;
use realfft::num_complex::Complex;

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

/// Computes Whisper log-mel spectrograms for 16 kHz mono clips; the filters are built once.
#[derive(Debug, Clone)]
pub struct LogMel {
    n_mels: usize,
    filters: Vec<f32>,
    window: Vec<f64>,
}

impl LogMel {
    /// The front end with `n_mels` bins (80 for Whisper up to large-v2, 128 for large-v3).
    pub fn new(n_mels: usize) -> Self {
        let window = (0..N_FFT)
            .map(|i| 0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / N_FFT as f64).cos())
            .collect();
        Self {
            n_mels,
            filters: mel_filters(SAMPLE_RATE, N_FFT, n_mels),
            window,
        }
    }

    /// Mel bins.
    pub fn n_mels(&self) -> usize {
        self.n_mels
    }

    /// The log-mel spectrogram `(n_mels, 3000)` row-major of `samples` (16 kHz mono), padded with
    /// zeros or trimmed to 30 s first.
    pub fn compute(&self, samples: &[f32]) -> Vec<f32> {
        let mut audio = vec![0.0f64; N_SAMPLES];
        for (a, &s) in audio.iter_mut().zip(samples) {
            *a = f64::from(s);
        }
        // Centred frames: reflect-pad N_FFT / 2 on both sides (numpy's "reflect", edge excluded).
        let half = N_FFT / 2;
        let mut padded = Vec::with_capacity(N_SAMPLES + N_FFT);
        padded.extend((1..=half).rev().map(|i| audio[i]));
        padded.extend_from_slice(&audio);
        padded.extend((1..=half).map(|i| audio[N_SAMPLES - 1 - i]));

        let bins = N_FFT / 2 + 1;
        let fft = RealFftPlanner::<f64>::new().plan_fft_forward(N_FFT);
        let mut frame = vec![0.0; N_FFT];
        let mut spectrum = vec![Complex::new(0.0, 0.0); bins];
        // power (bins, frames): filled frame by frame, stored frame-major for the mel product.
        let mut power = vec![0.0f64; N_FRAMES * bins];
        for t in 0..N_FRAMES {
            let start = t * HOP_LENGTH;
            for ((f, &x), &w) in frame
                .iter_mut()
                .zip(&padded[start..start + N_FFT])
                .zip(&self.window)
            {
                *f = x * w;
            }
            fft.process(&mut frame, &mut spectrum)
                .expect("buffer sizes match the plan");
            for (p, c) in power[t * bins..(t + 1) * bins].iter_mut().zip(&spectrum) {
                *p = c.norm_sqr();
            }
        }
        let mut log_mel = vec![0.0f32; self.n_mels * N_FRAMES];
        let mut max = f64::NEG_INFINITY;
        for m in 0..self.n_mels {
            let filter = &self.filters[m * bins..(m + 1) * bins];
            for t in 0..N_FRAMES {
                let frame_power = &power[t * bins..(t + 1) * bins];
                let energy: f64 = filter
                    .iter()
                    .zip(frame_power)
                    .map(|(&f, &p)| f64::from(f) * p)
                    .sum();
                let value = energy.max(1e-10).log10();
                max = max.max(value);
                log_mel[m * N_FRAMES + t] = value as f32;
            }
        }
        let floor = (max - 8.0) as f32;
        for v in &mut log_mel {
            *v = (v.max(floor) + 4.0) / 4.0;
        }
        log_mel
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
