//! Stationary spectral gating, computed the way the `noisereduce` Python package (3.0) computes
//! `reduce_noise(y, sr, stationary=True)`.
//!
//! 1. Noise profile from the clip itself (its first `chunk_size` samples): STFT (periodic Hann,
//!    `n_fft`, hop `hop_length`, half-window zero boundaries, `1 / Σw` scaling as scipy's
//!    `stft`), magnitude in dB (`20 log10(|X| + ε)`, floored per frequency at its max − 80 dB),
//!    then per frequency `threshold = mean + n_std_thresh · std` over time.
//! 2. Each chunk of `chunk_size` samples, zero-padded by `padding` samples of context on both
//!    sides, is transformed the same way; the mask is `1` where the dB value exceeds the
//!    threshold, `mask · prop_decrease + (1 − prop_decrease)`, smoothed by a triangular kernel
//!    (`freq_mask_smooth_hz`, `time_mask_smooth_ms` wide, normalised to sum 1, zero boundaries),
//!    applied to the complex STFT and inverted by weighted overlap-add (scipy's `istft`).

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};

/// Parameters of [`denoise`]; [`Default`] is noisereduce's defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct DenoiseParams {
    /// Threshold above the noise mean, in noise standard deviations (dB domain). Default 1.5.
    pub n_std_thresh: f64,
    /// How much of the gated energy is removed (1.0 = all). Default 1.0.
    pub prop_decrease: f64,
    /// FFT size. Default 1024.
    pub n_fft: usize,
    /// Window length (`<= n_fft`); `None` = `n_fft`.
    pub win_length: Option<usize>,
    /// Hop; `None` = `win_length / 4`.
    pub hop_length: Option<usize>,
    /// Mask smoothing across frequency in Hz; `None` disables it. Default 500.
    pub freq_mask_smooth_hz: Option<f64>,
    /// Mask smoothing across time in ms; `None` disables it. Default 50.
    pub time_mask_smooth_ms: Option<f64>,
    /// Samples processed at once (and used for the noise profile). Default 600 000.
    pub chunk_size: usize,
    /// Zero-filled context on both sides of each chunk. Default 30 000.
    pub padding: usize,
}

impl Default for DenoiseParams {
    fn default() -> Self {
        Self {
            n_std_thresh: 1.5,
            prop_decrease: 1.0,
            n_fft: 1024,
            win_length: None,
            hop_length: None,
            freq_mask_smooth_hz: Some(500.0),
            time_mask_smooth_ms: Some(50.0),
            chunk_size: 600_000,
            padding: 30_000,
        }
    }
}

