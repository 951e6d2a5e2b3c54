//! Declarative transforms, applied in order by [`crate::Preprocessor`], and their serde form
//! (see [`Transform`]).

mod written;

use serde::{Deserialize, Serialize};

/// How to resize; both variants use PIL's bilinear filter with antialiasing. Written `N`
/// (shorter side) or `[height, width]` (exact).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(from = "written::Size")]
pub enum Resize {
    /// Resize to exactly this size (torchvision `Resize((h, w))`).
    Exact {
        /// Output height.
        height: usize,
        /// Output width.
        width: usize,
    },
    /// Scale so the shorter side becomes this length, keeping the aspect ratio
    /// (torchvision `Resize(n)`): the longer side is `floor(n * long / short)`.
    ShorterSide(usize),
}

impl Serialize for Resize {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match *self {
            Self::ShorterSide(side) => side.serialize(serializer),
            Self::Exact { height, width } => [height, width].serialize(serializer),
        }
    }
}

impl Resize {
    /// The `(height, width)` this resize produces from an image of the given size.
    pub fn output_size(&self, height: usize, width: usize) -> (usize, usize) {
        match *self {
            Self::Exact { height, width } => (height, width),
            Self::ShorterSide(target) => {
                let (short, long) = if width <= height {
                    (width, height)
                } else {
                    (height, width)
                };
                // Same float expression as torchvision: int(target * long / short).
                let new_long = ((target as u64 * long as u64) as f64 / short as f64) as usize;
                if width <= height {
                    (new_long, target)
                } else {
                    (target, new_long)
                }
            }
        }
    }
}

/// Per-channel `(x - mean) / std` on the float tensor (torchvision `Normalize`).
///
/// `mean` and `std` hold either one value per output channel or a single value used for all.
/// Written `"imagenet"`, `"half"` or `{ mean = [...], std = [...] }`; the presets' values are
/// written back by name.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(from = "written::Normalize", into = "written::Normalize")]
pub struct Normalize {
    /// Subtracted from each channel.
    pub mean: Vec<f32>,
    /// Divides each channel after the mean is subtracted.
    pub std: Vec<f32>,
}

impl Normalize {
    /// ImageNet statistics: mean (0.485, 0.456, 0.406), std (0.229, 0.224, 0.225); RGB only.
    pub fn imagenet() -> Self {
        Self {
            mean: vec![0.485, 0.456, 0.406],
            std: vec![0.229, 0.224, 0.225],
        }
    }

    /// Mean 0.5 and std 0.5 for every channel, mapping [0, 1] to [-1, 1] (the paper's RSNA choice).
    pub fn half() -> Self {
        Self {
            mean: vec![0.5],
            std: vec![0.5],
        }
    }

    /// The `(mean, std)` pair for `channel`.
    pub(crate) fn for_channel(&self, channel: usize) -> (f32, f32) {
        let pick = |values: &[f32]| {
            if values.len() == 1 {
                values[0]
            } else {
                values[channel]
            }
        };
        (pick(&self.mean), pick(&self.std))
    }
}

/// One preprocessing step. Resize and crop act on integer pixels; `Normalize` acts on the float
/// tensor (pixels divided by the bit depth's maximum, like ToTensor) and must come after them.
///
/// In configuration files a transform is a one-key table: `{ resize = 256 }`,
/// `{ center_crop = 224 }` (or `[h, w]`), `{ normalize = "imagenet" }`.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Transform {
    /// Bilinear antialiased resize (PIL `Image.resize(..., BILINEAR)`).
    Resize(Resize),
    /// torchvision `CenterCrop((height, width))`: zero-pads sides that are smaller than the crop.
    /// A square crop is written back as one number.
    #[serde(
        serialize_with = "written::serialize_crop",
        deserialize_with = "written::deserialize_crop"
    )]
    CenterCrop {
        /// Output height.
        height: usize,
        /// Output width.
        width: usize,
    },
    /// Per-channel normalisation of the float tensor.
    Normalize(Normalize),
}

impl Transform {
    /// Short name used in error messages.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Self::Resize(_) => "Resize",
            Self::CenterCrop { .. } => "CenterCrop",
            Self::Normalize(_) => "Normalize",
        }
    }
}
