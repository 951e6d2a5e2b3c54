use std::path::PathBuf;

/// Result alias of this crate.
pub type Result<T, E = AudioError> = std::result::Result<T, E>;

/// Everything that can go wrong while loading a clip. Every variant names the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AudioError {
    /// The file could not be opened or read.
    #[error("{path}: {source}")]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file has no bytes at all.
    #[error("{path}: empty file (0 bytes)")]
    Empty {
        /// The file involved.
        path: PathBuf,
    },
    /// No enabled container format or codec can read the file.
    #[error("{path}: unsupported format or codec: {message}")]
    Unsupported {
        /// The file involved.
        path: PathBuf,
        /// What symphonia reported.
        message: String,
    },
    /// The stream ends early or is corrupt.
    #[error("{path}: truncated or corrupt audio: {message}")]
    Truncated {
        /// The file involved.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The decoder panicked on the file's data: a decoder bug that a damaged or unusual file
    /// triggers, caught so that it costs this file only.
    #[error("{path}: the decoder crashed on this file (damaged data?): {message}")]
    DecoderPanic {
        /// The file involved.
        path: PathBuf,
        /// The panic's message.
        message: String,
    },
    /// The stream decoded to no samples at all.
    #[error("{path}: no audio samples")]
    NoSamples {
        /// The file involved.
        path: PathBuf,
    },
    /// Every sample is (numerically) zero and the caller forbids silent clips.
    #[error("{path}: silence only (peak amplitude {peak:e})")]
    Silent {
        /// The file involved.
        path: PathBuf,
        /// The largest absolute sample.
        peak: f32,
    },
    /// The clip is shorter than the window and the policy is [`ShortPolicy::Error`](crate::ShortPolicy::Error).
    #[error("{path}: {samples} samples is shorter than the {window}-sample window")]
    TooShort {
        /// The file involved.
        path: PathBuf,
        /// Samples in the clip (at the target rate).
        samples: usize,
        /// Samples the window needs.
        window: usize,
    },
    /// Resampling failed (for example a zero sample rate).
    #[error("{path}: resampling {from} Hz -> {to} Hz failed: {message}")]
    Resample {
        /// The file involved.
        path: PathBuf,
        /// Source rate.
        from: u32,
        /// Target rate.
        to: u32,
        /// What rubato reported.
        message: String,
    },
}
