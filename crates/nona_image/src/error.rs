//! Typed errors: [`ImageError`] for one input file, [`ConfigError`] for an invalid transform list.

use std::path::{Path, PathBuf};

/// Why one image could not be decoded. Every variant names the file (or the label given for
/// in-memory bytes).
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// The file does not exist.
    #[error("{}: file not found", path.display())]
    NotFound {
        /// The missing file.
        path: PathBuf,
    },
    /// The file exists but could not be read (permissions, a directory, I/O failure).
    #[error("{}: cannot read file: {source}", path.display())]
    Io {
        /// The unreadable file.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// The file has no bytes at all.
    #[error("{}: empty file (0 bytes)", path.display())]
    EmptyFile {
        /// The empty file.
        path: PathBuf,
    },
    /// The bytes are not in a supported format (PNG, JPEG, BMP, TIFF) and the file extension
    /// names none, or the format uses a feature the decoder does not support.
    #[error("{}: unsupported image format: {detail}", path.display())]
    UnsupportedFormat {
        /// The offending file.
        path: PathBuf,
        /// What was not recognised or supported.
        detail: String,
    },
    /// The data ends before the image is complete.
    #[error("{}: truncated image data: {detail}", path.display())]
    Truncated {
        /// The truncated file.
        path: PathBuf,
        /// The decoder's description.
        detail: String,
    },
    /// The data is malformed (bad signature, checksum, header or compressed stream).
    #[error("{}: corrupt image data: {detail}", path.display())]
    Corrupt {
        /// The corrupt file.
        path: PathBuf,
        /// The decoder's description.
        detail: String,
    },
    /// The image decoded but has a zero width or height.
    #[error("{}: image is {width}x{height} pixels, nothing to process", path.display())]
    ZeroSize {
        /// The empty image.
        path: PathBuf,
        /// Decoded width.
        width: usize,
        /// Decoded height.
        height: usize,
    },
    /// Decoding would exceed the decoder's memory limits (512 MiB by default), or the
    /// transforms would produce more than 2^28 samples from this image's shape.
    #[error("{}: image too large to decode: {detail}", path.display())]
    TooLarge {
        /// The oversized file.
        path: PathBuf,
        /// The decoder's description.
        detail: String,
    },
}

impl ImageError {
    /// The file (or in-memory label) the error is about.
    pub fn path(&self) -> &Path {
        match self {
            Self::NotFound { path }
            | Self::Io { path, .. }
            | Self::EmptyFile { path }
            | Self::UnsupportedFormat { path, .. }
            | Self::Truncated { path, .. }
            | Self::Corrupt { path, .. }
            | Self::ZeroSize { path, .. }
            | Self::TooLarge { path, .. } => path,
        }
    }
}

/// A transform list that [`crate::Preprocessor::new`] rejects.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    /// A resize or crop target has a zero side.
    #[error("transform {index} ({transform}): sizes must be at least 1")]
    ZeroSize {
        /// Position in the transform list.
        index: usize,
        /// Name of the transform.
        transform: &'static str,
    },
    /// A resize or crop comes after `Normalize`; geometry works on integer pixels, as in
    /// torchvision's PIL path, so it must come first.
    #[error("transform {index} ({transform}) follows Normalize; resize and crop must come first")]
    GeometryAfterNormalize {
        /// Position in the transform list.
        index: usize,
        /// Name of the transform.
        transform: &'static str,
    },
    /// `mean`/`std` lengths differ from each other or are neither 1 nor the channel count.
    #[error(
        "transform {index} (Normalize): mean has {mean_len} values and std {std_len}; \
         expected both 1 or both {channels}"
    )]
    NormalizeLength {
        /// Position in the transform list.
        index: usize,
        /// Length of `mean`.
        mean_len: usize,
        /// Length of `std`.
        std_len: usize,
        /// Channel count of the output.
        channels: usize,
    },
    /// A `std` value is zero or a `mean`/`std` value is not finite.
    #[error("transform {index} (Normalize): std must be non-zero and all values finite")]
    NormalizeValue {
        /// Position in the transform list.
        index: usize,
    },
}
