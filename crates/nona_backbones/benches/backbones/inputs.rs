//! Deterministic inputs shaped like the embed stage's (the reference scripts build the same).

use candle_core::Device;
use nona_backbones::BackboneInput;
use nona_backbones::audio::mel::N_SAMPLES;

/// Token counts of the `count` sentences of a ~`target`-token corpus: spread over
/// `[0.75, 1.25] × target`, deterministic (`bench_torch_text_audio.py` uses the same formula).
fn sentence_lengths(target: usize, count: usize) -> Vec<usize> {
    let spread = target / 2 + 1;
    (0..count)
        .map(|i| target * 3 / 4 + (i * 7919) % spread)
        .collect()
}

/// The two padded `(batch, L)` batches the embed stage forms for `2 × batch` sentences of
/// ~`target` tokens (similar lengths together), with pseudo-random ids.
pub fn text_batches(target: usize, batch: usize) -> nona_backbones::Result<Vec<BackboneInput>> {
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

/// A 30 s 16 kHz clip of pseudo-random noise at 0.3 amplitude.
pub fn clip() -> Vec<f32> {
    nona_backbones::weights::synthetic_values("clip", &[N_SAMPLES])
        .iter()
        .map(|v| 0.3 * v)
        .collect()
}

/// A 16-bit PCM WAV file's bytes: `seconds` of a two-tone signal plus noise, stereo at `rate`.
pub fn wav_bytes(seconds: usize, rate: u32) -> Vec<u8> {
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
