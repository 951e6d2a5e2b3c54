//! Completeness checks the decoders leave out.
//!
//! The `image` crate decodes JPEG with zune-jpeg in its lenient mode, which fills a cut-off scan
//! with grey, and its PNG decoder skips ancillary chunks whose CRC is wrong and stops reading once
//! the pixels are in. So a JPEG cut anywhere after its headers, or one without its end marker,
//! decodes, and so does a PNG cut after its image data. These files are damaged; PIL refuses the
//! JPEGs (and every PNG whose pixels are cut). Both checks walk the file's structure without
//! decoding: JPEG marker segments up to the end-of-image marker, PNG chunks (with their CRCs) up
//! to `IEND`. Bytes after the end marker are allowed, as PIL and libjpeg allow them. TIFF and BMP
//! need no check: their decoders read every strip and row exactly and fail on a short file.

use image::ImageFormat;

/// What is wrong with a file that fails a check.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Damage {
    /// The data ends before the format's end marker.
    Truncated(String),
    /// The structure is inconsistent (a checksum mismatch, an impossible length).
    Corrupt(String),
}

/// Checks that `bytes` in `format` run complete to the format's end marker.
pub(crate) fn check_complete(bytes: &[u8], format: ImageFormat) -> Result<(), Damage> {
    match format {
        ImageFormat::Jpeg => check_jpeg(bytes),
        ImageFormat::Png => check_png(bytes),
        _ => Ok(()),
    }
}

const JPEG_SOI: [u8; 2] = [0xFF, 0xD8];
const JPEG_EOI: u8 = 0xD9;
const JPEG_SOS: u8 = 0xDA;

/// Walks a JPEG's marker segments, skipping entropy-coded data (and stray bytes between
/// segments, as libjpeg does) until the end-of-image marker.
fn check_jpeg(bytes: &[u8]) -> Result<(), Damage> {
    check_signature(bytes, &JPEG_SOI, "JPEG start-of-image marker")?;
    let mut pos = JPEG_SOI.len();
    let mut in_scan = false;
    loop {
        let Some((marker, after)) = next_jpeg_marker(bytes, pos) else {
            let inside = if in_scan {
                "inside the compressed image data"
            } else {
                "after its headers"
            };
            return Err(Damage::Truncated(format!(
                "JPEG data ends {inside}, without the end-of-image marker (EOI) ({} bytes)",
                bytes.len()
            )));
        };
        if marker == JPEG_EOI {
            return Ok(());
        }
        pos = after;
        if is_standalone_jpeg_marker(marker) {
            continue;
        }
        let length = bytes
            .get(pos..pos + 2)
            .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])));
        match length {
            Some(length) if length < 2 => {
                return Err(Damage::Corrupt(format!(
                    "JPEG marker FF{marker:02X} at byte {} has an impossible length {length}",
                    pos - 2
                )));
            }
            Some(length) if pos + length <= bytes.len() => pos += length,
            _ => {
                return Err(Damage::Truncated(format!(
                    "JPEG data ends inside the FF{marker:02X} segment at byte {} ({} bytes)",
                    pos - 2,
                    bytes.len()
                )));
            }
        }
        in_scan = marker == JPEG_SOS;
    }
}

/// The next marker at or after `pos` and the position after it. Inside entropy-coded data
/// `FF 00` is an escaped `FF` and `FF D0`..`FF D7` are restart markers, so neither ends a scan;
/// `FF` may repeat as fill.
fn next_jpeg_marker(bytes: &[u8], mut pos: usize) -> Option<(u8, usize)> {
    while pos + 1 < bytes.len() {
        if bytes[pos] != 0xFF {
            pos += 1;
            continue;
        }
        match bytes[pos + 1] {
            0xFF => pos += 1,
            0x00 | 0xD0..=0xD7 => pos += 2,
            marker => return Some((marker, pos + 2)),
        }
    }
    None
}

/// Markers without a length field: TEM, RST0-7, SOI and EOI.
fn is_standalone_jpeg_marker(marker: u8) -> bool {
    matches!(marker, 0x01 | 0xD0..=0xD9)
}

const PNG_SIGNATURE: [u8; 8] = *b"\x89PNG\r\n\x1a\n";
/// Length, type and CRC around every chunk's data.
const PNG_CHUNK_OVERHEAD: usize = 12;

