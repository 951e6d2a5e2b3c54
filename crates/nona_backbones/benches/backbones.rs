//! CPU throughput of what the embed stage runs, one table per modality:
//! - image backbones at batch 1, 8 and 32 (224×224), images/s;
//! - text backbones (MiniLM-L6, BERT-base) at batch 32 on sentences of ~64 and ~128 tokens
//!   (lengths spread ±25 %, batched by similar length and padded as the stage does), sentences/s;
//! - audio preparation (decode a 10 s 44.1 kHz stereo 16-bit WAV, downmix, resample to 16 kHz,
//!   denoise), seconds of audio per second;
//! - the Whisper tiny encoder on 30 s windows (log-mel included) at batch 1 and 8, clips/s.
//!
//! `cargo bench -p nona_backbones --bench backbones [-- NAME...]` (NAME: a backbone, or `audio`);
//! compare with `tests/fixtures/backbones/bench_torch.py` (images),
//! `tests/fixtures/backbones/bench_torch_text_audio.py` (text, Whisper) and
//! `tests/fixtures/audio/bench_audio_reference.py` (audio preparation) on the same machine.
//! Synthetic weights: speed does not depend on their values.
#![allow(clippy::print_stdout, reason = "a bench reports its measurements")]

use std::time::{Duration, Instant};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use nona_backbones::weights::SyntheticWeights;
use nona_backbones::{Backbone, BackboneInput, InputKind, backbone_names_for, build_backbone};

const IMAGE_BATCHES: [usize; 3] = [1, 8, 32];
const MIN_TIME: Duration = Duration::from_secs(3);

/// Runs `work` (which handles `items` items) at least twice and for at least [`MIN_TIME`] after a
/// warm-up; returns items per second.
fn per_second(items: usize, mut work: impl FnMut()) -> f64 {
    work();
    let (mut runs, start) = (0, Instant::now());
    while runs < 2 || start.elapsed() < MIN_TIME {
        work();
        runs += 1;
    }
    (runs * items) as f64 / start.elapsed().as_secs_f64()
}

fn synthetic(name: &str) -> nona_backbones::Result<Box<dyn Backbone>> {
    build_backbone(
        name,
        VarBuilder::from_backend(Box::new(SyntheticWeights), DType::F32, Device::Cpu),
    )
}

fn main() -> nona_backbones::Result<()> {
    let wanted: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let selected = |name: &str| wanted.is_empty() || wanted.iter().any(|w| w == name);
    let threads = candle_core::utils::get_num_threads();
    images(&selected, threads)?;
    text(&selected, threads)?;
    if selected("audio") {
        audio_preparation();
    }
    if selected("whisper_tiny_en") {
        whisper(threads)?;
    }
    Ok(())
}

fn images(selected: &dyn Fn(&str) -> bool, threads: usize) -> nona_backbones::Result<()> {
    let names: Vec<&str> = backbone_names_for(InputKind::Image)
        .filter(|n| selected(n))
        .collect();
    if names.is_empty() {
        return Ok(());
    }
    println!(
        "{:<20} {:>10} {:>10} {:>10}   (images/s, candle CPU, {threads} threads)",
        "backbone", "b1", "b8", "b32",
    );
    let device = Device::Cpu;
    for name in names {
        let backbone = synthetic(name)?;
        let mut row = format!("{name:<20}");
        for batch in IMAGE_BATCHES {
            let images =
                BackboneInput::Images(Tensor::randn(0f32, 1f32, (batch, 3, 224, 224), &device)?);
            let rate = per_second(batch, || {
                backbone.embed(&images).expect("image batch embeds");
            });
            row.push_str(&format!(" {rate:>10.1}"));
        }
        println!("{row}");
    }
    println!();
    Ok(())
}

/// Token counts of the `count` sentences of a ~`target`-token corpus: spread over
/// `[0.75, 1.25] × target`, deterministic (the reference script uses the same formula).
fn sentence_lengths(target: usize, count: usize) -> Vec<usize> {
    let spread = target / 2 + 1;
    (0..count)
        .map(|i| target * 3 / 4 + (i * 7919) % spread)
        .collect()
}

/// The padded `(B, L)` batches the embed stage forms for such a corpus (similar lengths
/// together), with pseudo-random ids.
fn text_batches(target: usize, batch: usize) -> nona_backbones::Result<Vec<BackboneInput>> {
    let lengths = sentence_lengths(target, 2 * batch);
    let encoded: Vec<nona_text::Encoded> = lengths
        .iter()
        .enumerate()
        .map(|(i, &n)| nona_text::Encoded {
            ids: (0..n)
                .map(|t| ((i * 131 + t * 7919) % 29_000 + 1000) as u32)
                .collect(),
            type_ids: vec![0; n],
        })
        .collect();
    let mut inputs = Vec::new();
    for group in nona_text::plan_batches(&lengths, batch, lengths.len()) {
        let rows: Vec<(usize, &nona_text::Encoded)> =
            group.iter().map(|&i| (i, &encoded[i])).collect();
        let padded = nona_text::TokenBatch::collate(&rows, 0);
        let (input_ids, attention_mask, token_type_ids) = padded
            .tensors(&Device::Cpu)
            .map_err(|e| nona_backbones::Error::BadInput(e.to_string()))?;
        inputs.push(BackboneInput::Tokens {
            input_ids,
            attention_mask,
            token_type_ids: Some(token_type_ids),
        });
    }
    Ok(inputs)
}