/// Denoises mono `samples` at `sample_rate` by stationary spectral gating (see the module docs).
/// Returns a clip of the same length. Clips of fewer than two windows are returned unchanged.
pub fn denoise(samples: &[f32], sample_rate: u32, params: &DenoiseParams) -> Vec<f32> {
    let win = params.win_length.unwrap_or(params.n_fft).min(params.n_fft);
    let hop = params.hop_length.unwrap_or(win / 4).max(1);
    if samples.len() < win || win < 2 {
        return samples.to_vec();
    }
    let stft = Stft::new(params.n_fft, win, hop);
    let y: Vec<f64> = samples.iter().map(|&s| f64::from(s)).collect();

    // Noise statistics.
    let noise = &y[..y.len().min(params.chunk_size)];
    let (noise_spec, bins, frames) = stft.forward(noise);
    let noise_db = amp_to_db(&noise_spec, bins, frames);
    let threshold: Vec<f64> = (0..bins)
        .map(|k| {
            let row = &noise_db[k * frames..(k + 1) * frames];
            let mean = row.iter().sum::<f64>() / frames as f64;
            let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / frames as f64;
            mean + var.sqrt() * params.n_std_thresh
        })
        .collect();

    let sr = f64::from(sample_rate);
    let n_grad_freq = params.freq_mask_smooth_hz.map_or(1, |hz| {
        ((hz / (sr / (params.n_fft as f64 / 2.0))) as usize).max(1)
    });
    let n_grad_time = params
        .time_mask_smooth_ms
        .map_or(1, |ms| ((ms / (hop as f64 / sr * 1000.0)) as usize).max(1));
    let smoothing = (n_grad_freq > 1 || n_grad_time > 1)
        .then(|| (triangle(n_grad_freq), triangle(n_grad_time)));

    let gate = |start: isize, end: isize| -> Vec<f64> {
        let lo = start - params.padding as isize;
        let hi = end + params.padding as isize;
        let chunk: Vec<f64> = (lo..hi)
            .map(|i| {
                if i >= 0 && (i as usize) < y.len() {
                    y[i as usize]
                } else {
                    0.0
                }
            })
            .collect();
        let (mut spec, bins, frames) = stft.forward(&chunk);
        let db = amp_to_db(&spec, bins, frames);
        let mut mask: Vec<f64> = db
            .iter()
            .enumerate()
            .map(|(i, &v)| {
                let above = if v > threshold[i / frames] { 1.0 } else { 0.0 };
                above * params.prop_decrease + (1.0 - params.prop_decrease)
            })
            .collect();
        if let Some((kf, kt)) = &smoothing {
            mask = smooth(&mask, bins, frames, kf, kt);
        }
        for (s, m) in spec.iter_mut().zip(&mask) {
            *s *= *m;
        }
        let out = stft.inverse(&spec, frames, chunk.len());
        let from = (start - lo) as usize;
        out[from..from + (end - start) as usize].to_vec()
    };

    let n = y.len();
    let out: Vec<f64> = if n <= params.chunk_size {
        gate(0, n as isize)
    } else {
        let mut out = Vec::with_capacity(n);
        let mut start = 0;
        while start < n {
            let chunk = gate(start as isize, (start + params.chunk_size) as isize);
            let take = (n - start).min(params.chunk_size);
            out.extend_from_slice(&chunk[..take]);
            start += params.chunk_size;
        }
        out
    };
    out.into_iter().map(|v| v as f32).collect()
}

/// `[1/(n+1), …, n/(n+1), 1, n/(n+1), …, 1/(n+1)]` (length `2n + 1`).
fn triangle(n: usize) -> Vec<f64> {
    let up = (1..=n).map(|k| k as f64 / (n + 1) as f64);
    let down = (0..=n).map(|k| 1.0 - k as f64 / (n + 1) as f64);
    up.chain(down).collect()
}

/// Convolution of the `(bins, frames)` mask with `outer(kf, kt) / sum`, centred, zero outside.
fn smooth(mask: &[f64], bins: usize, frames: usize, kf: &[f64], kt: &[f64]) -> Vec<f64> {
    let total = kf.iter().sum::<f64>() * kt.iter().sum::<f64>();
    let (hf, ht) = (kf.len() / 2, kt.len() / 2);
    let mut along_time = vec![0.0; mask.len()];
    for k in 0..bins {
        let row = &mask[k * frames..(k + 1) * frames];
        for t in 0..frames {
            let mut acc = 0.0;
            for (j, w) in kt.iter().enumerate() {
                let src = t as isize + j as isize - ht as isize;
                if src >= 0 && (src as usize) < frames {
                    acc += w * row[src as usize];
                }
            }
            along_time[k * frames + t] = acc;
        }
    }
    let mut out = vec![0.0; mask.len()];
    for k in 0..bins {
        for (j, w) in kf.iter().enumerate() {
            let src = k as isize + j as isize - hf as isize;
            if src < 0 || src as usize >= bins {
                continue;
            }
            let from = &along_time[src as usize * frames..(src as usize + 1) * frames];
            for (o, v) in out[k * frames..(k + 1) * frames].iter_mut().zip(from) {
                *o += w * v;
            }
        }
    }
    out.iter_mut().for_each(|v| *v /= total);
    out
}

/// `20 log10(|x| + ε)` floored per frequency row at the row's max − 80 dB.
fn amp_to_db(spec: &[Complex<f64>], bins: usize, frames: usize) -> Vec<f64> {
    let mut db: Vec<f64> = spec
        .iter()
        .map(|c| 20.0 * (c.norm() + f64::EPSILON).log10())
        .collect();
    for k in 0..bins {
        let row = &mut db[k * frames..(k + 1) * frames];
        let floor = row.iter().copied().fold(f64::NEG_INFINITY, f64::max) - 80.0;
        row.iter_mut().for_each(|v| *v = v.max(floor));
    }
    db
}