/// Walks a PNG's chunks, checking every CRC, until `IEND`.
fn check_png(bytes: &[u8]) -> Result<(), Damage> {
    check_signature(bytes, &PNG_SIGNATURE, "PNG signature")?;
    let mut pos = PNG_SIGNATURE.len();
    loop {
        let Some(header) = bytes.get(pos..pos + 8) else {
            return Err(Damage::Truncated(format!(
                "PNG data ends at byte {} without the IEND chunk",
                bytes.len()
            )));
        };
        let length = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let kind = header[4..8].escape_ascii().to_string();
        let end = pos
            .checked_add(PNG_CHUNK_OVERHEAD)
            .and_then(|n| n.checked_add(length))
            .filter(|&end| end <= bytes.len())
            .ok_or_else(|| {
                Damage::Truncated(format!(
                    "PNG data ends inside the {kind} chunk at byte {pos} ({} of its {} bytes present)",
                    bytes.len() - pos,
                    length.saturating_add(PNG_CHUNK_OVERHEAD)
                ))
            })?;
        let stored = u32::from_be_bytes([
            bytes[end - 4],
            bytes[end - 3],
            bytes[end - 2],
            bytes[end - 1],
        ]);
        let computed = crc32fast::hash(&bytes[pos + 4..end - 4]);
        if stored != computed {
            return Err(Damage::Corrupt(format!(
                "CRC mismatch in the {kind} chunk at byte {pos} (stored {stored:08x}, computed {computed:08x})"
            )));
        }
        if &header[4..8] == b"IEND" {
            return Ok(());
        }
        pos = end;
    }
}

/// The file must start with `signature` (the extension, not the content, may have named the
/// format); a file shorter than it is cut.
fn check_signature(bytes: &[u8], signature: &[u8], name: &str) -> Result<(), Damage> {
    if bytes.starts_with(signature) {
        Ok(())
    } else if signature.starts_with(bytes) {
        Err(Damage::Truncated(format!(
            "{} bytes, ends inside the {name}",
            bytes.len()
        )))
    } else {
        Err(Damage::Corrupt(format!("no {name} at the start")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jpeg_walk_skips_escapes_restarts_fill_bytes_and_segments() {
        let mut jpeg = vec![0xFF, 0xD8];
        jpeg.extend([0xFF, 0xE0, 0x00, 0x06, 0xFF, 0xD9, 0xFF, 0xD9]); // APP0 hiding an EOI
        jpeg.extend([0xFF, 0xDA, 0x00, 0x03, 0x01]); // SOS header
        jpeg.extend([0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD3, 0x56, 0xFF, 0xFF]); // scan data
        let complete = [jpeg.as_slice(), &[0xD9]].concat();
        assert_eq!(check_jpeg(&complete), Ok(()));
        for cut in 0..complete.len() {
            assert!(
                matches!(check_jpeg(&complete[..cut]), Err(Damage::Truncated(_))),
                "cut to {cut} bytes"
            );
        }
        let trailing = [complete.as_slice(), b"junk"].concat();
        assert_eq!(check_jpeg(&trailing), Ok(()));
    }

    #[test]
    fn content_without_the_signature_is_corrupt() {
        assert!(matches!(check_jpeg(b"noise"), Err(Damage::Corrupt(_))));
        assert!(matches!(check_png(b"noise noise"), Err(Damage::Corrupt(_))));
    }

    #[test]
    fn jpeg_segment_length_below_two_is_corrupt() {
        let jpeg = [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x01, 0xFF, 0xD9];
        assert!(matches!(check_jpeg(&jpeg), Err(Damage::Corrupt(_))));
    }

    #[test]
    fn png_walk_needs_every_crc_and_iend() {
        let chunk = |kind: &[u8], data: &[u8]| {
            let mut chunk = (data.len() as u32).to_be_bytes().to_vec();
            chunk.extend_from_slice(kind);
            chunk.extend_from_slice(data);
            let crc = crc32fast::hash(&chunk[4..]);
            chunk.extend_from_slice(&crc.to_be_bytes());
            chunk
        };
        let png = [
            PNG_SIGNATURE.to_vec(),
            chunk(b"tEXt", b"a\0b"),
            chunk(b"IEND", b""),
        ]
        .concat();
        assert_eq!(check_png(&png), Ok(()));
        assert_eq!(check_png(&[png.as_slice(), b"after"].concat()), Ok(()));
        for cut in 0..png.len() {
            assert!(
                matches!(check_png(&png[..cut]), Err(Damage::Truncated(_))),
                "cut to {cut} bytes"
            );
        }
        let mut flipped = png.clone();
        flipped[PNG_SIGNATURE.len() + 9] ^= 1;
        assert!(matches!(check_png(&flipped), Err(Damage::Corrupt(_))));
    }
}
