//! Decoding PNG, JPEG, BMP and TIFF bytes into planar [`Pixels`].

use std::io::ErrorKind;
use std::path::Path;

use image::{DynamicImage, ImageFormat};

use crate::error::ImageError;
use crate::integrity::{Damage, check_complete};
use crate::pixels::{Channels, Pixels, Samples};

const SUPPORTED_FORMATS: [ImageFormat; 4] = [
    ImageFormat::Png,
    ImageFormat::Jpeg,
    ImageFormat::Bmp,
    ImageFormat::Tiff,
];

/// Reads and decodes the image file at `path`.
///
/// The format comes from the file's magic bytes; the extension is only used when the bytes are
/// not recognised (so a PNG saved as `.jpg` still decodes). EXIF orientation is not applied,
/// matching `PIL.Image.open`. A file that ends before its format's end marker (JPEG EOI, PNG
/// `IEND`) or has a PNG chunk with a bad CRC is an error, never padded pixels.
pub fn decode_file(path: &Path, channels: Channels) -> Result<Pixels, ImageError> {
    let bytes = std::fs::read(path).map_err(|source| match source.kind() {
        ErrorKind::NotFound => ImageError::NotFound {
            path: path.to_path_buf(),
        },
        _ => ImageError::Io {
            path: path.to_path_buf(),
            source,
        },
    })?;
    decode_bytes(&bytes, path, channels)
}

/// Decodes an encoded image held in memory; `label` names it in errors (and its extension is
/// the fallback format hint, as in [`decode_file`]).
pub fn decode_bytes(bytes: &[u8], label: &Path, channels: Channels) -> Result<Pixels, ImageError> {
    if bytes.is_empty() {
        return Err(ImageError::EmptyFile {
            path: label.to_path_buf(),
        });
    }
    let format = detect_format(bytes, label)?;
    check_complete(bytes, format).map_err(|damage| {
        let path = label.to_path_buf();
        match damage {
            Damage::Truncated(detail) => ImageError::Truncated { path, detail },
            Damage::Corrupt(detail) => ImageError::Corrupt { path, detail },
        }
    })?;
    let decoded = image::load_from_memory_with_format(bytes, format)
        .map_err(|error| classify(error, label))?;
    let (width, height) = (decoded.width() as usize, decoded.height() as usize);
    if width == 0 || height == 0 {
        return Err(ImageError::ZeroSize {
            path: label.to_path_buf(),
            width,
            height,
        });
    }
    let samples = match &decoded {
        DynamicImage::ImageLuma8(buffer) => Samples::U8(to_planar(buffer.as_raw(), 1, channels)),
        DynamicImage::ImageLumaA8(buffer) => Samples::U8(to_planar(buffer.as_raw(), 2, channels)),
        DynamicImage::ImageRgb8(buffer) => Samples::U8(to_planar(buffer.as_raw(), 3, channels)),
        DynamicImage::ImageRgba8(buffer) => Samples::U8(to_planar(buffer.as_raw(), 4, channels)),
        DynamicImage::ImageLuma16(buffer) => Samples::U16(to_planar(buffer.as_raw(), 1, channels)),
        DynamicImage::ImageLumaA16(buffer) => Samples::U16(to_planar(buffer.as_raw(), 2, channels)),
        DynamicImage::ImageRgb16(buffer) => Samples::U16(to_planar(buffer.as_raw(), 3, channels)),
        DynamicImage::ImageRgba16(buffer) => Samples::U16(to_planar(buffer.as_raw(), 4, channels)),
        other => {
            return Err(ImageError::UnsupportedFormat {
                path: label.to_path_buf(),
                detail: format!("{:?} samples (only 8- and 16-bit integers)", other.color()),
            });
        }
    };
    Ok(Pixels::new(channels.count(), height, width, samples))
}

/// Magic bytes first; the extension only when they match nothing.
fn detect_format(bytes: &[u8], label: &Path) -> Result<ImageFormat, ImageError> {
    let format = image::guess_format(bytes)
        .ok()
        .or_else(|| ImageFormat::from_path(label).ok());
    match format {
        Some(format) if SUPPORTED_FORMATS.contains(&format) => Ok(format),
        Some(format) => Err(ImageError::UnsupportedFormat {
            path: label.to_path_buf(),
            detail: format!("{format:?} (supported: PNG, JPEG, BMP, TIFF)"),
        }),
        None => Err(ImageError::UnsupportedFormat {
            path: label.to_path_buf(),
            detail: "unrecognised content and file extension".to_owned(),
        }),
    }
}

fn classify(error: image::ImageError, label: &Path) -> ImageError {
    let path = label.to_path_buf();
    let detail = error.to_string();
    match error {
        image::ImageError::IoError(io) if io.kind() == ErrorKind::UnexpectedEof => {
            ImageError::Truncated { path, detail }
        }
        image::ImageError::Unsupported(_) => ImageError::UnsupportedFormat { path, detail },
        image::ImageError::Limits(_) => ImageError::TooLarge { path, detail },
        _ if looks_truncated(&detail) => ImageError::Truncated { path, detail },
        _ => ImageError::Corrupt { path, detail },
    }
}

/// Some decoders report a short read only in their message.
fn looks_truncated(detail: &str) -> bool {
    let lower = detail.to_ascii_lowercase();
    [
        "eof",
        "end of file",
        "truncated",
        "unexpected end",
        "not enough data",
    ]
    .iter()
    .any(|needle| lower.contains(needle))
}

/// Splits interleaved samples (`stride` values per pixel: gray, gray+alpha, RGB or RGBA) into
/// the requested channel planes. Alpha is dropped; see [`Channels`] for the conversions.
fn to_planar<T>(interleaved: &[T], stride: usize, channels: Channels) -> Vec<T>
where
    T: Copy + Default + Into<u64> + TryFrom<u64>,
{
    let pixels = interleaved.chunks_exact(stride);
    let has_colour = stride >= 3;
    match (channels, has_colour) {
        (Channels::Gray, false) => pixels.map(|p| p[0]).collect(),
        (Channels::Gray, true) => pixels.map(|p| luma(p[0], p[1], p[2])).collect(),
        (Channels::Rgb, false) => {
            let gray: Vec<T> = pixels.map(|p| p[0]).collect();
            [gray.as_slice(); 3].concat()
        }
        (Channels::Rgb, true) => (0..3)
            .flat_map(|c| interleaved.chunks_exact(stride).map(move |p| p[c]))
            .collect(),
    }
}

/// PIL's RGB -> L conversion (ITU-R 601-2 luma in 16-bit fixed point), for any sample width.
fn luma<T: Copy + Default + Into<u64> + TryFrom<u64>>(r: T, g: T, b: T) -> T {
    let weighted = r.into() * 19595 + g.into() * 38470 + b.into() * 7471 + 0x8000;
    // The weights sum to 65536, so the result never exceeds the largest sample.
    T::try_from(weighted >> 16).unwrap_or_default()
}
