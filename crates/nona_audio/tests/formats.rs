//! Every supported format decodes to the fixture's tone; errors name the file and the cause.
//! Fixtures: tests/fixtures/audio/make_audio_fixtures.py (0.5 s stereo 44.1 kHz, left
//! 0.6·sin(2π·440t), right 0.2·sin(2π·440t), so mono = 0.4·sin(2π·440t)).

use std::f64::consts::PI;
use std::path::{Path, PathBuf};

use nona_audio::{
    AudioError, LoadOptions, ShortPolicy, WindowAnchor, decode_bytes, decode_file, load,
    probe_file, take_window,
};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/audio")
        .join(name)
}

/// Best amplitude and phase fit of `a·sin(2πft + φ)` over `x` at `rate`, and the residual RMS.
fn fit_sine(x: &[f32], rate: f64, freq: f64) -> (f64, f64) {
    let (mut s, mut c) = (0.0, 0.0);
    for (i, &v) in x.iter().enumerate() {
        let phase = 2.0 * PI * freq * i as f64 / rate;
        s += f64::from(v) * phase.sin();
        c += f64::from(v) * phase.cos();
    }
    let n = x.len() as f64;
    let (a_s, a_c) = (2.0 * s / n, 2.0 * c / n);
    let amplitude = a_s.hypot(a_c);
    let residual = x
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let phase = 2.0 * PI * freq * i as f64 / rate;
            let fit = a_s * phase.sin() + a_c * phase.cos();
            (f64::from(v) - fit).powi(2)
        })
        .sum::<f64>();
    (amplitude, (residual / n).sqrt())
}

