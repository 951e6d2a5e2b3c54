//! Sample-rate conversion with rubato's FFT resampler (synchronous, Blackman-Harris anti-aliasing).

use std::ops::RangeInclusive;

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler, WindowFunction};

/// The sample rates [`resample`] converts between.
const SAMPLE_RATES: RangeInclusive<u32> = 1_000..=768_000;

/// Resamples mono `samples` from `from` Hz to `to` Hz.
///
/// The output has `ceil(len · to / from)` samples and no startup delay (rubato trims it), so
/// sample `i` of the output is the input signal at time `i / to` seconds. Computed in `f64`.
/// Rates are refused outside 1 kHz - 768 kHz: such a rate comes from a damaged header, and
/// converting it could take gigabytes (1 Hz -> 16 kHz multiplies the length by 16000; a rate near
/// 2^31 Hz asks for an FFT of as many points), so one bad file would end the run.
pub fn resample(samples: &[f32], from: u32, to: u32) -> Result<Vec<f32>, String> {
    if let Some(rate) = [from, to].into_iter().find(|r| !SAMPLE_RATES.contains(r)) {
        return Err(format!(
            "sample rate {rate} Hz is outside {}-{} Hz (a damaged header?)",
            SAMPLE_RATES.start(),
            SAMPLE_RATES.end()
        ));
    }
    if from == to || samples.is_empty() {
        return Ok(samples.to_vec());
    }
    let input: Vec<f64> = samples.iter().map(|&s| f64::from(s)).collect();
    // rubato's FFT resampler works on blocks of `k · from / gcd` input frames and trims a delay of
    // half a block; with an odd block that leaves the output half an input sample early (measured:
    // 0.18 output samples at 44.1 kHz -> 16 kHz). An even `k` keeps both block sizes even and the
    // output aligned. Blocks of at least 1024 frames on both sides keep the anti-aliasing
    // filter's transition band narrow (256-frame blocks lose ~15 dB at 0.9 × Nyquist).
    let (from, to) = (from as usize, to as usize);
    let g = gcd(from, to);
    let (min_in, min_out) = (from / g, to / g);
    let blocks = 2 * 1024usize.div_ceil(2 * min_in.min(min_out)).max(1);
    let mut resampler = Fft::<f64>::new_custom(
        from,
        to,
        blocks * min_in,
        1,
        1,
        WindowFunction::BlackmanHarris2,
        FixedSync::Input,
    )
    .map_err(|e| e.to_string())?;
    let adapter = InterleavedSlice::new(&input, 1, input.len()).map_err(|e| e.to_string())?;
    let output = resampler
        .process_all(&adapter, input.len(), None)
        .map_err(|e| e.to_string())?;
    Ok(output.take_data().into_iter().map(|s| s as f32).collect())
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 { a } else { gcd(b, a % b) }
}
