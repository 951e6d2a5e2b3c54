//! Property-based: random bytes and mutated valid files (byte flips, cuts, insertions,
//! deletions) in every container nona reads never panic, in the probe or in the decoder, and
//! give an error that names the file; valid clips loaded next to damaged ones come out exactly as
//! when loaded alone ("never lose a good row").
//!
//! The normal run uses few cases; `PROPTEST_CASES=5000 cargo nextest run -p nona_audio hostile`
//! runs a long one.

use std::path::{Path, PathBuf};

use nona_audio::{AudioError, LoadOptions, decode_bytes, load, probe_file};
use nona_testkit::{cases, mutate, mutation};
use proptest::prelude::*;
use rayon::prelude::*;

const FIXTURES: [&str; 7] = [
    "tone_stereo.wav",
    "tone_stereo.flac",
    "tone_stereo.mp3",
    "tone_stereo.ogg",
    "tone_stereo.m4a",
    "tone_stereo.aac",
    "short_8k.wav",
];

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/audio")
        .join(name)
}

fn fixture_bytes(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).unwrap()
}

/// Magic bytes that lead random data into each container reader.
const MAGIC: [&[u8]; 8] = [
    b"",
    b"RIFF\x24\x00\x00\x00WAVEfmt ",
    b"fLaC\x00\x00\x00\x22",
    b"ID3\x04\x00\x00\x00\x00\x00\x00",
    b"\xFF\xFB\x90\x64",
    b"OggS\x00\x02",
    b"\x00\x00\x00\x18ftypM4A ",
    b"\xFF\xF1\x50\x80",
];

const NAMES: [&str; 6] = ["x.wav", "x.flac", "x.mp3", "x.ogg", "x.m4a", "x.aac"];

/// Probes (from a file) and decodes (from memory) `bytes` as `name`: errors must name it.
fn probe_and_decode(dir: &Path, bytes: Vec<u8>, name: &str) -> Result<(), TestCaseError> {
    let path = dir.join(name);
    std::fs::write(&path, &bytes).unwrap();
    if let Err(error) = probe_file(&path) {
        prop_assert!(error.to_string().contains(name), "{}", error);
    }
    if let Err(error) = decode_bytes(bytes, Path::new(name)) {
        prop_assert!(error.to_string().contains(name), "{}", error);
    }
    Ok(())
}

/// Found by `mutated_valid_files_never_panic`: one flipped bit makes the WAV `fmt ` chunk declare
/// 32769 channels and symphonia's WAV reader overflows computing the block size (a panic in
/// builds with overflow checks). The probe and the decoder report it as this file's error.
#[test]
fn a_decoder_panic_is_an_error_naming_the_file() {
    let mut wav = fixture_bytes("short_8k.wav");
    assert_eq!(&wav[20..24], &[1, 0, 1, 0], "PCM, mono");
    wav[23] ^= 0x80;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("channels.wav");
    std::fs::write(&path, &wav).unwrap();
    for result in [
        probe_file(&path).map(|_| ()),
        decode_bytes(wav, &path).map(|_| ()),
    ] {
        match result {
            Err(error @ (AudioError::DecoderPanic { .. } | AudioError::Unsupported { .. })) => {
                assert!(error.to_string().contains("channels.wav"), "{error}");
            }
            other => panic!("expected an error, got {other:?}"),
        }
    }
}

/// Found by `good_clips_load_the_same_next_to_damaged_ones` (a run that took minutes and
/// gigabytes): a damaged WAV header's sample rate of 1 Hz, or near 2^31 Hz, made resampling
/// allocate gigabytes. Such a clip is its own error, at once.
#[test]
fn a_damaged_sample_rate_is_an_error_not_gigabytes() {
    let dir = tempfile::tempdir().unwrap();
    let options = LoadOptions::new(16_000);
    for rate in [1u32, 0x8000_1F40] {
        let mut wav = fixture_bytes("short_8k.wav");
        assert_eq!(&wav[24..28], &8000u32.to_le_bytes());
        wav[24..28].copy_from_slice(&rate.to_le_bytes());
        let path = dir.path().join(format!("rate{rate}.wav"));
        std::fs::write(&path, &wav).unwrap();
        match load(&path, &options) {
            Err(error @ AudioError::Resample { .. }) => {
                assert!(
                    error.to_string().contains(&format!("rate{rate}.wav")),
                    "{error}"
                );
            }
            other => panic!("rate {rate}: expected a resampling error, got {other:?}"),
        }
    }
}

proptest! {
    #![proptest_config(cases(48))]

    #[test]
    fn random_bytes_never_panic(
        magic in 0..MAGIC.len(),
        tail in prop::collection::vec(any::<u8>(), 0..2048),
        name in 0..NAMES.len(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        probe_and_decode(dir.path(), [MAGIC[magic], tail.as_slice()].concat(), NAMES[name])?;
    }

    #[test]
    fn mutated_valid_files_never_panic(
        file in 0..FIXTURES.len(),
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let name = FIXTURES[file];
        probe_and_decode(dir.path(), mutate(fixture_bytes(name), &mutations), name)?;
    }
}

proptest! {
    #![proptest_config(cases(6))]

    #[test]
    fn good_clips_load_the_same_next_to_damaged_ones(
        mutations in prop::collection::vec(prop::collection::vec(mutation(), 1..3), FIXTURES.len()),
    ) {
        let dir = tempfile::tempdir().unwrap();
        // The fixtures' own rate: resampling (slow in a debug build) is not what is tested.
        let options = LoadOptions::new(44_100).with_window_seconds(0.25);
        let mut paths = Vec::new();
        let mut good = Vec::new();
        for (name, edits) in FIXTURES.iter().zip(&mutations) {
            good.push((paths.len(), load(&fixture(name), &options).unwrap()));
            paths.push(fixture(name));
            let damaged = dir.path().join(name);
            std::fs::write(&damaged, mutate(fixture_bytes(name), edits)).unwrap();
            paths.push(damaged);
        }
        let results: Vec<Result<_, AudioError>> =
            paths.par_iter().map(|path| load(path, &options)).collect();
        for (index, alone) in good {
            prop_assert_eq!(results[index].as_ref().ok(), Some(&alone), "{}", paths[index].display());
        }
    }
}
