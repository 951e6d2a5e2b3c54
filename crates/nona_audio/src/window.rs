//! Fixed-length windows: trim long clips, zero-pad (or reject) short ones.

use serde::{Deserialize, Serialize};

/// What to do with a clip shorter than the window; written `pad` (the default) or `error` in
/// configuration files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ShortPolicy {
    /// Zero-pad at the end up to the window length.
    #[default]
    Pad,
    /// Fail with [`AudioError::TooShort`](crate::AudioError::TooShort).
    Error,
}

/// Where a window is taken from a clip longer than it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WindowAnchor {
    /// The first `len` samples.
    #[default]
    Start,
    /// The middle `len` samples (left offset `(n - len) / 2`).
    Center,
    /// Starting at this sample offset (clamped so the window fits, when the clip is long enough).
    Offset(usize),
}

/// The window of `len` samples of `samples` at `anchor`, zero-padded at the end when the clip is
/// shorter; returns the window and how many of its samples carry audio.
pub fn take_window(samples: &[f32], len: usize, anchor: WindowAnchor) -> (Vec<f32>, usize) {
    let n = samples.len();
    let start = if n <= len {
        0
    } else {
        match anchor {
            WindowAnchor::Start => 0,
            WindowAnchor::Center => (n - len) / 2,
            WindowAnchor::Offset(offset) => offset.min(n - len),
        }
    };
    let valid = (n - start).min(len);
    let mut window = Vec::with_capacity(len);
    window.extend_from_slice(&samples[start..start + valid]);
    window.resize(len, 0.0);
    (window, valid)
}
