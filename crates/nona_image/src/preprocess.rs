//! [`Preprocessor`]: decode, convert channels and apply a validated transform list.

use std::path::Path;

use rayon::ThreadPool;
use rayon::prelude::*;

use crate::decode::{decode_bytes, decode_file};
use crate::error::{ConfigError, ImageError};
use crate::pixels::{Channels, Pixels};
use crate::tensor::ImageTensor;
use crate::transform::{Resize, Transform};

/// Largest intermediate image, in samples, a transform list may produce (1 GiB as `f32`).
const MAX_SAMPLES: u64 = 1 << 28;

/// Turns encoded images into [`ImageTensor`]s. Immutable after construction, so one instance can
/// be shared across threads.
#[derive(Clone, Debug, PartialEq)]
pub struct Preprocessor {
    channels: Channels,
    transforms: Vec<Transform>,
}

impl Preprocessor {
    /// Validates the transform list: sizes at least 1, resize/crop before any `Normalize`,
    /// `Normalize` with 1 or `channels.count()` finite values and non-zero `std`.
    pub fn new(channels: Channels, transforms: Vec<Transform>) -> Result<Self, ConfigError> {
        let mut normalized = false;
        for (index, transform) in transforms.iter().enumerate() {
            let sizes = match transform {
                Transform::Resize(Resize::Exact { height, width })
                | Transform::CenterCrop { height, width } => Some((*height, *width)),
                Transform::Resize(Resize::ShorterSide(side)) => Some((*side, *side)),
                Transform::Normalize(normalize) => {
                    let (mean_len, std_len) = (normalize.mean.len(), normalize.std.len());
                    if mean_len != std_len || (mean_len != 1 && mean_len != channels.count()) {
                        let channels = channels.count();
                        return Err(ConfigError::NormalizeLength {
                            index,
                            mean_len,
                            std_len,
                            channels,
                        });
                    }
                    let finite = normalize
                        .mean
                        .iter()
                        .chain(&normalize.std)
                        .all(|v| v.is_finite());
                    if !finite || normalize.std.contains(&0.0) {
                        return Err(ConfigError::NormalizeValue { index });
                    }
                    normalized = true;
                    None
                }
            };
            if let Some((height, width)) = sizes {
                if normalized {
                    return Err(ConfigError::GeometryAfterNormalize {
                        index,
                        transform: transform.name(),
                    });
                }
                if height == 0 || width == 0 {
                    return Err(ConfigError::ZeroSize {
                        index,
                        transform: transform.name(),
                    });
                }
            }
        }
        Ok(Self {
            channels,
            transforms,
        })
    }

    /// The output colour layout.
    pub fn channels(&self) -> Channels {
        self.channels
    }

    /// The validated transforms, in application order.
    pub fn transforms(&self) -> &[Transform] {
        &self.transforms
    }

    /// Reads, decodes and transforms one file.
    pub fn process_path(&self, path: &Path) -> Result<ImageTensor, ImageError> {
        self.apply(decode_file(path, self.channels)?, path)
    }

    /// Decodes and transforms an encoded image held in memory; `label` names it in errors.
    pub fn process_bytes(&self, bytes: &[u8], label: &Path) -> Result<ImageTensor, ImageError> {
        self.apply(decode_bytes(bytes, label, self.channels)?, label)
    }

    /// Processes `paths` in parallel on `pool` (keep it separate from rayon's global pool when
    /// candle uses that one). Results come back in input order, one per path.
    pub fn process_paths<P>(
        &self,
        paths: &[P],
        pool: &ThreadPool,
    ) -> Vec<Result<ImageTensor, ImageError>>
    where
        P: AsRef<Path> + Sync,
    {
        pool.install(|| {
            paths
                .par_iter()
                .map(|path| self.process_path(path.as_ref()))
                .collect()
        })
    }

    /// Applies the transforms to decoded pixels (ToTensor happens at the first `Normalize` or at
    /// the end).
    fn apply(&self, mut pixels: Pixels, label: &Path) -> Result<ImageTensor, ImageError> {
        self.check_sizes(&pixels, label)?;
        let mut tensor: Option<ImageTensor> = None;
        for transform in &self.transforms {
            match transform {
                Transform::Resize(resize) => {
                    let (height, width) = resize.output_size(pixels.height(), pixels.width());
                    pixels = pixels.resize(height, width);
                }
                Transform::CenterCrop { height, width } => {
                    pixels = pixels.center_crop(*height, *width)
                }
                Transform::Normalize(normalize) => {
                    tensor
                        .get_or_insert_with(|| pixels.to_tensor())
                        .normalize(normalize);
                }
            }
        }
        Ok(tensor.unwrap_or_else(|| pixels.to_tensor()))
    }

    /// Rejects inputs whose shape would make a transform allocate more than [`MAX_SAMPLES`]
    /// (e.g. a 1x4000 strip under `ShorterSide(224)`), instead of aborting on allocation.
    fn check_sizes(&self, pixels: &Pixels, label: &Path) -> Result<(), ImageError> {
        let (mut height, mut width) = (pixels.height(), pixels.width());
        for transform in &self.transforms {
            (height, width) = match transform {
                Transform::Resize(resize) => resize.output_size(height, width),
                Transform::CenterCrop { height, width } => (*height, *width),
                Transform::Normalize(_) => continue,
            };
            let samples = (pixels.channels() as u64)
                .saturating_mul(height as u64)
                .saturating_mul(width as u64);
            if samples > MAX_SAMPLES {
                return Err(ImageError::TooLarge {
                    path: label.to_path_buf(),
                    detail: format!(
                        "{} would produce {height}x{width} pixels from {}x{}",
                        transform.name(),
                        pixels.height(),
                        pixels.width()
                    ),
                });
            }
        }
        Ok(())
    }
}
