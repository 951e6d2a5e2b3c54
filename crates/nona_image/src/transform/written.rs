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

#[cfg(test)]
mod tests {
    use crate::{Channels, Normalize, Resize, Transform};

    /// Every spelling reads as the library's values and is written back as it was written (this
    /// JSON is part of pipeline fingerprints).
    #[test]
    fn transforms_are_written_back_as_written() {
        let written = r#"[{"resize":256},{"resize":[30,40]},{"center_crop":224},{"center_crop":[24,20]},{"normalize":"imagenet"},{"normalize":"half"},{"normalize":{"mean":[0.498039],"std":[0.501961]}}]"#;
        let transforms: Vec<Transform> = serde_json::from_str(written).unwrap();
        assert_eq!(
            transforms,
            [
                Transform::Resize(Resize::ShorterSide(256)),
                Transform::Resize(Resize::Exact {
                    height: 30,
                    width: 40
                }),
                Transform::CenterCrop {
                    height: 224,
                    width: 224
                },
                Transform::CenterCrop {
                    height: 24,
                    width: 20
                },
                Transform::Normalize(Normalize::imagenet()),
                Transform::Normalize(Normalize::half()),
                Transform::Normalize(Normalize {
                    mean: vec![0.498039],
                    std: vec![0.501961]
                }),
            ]
        );
        assert_eq!(serde_json::to_string(&transforms).unwrap(), written);
        let channels: Vec<Channels> = serde_json::from_str(r#"["rgb","gray"]"#).unwrap();
        assert_eq!(channels, [Channels::Rgb, Channels::Gray]);
    }

    /// A square crop written as `[n, n]`, or a preset's values written out, come back in the
    /// short form.
    #[test]
    fn equivalent_spellings_are_written_in_the_short_form() {
        let transforms: Vec<Transform> = serde_json::from_str(
            r#"[{"center_crop":[24,24]},{"normalize":{"mean":[0.5],"std":[0.5]}}]"#,
        )
        .unwrap();
        assert_eq!(
            serde_json::to_string(&transforms).unwrap(),
            r#"[{"center_crop":24},{"normalize":"half"}]"#
        );
    }

    #[test]
    fn bad_values_name_the_written_form() {
        for (json, form) in [
            (r#"{"resize":"big"}"#, "Size"),
            (r#"{"center_crop":[1,2,3]}"#, "Size"),
            (r#"{"resize":5000000000}"#, "Size"),
            (r#"{"normalize":"foo"}"#, "Normalize"),
        ] {
            let error = serde_json::from_str::<Transform>(json).unwrap_err();
            assert!(
                error.to_string().contains(&format!(
                    "did not match any variant of untagged enum {form}"
                )),
                "{json}: {error}"
            );
        }
    }
}
