//! Spectral gating against `noisereduce.reduce_noise(y, sr, stationary=True)` on the same clip,
//! and the SNR gain on tone plus white noise.
//! Fixtures: tests/fixtures/audio/make_audio_fixtures.py.

use std::f64::consts::PI;
use std::path::Path;

use nona_audio::{DenoiseParams, decode_file, denoise};

fn fixture(name: &str) -> Vec<f32> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/audio")
        .join(name);
    let decoded = decode_file(&path).unwrap();
    assert_eq!(decoded.sample_rate, 16000);
    decoded.to_mono()
}

/// The fixture's clean signal: 0.5·sin(2π·1000t) from 0.85 s to 1.15 s of 2 s.
fn clean() -> Vec<f64> {
    (0..32000)
        .map(|i| {
            if (13600..18400).contains(&i) {
                0.5 * (2.0 * PI * 1000.0 * f64::from(i) / 16000.0).sin()
            } else {
                0.0
            }
        })
        .collect()
}

fn snr_db(x: &[f32], clean: &[f64]) -> f64 {
    let signal: f64 = clean.iter().map(|v| v * v).sum();
    let noise: f64 = x
        .iter()
        .zip(clean)
        .map(|(&a, b)| (f64::from(a) - b).powi(2))
        .sum();
    10.0 * (signal / noise).log10()
}

#[test]
#[allow(clippy::print_stdout, reason = "the measured agreement is reported")]
fn matches_noisereduce_stationary() {
    let noisy = fixture("noisy_tone.wav");
    let reference = fixture("noisy_tone_noisereduce.wav");
    let ours = denoise(&noisy, 16000, &DenoiseParams::default());
    assert_eq!(ours.len(), reference.len());
    let max_error = ours
        .iter()
        .zip(&reference)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    let (mut ab, mut aa, mut bb) = (0.0f64, 0.0f64, 0.0f64);
    for (&a, &b) in ours.iter().zip(&reference) {
        ab += f64::from(a) * f64::from(b);
        aa += f64::from(a).powi(2);
        bb += f64::from(b).powi(2);
    }
    let correlation = ab / (aa * bb).sqrt();
    println!("vs noisereduce: correlation {correlation:.9}, max abs error {max_error:.3e}");
    assert!(correlation > 0.99999, "correlation {correlation}");
    assert!(max_error < 1e-4, "max error {max_error}");
}

/// Energy in dB of `x` outside the tone (where the clean signal is zero).
fn noise_only_db(x: &[f32], clean: &[f64]) -> f64 {
    let energy: f64 = x
        .iter()
        .zip(clean)
        .filter(|(_, c)| **c == 0.0)
        .map(|(&v, _)| f64::from(v).powi(2))
        .sum();
    10.0 * energy.log10()
}

#[test]
#[allow(clippy::print_stdout, reason = "the measured gain is reported")]
fn gating_raises_the_snr_of_a_noisy_tone() {
    let noisy = fixture("noisy_tone.wav");
    let clean = clean();
    let before = snr_db(&noisy, &clean);
    // Binary gate (no mask smoothing): the tone's bins pass, the rest is removed.
    let binary = DenoiseParams {
        freq_mask_smooth_hz: None,
        time_mask_smooth_ms: None,
        ..DenoiseParams::default()
    };
    let gated = denoise(&noisy, 16000, &binary);
    let after = snr_db(&gated, &clean);
    let half = DenoiseParams {
        prop_decrease: 0.5,
        ..binary
    };
    let partial = snr_db(&denoise(&noisy, 16000, &half), &clean);
    // noisereduce's defaults smooth the mask over ±250 Hz, which dilutes a pure tone's few bins
    // (the SNR of a tone drops), but still remove the noise where there is no signal.
    let defaults = denoise(&noisy, 16000, &DenoiseParams::default());
    let default_snr = snr_db(&defaults, &clean);
    let noise_drop = noise_only_db(&noisy, &clean) - noise_only_db(&defaults, &clean);
    println!(
        "SNR {before:.1} dB -> {after:.1} dB binary gate (prop_decrease 0.5: {partial:.1} dB); \
         noisereduce defaults: {default_snr:.1} dB, noise-only parts -{noise_drop:.1} dB"
    );
    assert!(after > before + 10.0, "gain {:.1} dB", after - before);
    assert!(partial > before && partial < after);
    assert!(
        noise_drop > 20.0,
        "noise-only attenuation {noise_drop:.1} dB"
    );
}

#[test]
fn leaves_tiny_clips_alone_and_keeps_length() {
    let x = vec![0.25f32; 100];
    assert_eq!(denoise(&x, 16000, &DenoiseParams::default()), x);
    let y: Vec<f32> = (0..5000)
        .map(|i| ((i * 7919) % 13) as f32 / 13.0 - 0.5)
        .collect();
    assert_eq!(denoise(&y, 16000, &DenoiseParams::default()).len(), 5000);
}