fn text(selected: &dyn Fn(&str) -> bool, threads: usize) -> nona_backbones::Result<()> {
    let names: Vec<&str> = ["minilm_l6", "bert_base"]
        .into_iter()
        .filter(|n| selected(n))
        .collect();
    if names.is_empty() {
        return Ok(());
    }
    const BATCH: usize = 32;
    println!(
        "{:<20} {:>10} {:>10}   (sentences/s at batch {BATCH}, ~64 / ~128 tokens ±25 %, candle CPU, {threads} threads)",
        "backbone", "~64", "~128",
    );
    for name in names {
        let backbone = synthetic(name)?;
        let mut row = format!("{name:<20}");
        for target in [64, 128] {
            let batches = text_batches(target, BATCH)?;
            let rate = per_second(2 * BATCH, || {
                for input in &batches {
                    backbone.embed(input).expect("token batch embeds");
                }
            });
            row.push_str(&format!(" {rate:>10.1}"));
        }
        println!("{row}");
    }
    println!();
    Ok(())
}

/// A 16-bit PCM WAV file's bytes: `seconds` of a two-tone signal plus noise, stereo at `rate`.
fn wav_bytes(seconds: usize, rate: u32) -> Vec<u8> {
    let frames = seconds * rate as usize;
    let noise = nona_backbones::weights::synthetic_values("noise", &[frames]);
    let data_len = (frames * 4) as u32;
    let mut bytes = Vec::with_capacity(44 + data_len as usize);
    bytes.extend_from_slice(b"RIFF");
    bytes.extend_from_slice(&(36 + data_len).to_le_bytes());
    bytes.extend_from_slice(b"WAVEfmt ");
    bytes.extend_from_slice(&16u32.to_le_bytes()); // fmt chunk size
    bytes.extend_from_slice(&1u16.to_le_bytes()); // PCM
    bytes.extend_from_slice(&2u16.to_le_bytes()); // channels
    bytes.extend_from_slice(&rate.to_le_bytes());
    bytes.extend_from_slice(&(rate * 4).to_le_bytes()); // bytes per second
    bytes.extend_from_slice(&4u16.to_le_bytes()); // bytes per frame
    bytes.extend_from_slice(&16u16.to_le_bytes()); // bits per sample
    bytes.extend_from_slice(b"data");
    bytes.extend_from_slice(&data_len.to_le_bytes());
    for (i, n) in noise.iter().enumerate() {
        let t = i as f32 / rate as f32;
        let tone = 0.3 * (2.0 * std::f32::consts::PI * 440.0 * t).sin()
            + 0.2 * (2.0 * std::f32::consts::PI * 1250.0 * t).sin();
        for channel in [tone + 0.05 * n, tone - 0.05 * n] {
            let v = (channel.clamp(-1.0, 1.0) * 32767.0) as i16;
            bytes.extend_from_slice(&v.to_le_bytes());
        }
    }
    bytes
}

/// One measured step of a table.
type Work<'a> = Box<dyn FnMut() + 'a>;

fn audio_preparation() {
    const SECONDS: usize = 10;
    let bytes = wav_bytes(SECONDS, 44_100);
    let name = std::path::Path::new("bench.wav");
    let decode = || nona_audio::decode_bytes(bytes.clone(), name).expect("WAV decodes");
    let decoded = decode();
    let mono = decoded.to_mono();
    let resampled = nona_audio::resample(&mono, 44_100, 16_000).expect("resamples");
    let params = nona_audio::DenoiseParams::default();
    println!(
        "{:<44} {:>12}   (seconds of audio per second, one thread; 10 s 44.1 kHz stereo 16-bit WAV)",
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

fn whisper(threads: usize) -> nona_backbones::Result<()> {
    use nona_backbones::audio::mel::{LogMel, N_SAMPLES};
    let backbone = synthetic("whisper_tiny_en")?;
    println!(
        "{:<28} {:>10} {:>10}   (30 s clips/s, candle CPU, {threads} threads)",
        "whisper_tiny_en", "b1", "b8"
    );
    let clip: Vec<f32> = nona_backbones::weights::synthetic_values("clip", &[N_SAMPLES])
        .iter()
        .map(|v| 0.3 * v)
        .collect();
    let mel = LogMel::new(80);
    let rate = per_second(1, || drop(std::hint::black_box(mel.compute(&clip))));
    println!(
        "{:<28} {rate:>10.1} {:>10}",
        "log-mel only (one thread)", "-"
    );
    let mut row = format!("{:<28}", "log-mel + encoder");
    for batch in [1, 8] {
        let samples = Tensor::from_vec(clip.repeat(batch), (batch, N_SAMPLES), &Device::Cpu)?;
        let input = BackboneInput::Audio {
            samples,
            lengths: vec![N_SAMPLES; batch],
        };
        let rate = per_second(batch, || {
            backbone.embed(&input).expect("clips embed");
        });
        row.push_str(&format!(" {rate:>10.1}"));
    }
    println!("{row}");
    Ok(())
}
