//! Damaged images are errors that name the file, as they are for PIL (`Image.open(p).load()`
//! raises; `tests/fixtures/image/pil_damage_verdicts.py` prints its verdicts on the same damage):
//! files cut to 10-99 % of their length, JPEGs without their end marker, PNGs with a flipped byte
//! (CRC mismatch). Valid files, also JPEGs with bytes after the end marker, still decode.

mod common;

use std::path::Path;

use common::generated::{picture, valid_files};
use nona_image::{Channels, ImageError, Pixels, decode_bytes, decode_file};

/// The cuts of the issue: a file keeps this fraction of its bytes.
const CUTS: [f64; 5] = [0.10, 0.25, 0.50, 0.90, 0.99];

/// Writes `bytes` as `name` in `dir` and decodes the file, which must fail with an error that
/// names it; returns the error.
fn decode_error(dir: &Path, name: &str, bytes: &[u8]) -> ImageError {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    let error = match decode_file(&path, Channels::Rgb) {
        Ok(pixels) => panic!(
            "{name} ({} bytes) decoded to {}x{} pixels",
            bytes.len(),
            pixels.width(),
            pixels.height()
        ),
        Err(error) => error,
    };
    assert_eq!(error.path(), path, "{error}");
    assert!(error.to_string().contains(name), "{error}");
    error
}

fn decode_valid(name: &str, bytes: &[u8]) -> Pixels {
    decode_bytes(bytes, Path::new(name), Channels::Rgb)
        .unwrap_or_else(|error| panic!("valid {name} is refused: {error}"))
}

#[test]
fn generated_files_are_valid_and_lossless_ones_decode_exactly() {
    for (name, bytes) in valid_files() {
        let pixels = decode_valid(&name, &bytes);
        assert_eq!((pixels.width(), pixels.height()), (40, 48), "{name}");
        if !name.ends_with(".jpg") {
            let expected = picture(name.starts_with("gray")).to_rgb8();
            let nona_image::Samples::U8(planar) = pixels.samples() else {
                panic!("{name}: not 8-bit")
            };
            let interleaved: Vec<u8> = (0..40 * 48)
                .flat_map(|i| (0..3).map(move |c| planar[c * 40 * 48 + i]))
                .collect();
            assert_eq!(interleaved, expected.into_raw(), "{name}");
        }
    }
}

#[test]
fn files_cut_short_are_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in valid_files() {
        for fraction in CUTS {
            let keep = (bytes.len() as f64 * fraction) as usize;
            let cut_name = format!("cut{:02}_{name}", (fraction * 100.0) as u32);
            let error = decode_error(dir.path(), &cut_name, &bytes[..keep]);
            assert!(
                matches!(
                    error,
                    ImageError::Truncated { .. } | ImageError::Corrupt { .. }
                ),
                "{cut_name}: {error:?}"
            );
        }
    }
}

#[test]
fn jpeg_without_end_marker_is_truncated() {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in valid_files() {
        if !name.ends_with(".jpg") {
            continue;
        }
        assert_eq!(bytes[bytes.len() - 2..], [0xFF, 0xD9], "{name} ends in EOI");
        let error = decode_error(
            dir.path(),
            &format!("no_eoi_{name}"),
            &bytes[..bytes.len() - 2],
        );
        assert!(matches!(error, ImageError::Truncated { .. }), "{error:?}");
        assert!(error.to_string().contains("end-of-image marker"), "{error}");
    }
}

#[test]
fn bytes_after_the_end_marker_change_nothing() {
    // PIL and libjpeg ignore what follows EOI (and PIL what follows IEND): camera files often
    // carry such trailers.
    for (name, bytes) in valid_files() {
        if name.ends_with(".tiff") || name.ends_with(".bmp") {
            continue;
        }
        let intact = decode_valid(&name, &bytes);
        let trailed = decode_valid(&name, &[bytes.as_slice(), b"\0trailer\xFF\xD8"].concat());
        assert_eq!(intact, trailed, "{name}");
    }
}

/// The chunks of a PNG as `(offset, type)`.
fn png_chunks(png: &[u8]) -> Vec<(usize, [u8; 4])> {
    let mut chunks = Vec::new();
    let mut pos = 8;
    while pos + 8 <= png.len() {
        let length = u32::from_be_bytes(png[pos..pos + 4].try_into().unwrap()) as usize;
        chunks.push((pos, png[pos + 4..pos + 8].try_into().unwrap()));
        pos += 12 + length;
    }
    chunks
}

/// `png` with an ancillary `tEXt` chunk (correct CRC) after `IHDR`.
fn with_text_chunk(png: &[u8]) -> Vec<u8> {
    let mut chunk = 12u32.to_be_bytes().to_vec();
    chunk.extend_from_slice(b"tEXtComment\0nona");
    let crc = crc32(&chunk[4..]);
    chunk.extend_from_slice(&crc.to_be_bytes());
    let after_ihdr = 8 + 25;
    [&png[..after_ihdr], &chunk, &png[after_ihdr..]].concat()
}

/// CRC-32 (ISO-HDLC) as PNG uses it, bit by bit: the test's own reference.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn png_with_a_flipped_byte_in_any_chunk_is_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in valid_files() {
        if !name.ends_with(".png") {
            continue;
        }
        let png = with_text_chunk(&bytes);
        decode_valid(&name, &png);
        for (offset, kind) in png_chunks(&png) {
            let kind = String::from_utf8_lossy(&kind).into_owned();
            // The first data byte, or the type's last letter for an empty chunk (IEND).
            let length = u32::from_be_bytes(png[offset..offset + 4].try_into().unwrap());
            let target = if length > 0 { offset + 8 } else { offset + 7 };
            let mut flipped = png.clone();
            flipped[target] ^= 0x01;
            let error = decode_error(dir.path(), &format!("{kind}_flipped_{name}"), &flipped);
            assert!(
                matches!(error, ImageError::Corrupt { .. }),
                "{kind} of {name}: {error:?}"
            );
        }
    }
}

#[test]
fn png_without_iend_is_truncated() {
    // Stricter than PIL, which loads a PNG whose pixels are complete but whose IEND is missing:
    // the file is cut, and what else was lost cannot be told.
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in valid_files() {
        if !name.ends_with(".png") {
            continue;
        }
        let (iend, _) = *png_chunks(&bytes).last().unwrap();
        let error = decode_error(dir.path(), &format!("no_iend_{name}"), &bytes[..iend]);
        assert!(matches!(error, ImageError::Truncated { .. }), "{error:?}");
    }
}