#[test]
fn every_format_decodes_to_the_tone() {
    // (file, exact frame count or None for codecs with encoder delay, amplitude and residual
    // bounds: lossless codecs are exact to their bit depth, LAME's 96 kb/s MP3 comes out ~5 % low
    // (ffmpeg decodes it the same))
    let cases: [(&str, Option<usize>, f64, f64); 6] = [
        ("tone_stereo.wav", Some(22050), 1e-3, 1e-4),
        ("tone_stereo.flac", Some(22050), 1e-3, 1e-6),
        ("tone_stereo.mp3", None, 0.03, 0.02),
        ("tone_stereo.ogg", Some(22050), 0.03, 0.02),
        ("tone_stereo.m4a", None, 0.03, 0.02),
        ("tone_stereo.aac", None, 0.03, 0.02),
    ];
    for (name, frames, amplitude_bound, bound) in cases {
        let decoded = decode_file(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(decoded.sample_rate, 44100, "{name}");
        assert_eq!(decoded.channels.len(), 2, "{name}");
        if let Some(frames) = frames {
            assert_eq!(decoded.frames(), frames, "{name}");
        } else {
            let n = decoded.frames();
            assert!((22050..22050 + 4096).contains(&n), "{name}: {n} frames");
        }
        let mono = decoded.to_mono();
        // Skip codec start-up and tail: fit the tone over the middle.
        let middle = &mono[4410..17640];
        let (amplitude, residual) = fit_sine(middle, 44100.0, 440.0);
        assert!(
            (amplitude - 0.4).abs() < amplitude_bound,
            "{name}: amplitude {amplitude}"
        );
        assert!(residual < bound, "{name}: residual rms {residual}");
        let (left, _) = fit_sine(&decoded.channels[0][4410..17640], 44100.0, 440.0);
        assert!(
            (left - 0.6).abs() < 1.5 * amplitude_bound,
            "{name}: left amplitude {left}"
        );
    }
}

#[test]
fn load_resamples_downmixes_and_windows() {
    for name in [
        "tone_stereo.wav",
        "tone_stereo.flac",
        "tone_stereo.ogg",
        "tone_stereo.mp3",
    ] {
        let clip = load(&fixture(name), &LoadOptions::coughvid()).unwrap();
        assert_eq!(clip.samples.len(), 16000, "{name}");
        assert_eq!(clip.sample_rate, 16000);
        assert_eq!((clip.source_rate, clip.source_channels), (44100, 2));
        // 0.5 s at 16 kHz carries audio (lossy codecs may add a frame or two of delay/padding).
        assert!(
            (8000..8000 + 1600).contains(&clip.valid),
            "{name}: {}",
            clip.valid
        );
        assert!(clip.samples[clip.valid..].iter().all(|&s| s == 0.0));
        let (amplitude, residual) = fit_sine(&clip.samples[1600..6400], 16000.0, 440.0);
        assert!(
            (amplitude - 0.4).abs() < 0.03,
            "{name}: amplitude {amplitude}"
        );
        assert!(residual < 0.02, "{name}: residual {residual}");
    }
    // Lossless + resampling: the whole clip matches the analytic tone at 16 kHz.
    let clip = load(&fixture("tone_stereo.flac"), &LoadOptions::new(16000)).unwrap();
    assert_eq!(clip.samples.len(), 8000);
    let worst = clip.samples[200..7800]
        .iter()
        .enumerate()
        .map(|(i, &s)| {
            let t = (i + 200) as f64 / 16000.0;
            (f64::from(s) - 0.4 * (2.0 * PI * 440.0 * t).sin()).abs()
        })
        .fold(0.0, f64::max);
    assert!(worst < 1e-3, "max error vs analytic tone {worst}");
}

#[test]
fn windows_trim_pad_and_anchor() {
    let x: Vec<f32> = (0..10).map(|i| i as f32).collect();
    assert_eq!(
        take_window(&x, 4, WindowAnchor::Start),
        (vec![0., 1., 2., 3.], 4)
    );
    assert_eq!(
        take_window(&x, 4, WindowAnchor::Center),
        (vec![3., 4., 5., 6.], 4)
    );
    assert_eq!(
        take_window(&x, 4, WindowAnchor::Offset(8)),
        (vec![6., 7., 8., 9.], 4)
    );
    assert_eq!(
        take_window(&x[..2], 4, WindowAnchor::Center),
        (vec![0., 1., 0., 0.], 2)
    );
}

#[test]
fn short_clips_pad_or_fail_per_policy() {
    let path = fixture("short_8k.wav");
    let padded = load(&path, &LoadOptions::coughvid()).unwrap();
    assert_eq!((padded.samples.len(), padded.valid), (16000, 4000));
    let strict = LoadOptions {
        short: ShortPolicy::Error,
        ..LoadOptions::coughvid()
    };
    match load(&path, &strict) {
        Err(
            e @ AudioError::TooShort {
                samples: 4000,
                window: 16000,
                ..
            },
        ) => {
            assert!(e.to_string().contains("short_8k.wav"), "{e}");
        }
        other => panic!("expected TooShort, got {other:?}"),
    }
}

#[test]
fn silence_is_rejected_only_when_asked() {
    let path = fixture("silence.wav");
    assert!(load(&path, &LoadOptions::coughvid()).is_ok());
    let strict = LoadOptions {
        reject_silence_below: Some(1e-4),
        ..LoadOptions::coughvid()
    };
    match load(&path, &strict) {
        Err(e @ AudioError::Silent { .. }) => assert!(e.to_string().contains("silence.wav")),
        other => panic!("expected Silent, got {other:?}"),
    }
}

#[test]
fn broken_files_give_typed_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.wav");
    std::fs::write(&empty, b"").unwrap();
    match decode_file(&empty) {
        Err(e @ AudioError::Empty { .. }) => assert!(e.to_string().contains("empty.wav")),
        other => panic!("expected Empty, got {other:?}"),
    }
    match decode_file(&fixture("not_audio.wav")) {
        Err(e @ AudioError::Unsupported { .. }) => {
            assert!(e.to_string().contains("not_audio.wav"), "{e}");
        }
        other => panic!("expected Unsupported, got {other:?}"),
    }
    match decode_file(&dir.path().join("missing.flac")) {
        Err(e @ AudioError::Io { .. }) => assert!(e.to_string().contains("missing.flac")),
        other => panic!("expected Io, got {other:?}"),
    }
    // Each format cut in half: the header promises more than the stream holds.
    for name in [
        "tone_stereo.wav",
        "tone_stereo.flac",
        "tone_stereo.ogg",
        "tone_stereo.m4a",
    ] {
        let bytes = std::fs::read(fixture(name)).unwrap();
        let cut = bytes[..bytes.len() / 2].to_vec();
        let label = Path::new("cut").join(name);
        match decode_bytes(cut, &label) {
            Err(e @ AudioError::Truncated { .. }) => assert!(e.to_string().contains(name), "{e}"),
            other => panic!("{name}: expected Truncated, got {other:?}"),
        }
    }
}

#[test]
fn probe_reads_headers_only_and_rejects_what_cannot_be_decoded() {
    for name in [
        "tone_stereo.wav",
        "tone_stereo.flac",
        "tone_stereo.mp3",
        "tone_stereo.ogg",
        "tone_stereo.m4a",
        "tone_stereo.aac",
    ] {
        let probed = probe_file(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(probed.sample_rate, Some(44100), "{name}");
    }
    let wav = probe_file(&fixture("tone_stereo.wav")).unwrap();
    assert_eq!(wav.frames, Some(22050));
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.wav");
    std::fs::write(&empty, b"").unwrap();
    assert!(matches!(probe_file(&empty), Err(AudioError::Empty { .. })));
    match probe_file(&fixture("not_audio.wav")) {
        Err(e @ AudioError::Unsupported { .. }) => {
            assert!(e.to_string().contains("not_audio.wav"), "{e}");
        }
        other => panic!("expected Unsupported, got {other:?}"),
    }
    // A WAV cut in half keeps its header: the probe passes, decoding fails.
    let bytes = std::fs::read(fixture("tone_stereo.wav")).unwrap();
    let cut = dir.path().join("cut.wav");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    assert!(probe_file(&cut).is_ok());
    assert!(matches!(
        decode_file(&cut),
        Err(AudioError::Truncated { .. })
    ));
}
