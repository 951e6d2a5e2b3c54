//! The audio preparation table (nona only: its reference, `tests/fixtures/audio/bench_audio_reference.py`,
//! needs a different environment).

use crate::inputs::wav_bytes;
use crate::nona::per_second;

/// One measured step of the table.
type Work<'a> = Box<dyn FnMut() + 'a>;

/// Decode, downmix, resample and denoise a 10 s 44.1 kHz stereo WAV; seconds of audio per second.
pub fn table() {
    const SECONDS: usize = 10;
    let bytes = wav_bytes(SECONDS, 44_100);
    let name = std::path::Path::new("bench.wav");
    let decode = || nona_audio::decode_bytes(bytes.clone(), name).expect("WAV decodes");
    let decoded = decode();
    let mono = decoded.to_mono();
    let resampled = nona_audio::resample(&mono, 44_100, 16_000).expect("resamples");
    let params = nona_audio::DenoiseParams::default();
    println!(
        "{:<44} {:>12}   (seconds of audio per second, one thread; 10 s 44.1 kHz stereo 16-bit WAV; \
         reference: tests/fixtures/audio/bench_audio_reference.py)",
        "audio preparation", "audio s/s"
    );
    let rows: [(&str, Work); 5] = [
        (
            "decode (symphonia, from memory)",
            Box::new(|| drop(decode())),
        ),
        (
            "downmix",
            Box::new(|| drop(std::hint::black_box(decoded.to_mono()))),
        ),
        (
            "resample 44.1 -> 16 kHz (rubato FFT)",
            Box::new(|| drop(nona_audio::resample(&mono, 44_100, 16_000))),
        ),
        (
            "denoise at 16 kHz (spectral gating)",
            Box::new(|| drop(nona_audio::denoise(&resampled, 16_000, &params))),
        ),
        (
            "decode + downmix + resample + denoise",
            Box::new(|| {
                let decoded = decode();
                let mono = decoded.to_mono();
                let resampled = nona_audio::resample(&mono, 44_100, 16_000).expect("resamples");
                drop(nona_audio::denoise(&resampled, 16_000, &params));
            }),
        ),
    ];
    for (label, mut work) in rows {
        let rate = per_second(SECONDS, &mut work);
        println!("{label:<44} {rate:>12.1}");
    }
    println!();
}
