//! The float output handed to the embedding stage.

use crate::transform::Normalize;

/// A preprocessed image: `f32` values in CHW order (`data[c * height * width + y * width + x]`).
#[derive(Clone, Debug, PartialEq)]
pub struct ImageTensor {
    /// Number of channels (3 for [`crate::Channels::Rgb`], 1 for [`crate::Channels::Gray`]).
    pub channels: usize,
    /// Height in pixels.
    pub height: usize,
    /// Width in pixels.
    pub width: usize,
    /// `channels * height * width` values, channel-planar.
    pub data: Vec<f32>,
}

impl ImageTensor {
    /// Applies `(x - mean[c]) / std[c]` in `f32`, as torchvision's `Normalize` does.
    ///
    /// # Panics
    /// If `normalize` has more than one value but fewer than `channels`
    /// ([`crate::Preprocessor::new`] validates this).
    pub fn normalize(&mut self, normalize: &Normalize) {
        let plane_len = self.height * self.width;
        if plane_len == 0 {
            return;
        }
        for (channel, plane) in self.data.chunks_exact_mut(plane_len).enumerate() {
            let (mean, std) = normalize.for_channel(channel);
            for value in plane {
                *value = (*value - mean) / std;
            }
        }
    }
}
