//! Resampling quality against the analytic signal at the new rate: sine sweeps must come out
//! at least 60 dB above the error, in band (up to 90 % of the lower Nyquist frequency).

use std::f64::consts::PI;

use nona_audio::resample;

/// Linear chirp from `f0` to `f1` Hz over `seconds`, sampled at `rate`.
fn chirp(rate: u32, seconds: f64, f0: f64, f1: f64) -> Vec<f64> {
    let n = (seconds * f64::from(rate)) as usize;
    (0..n)
        .map(|i| {
            let t = i as f64 / f64::from(rate);
            0.5 * (2.0 * PI * (f0 * t + (f1 - f0) * t * t / (2.0 * seconds))).sin()
        })
        .collect()
}

/// SNR in dB of `actual` against `ideal`, skipping `edge` samples at both ends.
fn snr_db(actual: &[f32], ideal: &[f64], edge: usize) -> f64 {
    let n = actual.len().min(ideal.len());
    let (mut signal, mut noise) = (0.0, 0.0);
    for i in edge..n - edge {
        signal += ideal[i] * ideal[i];
        noise += (f64::from(actual[i]) - ideal[i]).powi(2);
    }
    10.0 * (signal / noise).log10()
}

#[test]
#[allow(clippy::print_stdout, reason = "the measured SNR is reported")]
fn sweeps_resample_at_60_db_or_better() {
    for (from, to) in [
        (44100u32, 16000u32),
        (48000, 16000),
        (22050, 16000),
        (8000, 16000),
    ] {
        let seconds = 1.0;
        let band = 0.9 * f64::from(from.min(to)) / 2.0;
        let input: Vec<f32> = chirp(from, seconds, 20.0, band)
            .iter()
            .map(|&v| v as f32)
            .collect();
        let output = resample(&input, from, to).unwrap();
        let expected_len = (input.len() as f64 * f64::from(to) / f64::from(from)).ceil() as usize;
        assert_eq!(output.len(), expected_len, "{from} -> {to}");
        let ideal = chirp(to, seconds, 20.0, band);
        let snr = snr_db(&output, &ideal, 256);
        println!("{from} Hz -> {to} Hz, 20 Hz..{band:.0} Hz sweep: SNR {snr:.1} dB");
        assert!(snr >= 60.0, "{from} -> {to}: SNR {snr:.1} dB");
    }
}

#[test]
#[allow(clippy::print_stdout, reason = "the measured aliasing is reported")]
fn out_of_band_tones_are_rejected() {
    // A 12 kHz tone at 44.1 kHz has no place at 16 kHz: what comes out is aliasing.
    let from = 44100u32;
    let input: Vec<f32> = (0..44100)
        .map(|i| (0.5 * (2.0 * PI * 12000.0 * f64::from(i) / f64::from(from)).sin()) as f32)
        .collect();
    let output = resample(&input, from, 16000).unwrap();
    let rms = (output[256..output.len() - 256]
        .iter()
        .map(|&v| f64::from(v).powi(2))
        .sum::<f64>()
        / (output.len() - 512) as f64)
        .sqrt();
    let db = 20.0 * (rms / (0.5 / 2f64.sqrt())).log10();
    println!("12 kHz tone 44.1 kHz -> 16 kHz: aliasing {db:.1} dB");
    assert!(db < -60.0, "aliasing {db:.1} dB");
}

#[test]
fn identity_and_bad_rates() {
    let x = vec![0.1f32, -0.2, 0.3];
    assert_eq!(resample(&x, 16000, 16000).unwrap(), x);
    assert!(resample(&x, 0, 16000).is_err());
    // A damaged header's rate, which would take gigabytes to convert, is refused up front.
    for rate in [1, 999, 768_001, 0x8000_AC44] {
        let error = resample(&x, rate, 16000).unwrap_err();
        assert!(error.contains(&format!("sample rate {rate} Hz")), "{error}");
    }
}

#[test]
fn tones_come_out_aligned() {
    // rubato's FFT resampler with an odd block size leaves the output half an input sample early;
    // `resample` must not (sample i of the output is the signal at i / to seconds).
    for (from, to) in [
        (44100u32, 16000u32),
        (22050, 16000),
        (48000, 16000),
        (8000, 16000),
    ] {
        let f = 1000.0;
        let x: Vec<f32> = (0..from)
            .map(|i| (0.5 * (2.0 * PI * f * f64::from(i) / f64::from(from)).sin()) as f32)
            .collect();
        let y = resample(&x, from, to).unwrap();
        let (mut s, mut c) = (0.0, 0.0);
        for (i, &v) in y.iter().enumerate().skip(1000).take(8000) {
            let phase = 2.0 * PI * f * i as f64 / f64::from(to);
            s += f64::from(v) * phase.sin();
            c += f64::from(v) * phase.cos();
        }
        let delay = -c.atan2(s) / (2.0 * PI * f) * f64::from(to);
        assert!(delay.abs() < 1e-3, "{from} -> {to}: delay {delay} samples");
    }
}