/// scipy.signal's `stft`/`istft` with a periodic Hann window, zero boundaries, no end padding,
/// `'spectrum'` scaling.
struct Stft {
    n_fft: usize,
    win: usize,
    hop: usize,
    window: Vec<f64>,
    forward: Arc<dyn RealToComplex<f64>>,
    inverse: Arc<dyn ComplexToReal<f64>>,
}

impl Stft {
    fn new(n_fft: usize, win: usize, hop: usize) -> Self {
        let window = (0..win)
            .map(|i| 0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / win as f64).cos())
            .collect();
        let mut planner = RealFftPlanner::<f64>::new();
        Self {
            n_fft,
            win,
            hop,
            window,
            forward: planner.plan_fft_forward(n_fft),
            inverse: planner.plan_fft_inverse(n_fft),
        }
    }

    /// Spectrum `(bins, frames)` row-major, with `bins = n_fft / 2 + 1`.
    fn forward(&self, x: &[f64]) -> (Vec<Complex<f64>>, usize, usize) {
        let half = self.win / 2;
        let mut padded = vec![0.0; x.len() + 2 * half];
        padded[half..half + x.len()].copy_from_slice(x);
        let frames = (padded.len() - self.win) / self.hop + 1;
        let bins = self.n_fft / 2 + 1;
        let scale = 1.0 / self.window.iter().sum::<f64>();
        let mut spec = vec![Complex::new(0.0, 0.0); bins * frames];
        let mut buffer = vec![0.0; self.n_fft];
        let mut out = vec![Complex::new(0.0, 0.0); bins];
        for t in 0..frames {
            buffer.iter_mut().for_each(|v| *v = 0.0);
            let segment = &padded[t * self.hop..t * self.hop + self.win];
            for ((b, s), w) in buffer.iter_mut().zip(segment).zip(&self.window) {
                *b = s * w;
            }
            self.forward
                .process(&mut buffer, &mut out)
                .expect("buffer sizes match the plan");
            for (k, c) in out.iter().enumerate() {
                spec[k * frames + t] = c * scale;
            }
        }
        (spec, bins, frames)
    }

    /// Weighted overlap-add inverse of [`Stft::forward`], `len` samples (zeros past the last frame).
    fn inverse(&self, spec: &[Complex<f64>], frames: usize, len: usize) -> Vec<f64> {
        let bins = self.n_fft / 2 + 1;
        let half = self.win / 2;
        let total = (frames - 1) * self.hop + self.win;
        let mut acc = vec![0.0; total];
        let mut norm = vec![0.0; total];
        let win_sum: f64 = self.window.iter().sum();
        let mut input = vec![Complex::new(0.0, 0.0); bins];
        let mut output = vec![0.0; self.n_fft];
        for t in 0..frames {
            for (k, c) in input.iter_mut().enumerate() {
                *c = spec[k * frames + t] * win_sum;
            }
            // A real signal's DC and Nyquist bins are real; irfft ignores their imaginary parts.
            input[0].im = 0.0;
            if self.n_fft.is_multiple_of(2) {
                input[bins - 1].im = 0.0;
            }
            self.inverse
                .process(&mut input, &mut output)
                .expect("buffer sizes match the plan");
            let start = t * self.hop;
            for i in 0..self.win {
                let w = self.window[i];
                acc[start + i] += output[i] / self.n_fft as f64 * w;
                norm[start + i] += w * w;
            }
        }
        let mut out = vec![0.0; len];
        for (i, o) in out.iter_mut().enumerate() {
            let j = i + half;
            if j < total && norm[j] > 1e-10 {
                *o = acc[j] / norm[j];
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::triangle;

    #[test]
    fn triangle_matches_noisereduce_kernel_shape() {
        let t = triangle(3);
        assert_eq!(t, vec![0.25, 0.5, 0.75, 1.0, 0.75, 0.5, 0.25]);
        assert_eq!(triangle(16).len(), 33);
    }
}
