//! Images: decode → `[preprocess.image]` transforms → NCHW batches of one size.

use std::sync::Arc;

use candle_core::Device;
use nona_backbones::BackboneInput;
use nona_image::{ImageTensor, Preprocessor};
use nona_pipeline::config::{ConfigError, Pipeline};

use super::{Prepare, Sample, stack_rows};
use crate::preprocess::{ImageOptions, PreprocessConfig};

/// The checked `[preprocess.image]` options.
pub(super) struct ImageConfig {
    options: ImageOptions,
    preprocessor: Arc<Preprocessor>,
}

impl ImageConfig {
    /// Checks that the transforms make RGB images of one fixed size; `None` (with `errors`
    /// filled) when they cannot be built.
    pub(super) fn from_pipeline(
        pipeline: &Pipeline,
        preprocess: &PreprocessConfig,
        errors: &mut Vec<ConfigError>,
    ) -> Option<Self> {
        let image = preprocess.image.clone().unwrap_or_default();
        if image.channels != nona_image::Channels::Rgb {
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
        match Preprocessor::new(nona_image::Channels::Rgb, image.transforms.clone()) {
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
    pub(super) fn json(&self) -> String {
        serde_json::to_string(&self.options).unwrap_or_default()
    }

    pub(super) fn inputs(&self) -> ImageInputs {
        ImageInputs {
            preprocessor: Arc::clone(&self.preprocessor),
        }
    }
}

/// Decodes and transforms images.
pub(super) struct ImageInputs {
    preprocessor: Arc<Preprocessor>,
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
