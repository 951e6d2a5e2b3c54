//! How sizes and normalisations are written in configuration files: a size is `N` or
//! `[height, width]`, a normalisation `"imagenet"`, `"half"` or `{ mean = [...], std = [...] }`.
//! These types' names appear in serde's messages ("did not match any variant of untagged enum
//! Size"), so they are the names a pipeline author reads.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A size as written: one number, or height and width.
#[derive(Clone, Copy, Deserialize)]
#[serde(untagged)]
pub(super) enum Size {
    /// One side (`Resize`: the shorter side; `CenterCrop`: both sides).
    Side(u32),
    /// `[height, width]`.
    Exact([u32; 2]),
}

impl From<Size> for super::Resize {
    fn from(size: Size) -> Self {
        match size {
            Size::Side(side) => Self::ShorterSide(side as usize),
            Size::Exact([height, width]) => Self::Exact {
                height: height as usize,
                width: width as usize,
            },
        }
    }
}

/// Reads a crop size: `N` is an `N`×`N` square.
pub(super) fn deserialize_crop<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<(usize, usize), D::Error> {
    Ok(match Size::deserialize(deserializer)? {
        Size::Side(side) => (side as usize, side as usize),
        Size::Exact([height, width]) => (height as usize, width as usize),
    })
}

/// Writes a crop size: a square as one number, else `[height, width]`.
pub(super) fn serialize_crop<S: Serializer>(
    height: &usize,
    width: &usize,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    if height == width {
        height.serialize(serializer)
    } else {
        [height, width].serialize(serializer)
    }
}

/// A normalisation as written: a preset's name or the values.
#[derive(Deserialize, Serialize)]
#[serde(untagged)]
pub(super) enum Normalize {
    /// `"imagenet"` or `"half"`.
    Preset(Preset),
    /// Explicit values: one per channel, or one for all.
    Custom {
        /// Per-channel mean.
        mean: Vec<f32>,
        /// Per-channel standard deviation.
        std: Vec<f32>,
    },
}

/// The named normalisations.
#[derive(Clone, Copy, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum Preset {
    /// [`super::Normalize::imagenet`].
    Imagenet,
    /// [`super::Normalize::half`].
    Half,
}

impl Preset {
    const ALL: [Self; 2] = [Self::Imagenet, Self::Half];

    fn values(self) -> super::Normalize {
        match self {
            Self::Imagenet => super::Normalize::imagenet(),
            Self::Half => super::Normalize::half(),
        }
    }
}

impl From<Normalize> for super::Normalize {
    fn from(written: Normalize) -> Self {
        match written {
            Normalize::Preset(preset) => preset.values(),
            Normalize::Custom { mean, std } => Self { mean, std },
        }
    }
}

impl From<super::Normalize> for Normalize {
    fn from(values: super::Normalize) -> Self {
        match Preset::ALL.into_iter().find(|p| p.values() == values) {
            Some(preset) => Self::Preset(preset),
            None => Self::Custom {
                mean: values.mean,
                std: values.std,
            },
        }
    }
}
