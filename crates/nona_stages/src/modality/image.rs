//! Images: `[preprocess.image]` (channels and `nona_image` transforms); the probe decodes the
//! header; preparation decodes and transforms each image, then stacks a window into one NCHW
//! batch (the transforms end in one fixed size).

use std::path::Path;
use std::sync::Arc;

use candle_core::Device;
use nona_backbones::BackboneInput;
use nona_image::{Channels, ImageTensor, Preprocessor, Resize, Transform};
use nona_pipeline::config::{ConfigError, Pipeline};
use serde::{Deserialize, Serialize};

use super::{Prepare, Sample, stack_rows};

/// `[preprocess.image]`: how images become backbone input.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ImageOptions {
    /// `rgb` (grayscale replicated to 3 channels) or `gray`.
    #[serde(default)]
    channels: Channels,
    /// Applied in order, e.g. `[{ resize = 256 }, { center_crop = 224 }, { normalize = "imagenet" }]`.
    #[serde(default)]
    transforms: Vec<Transform>,
}

impl ImageOptions {
    /// Whether every image leaves the transforms with the same size (needed for batching).
    fn has_fixed_size(&self) -> bool {
        self.transforms.iter().rev().find_map(|t| match t {
            Transform::Resize(Resize::Exact { .. }) | Transform::CenterCrop { .. } => Some(true),
            Transform::Resize(Resize::ShorterSide(_)) => Some(false),
            Transform::Normalize(_) => None,
        }) == Some(true)
    }
}

/// Checks that the `[preprocess.image]` transforms can be built.
pub(super) fn check_options(
    pipeline: &Pipeline,
    options: &ImageOptions,
    errors: &mut Vec<ConfigError>,
) {
    if let Err(error) = Preprocessor::new(options.channels, options.transforms.clone()) {
        errors.push(pipeline.error_at("preprocess.image.transforms", error.to_string()));
    }
}

/// Checks that an image file's header decodes to a non-empty image.
pub(super) fn probe(path: &Path) -> Result<(), String> {
    let (width, height) = ::image::ImageReader::open(path)
        .and_then(|r| r.with_guessed_format())
        .map_err(|e| format!("cannot open image: {e}"))?
        .into_dimensions()
        .map_err(|e| format!("not a decodable image: {e}"))?;
    if width == 0 || height == 0 {
        return Err(format!("image has zero size ({width}×{height})"));
    }
    Ok(())
}

/// The checked `[preprocess.image]` options.
pub(crate) struct ImageConfig {
    options: ImageOptions,
    preprocessor: Arc<Preprocessor>,
}

impl ImageConfig {
    /// Checks that the transforms make RGB images of one fixed size; `None` (with `errors`
    /// filled) when they cannot be built.
    pub(crate) fn from_pipeline(
        pipeline: &Pipeline,
        options: Option<&ImageOptions>,
        errors: &mut Vec<ConfigError>,
    ) -> Option<Self> {
        let image = options.cloned().unwrap_or_default();
        if image.channels != Channels::Rgb {
            errors.push(pipeline.error_at(
                "preprocess.image.channels",
                "image backbones take RGB input: set channels = \"rgb\"",
            ));
        }
        if !image.has_fixed_size() {
            errors.push(pipeline.error_at(
                "preprocess.image.transforms",
                "images are batched, so the transforms must end in a fixed size: add an exact `resize = [h, w]` or a `center_crop`",
            ));
        }
        match Preprocessor::new(Channels::Rgb, image.transforms.clone()) {
            Ok(preprocessor) => Some(Self {
                options: image,
                preprocessor: Arc::new(preprocessor),
            }),
            Err(error) => {
                errors.push(pipeline.error_at("preprocess.image.transforms", error.to_string()));
                None
            }
        }
    }

    /// The transforms as JSON, for the `nona.preprocess` metadata.
    pub(crate) fn json(&self) -> String {
        serde_json::to_string(&self.options).unwrap_or_default()
    }

    pub(super) fn inputs(&self) -> ImageInputs {
        ImageInputs {
            preprocessor: Arc::clone(&self.preprocessor),
            json: self.json(),
        }
    }
}

/// Decodes and transforms images.
pub(crate) struct ImageInputs {
    preprocessor: Arc<Preprocessor>,
    /// [`ImageConfig::json`].
    json: String,
}

impl ImageInputs {
    pub(super) fn json(&self) -> String {
        self.json.clone()
    }
}

impl Prepare for ImageInputs {
    type Item = ImageTensor;

    fn window(&self, batch_size: usize, _unit_len: usize) -> usize {
        batch_size
    }

    fn prepare(
        &self,
        samples: &[Sample],
        pool: &rayon::ThreadPool,
    ) -> Vec<Result<ImageTensor, String>> {
        let paths: Vec<&str> = samples.iter().map(|s| s.input.as_str()).collect();
        self.preprocessor
            .process_paths(&paths, pool)
            .into_iter()
            .map(|result| result.map_err(|e| e.to_string()))
            .collect()
    }

    /// A window is one batch: the transforms give every image the same size.
    fn batches(&self, items: &[&ImageTensor], _batch_size: usize) -> Vec<Vec<usize>> {
        if items.is_empty() {
            Vec::new()
        } else {
            vec![(0..items.len()).collect()]
        }
    }

    /// Stacks preprocessed images into an NCHW tensor.
    fn input(&self, items: &[&ImageTensor], device: &Device) -> anyhow::Result<BackboneInput> {
        let first = items[0];
        let (c, h, w) = (first.channels, first.height, first.width);
        for tensor in items {
            anyhow::ensure!(
                (tensor.channels, tensor.height, tensor.width) == (c, h, w),
                "images in a batch differ in size ({}×{}×{} vs {c}×{h}×{w})",
                tensor.channels,
                tensor.height,
                tensor.width
            );
        }
        let rows: Vec<&[f32]> = items.iter().map(|t| t.data.as_slice()).collect();
        let images = stack_rows(&rows, &[items.len(), c, h, w], device)?;
        Ok(BackboneInput::Images(images))
    }
}
