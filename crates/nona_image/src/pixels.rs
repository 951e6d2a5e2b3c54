//! Decoded integer pixels in channel-planar (CHW) layout, and the geometric transforms on them.

use serde::{Deserialize, Serialize};

use crate::resize::{Sample, resize_plane};
use crate::tensor::ImageTensor;

/// Output colour layout; written `rgb` (the default) or `gray` in configuration files.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Channels {
    /// Three channels R, G, B, like PIL's `.convert("RGB")`: grayscale is replicated and alpha
    /// is dropped (not composited onto a background).
    #[default]
    Rgb,
    /// One luminance channel, like PIL's `.convert("L")`: colour becomes
    /// `(R*19595 + G*38470 + B*7471 + 0x8000) >> 16` (ITU-R 601-2 weights) and alpha is dropped.
    Gray,
}

impl Channels {
    /// Number of channels in the output.
    pub fn count(self) -> usize {
        match self {
            Self::Rgb => 3,
            Self::Gray => 1,
        }
    }
}

/// Integer samples, channel-planar: all of channel 0 row by row, then channel 1, ...
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Samples {
    /// 8-bit samples (also used for 1/2/4-bit images, which decoders expand to 8 bits).
    U8(Vec<u8>),
    /// 16-bit samples, kept at full precision (PNG and TIFF).
    U16(Vec<u16>),
}

/// A decoded image before conversion to floats.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pixels {
    channels: usize,
    height: usize,
    width: usize,
    samples: Samples,
}

impl Pixels {
    /// Wraps planar samples.
    ///
    /// # Panics
    /// If any dimension is zero or the sample count is not `channels * height * width`.
    pub fn new(channels: usize, height: usize, width: usize, samples: Samples) -> Self {
        assert!(
            channels > 0 && height > 0 && width > 0,
            "pixels need a non-zero shape"
        );
        let len = match &samples {
            Samples::U8(v) => v.len(),
            Samples::U16(v) => v.len(),
        };
        assert_eq!(
            len,
            channels * height * width,
            "sample count does not match the shape"
        );
        Self {
            channels,
            height,
            width,
            samples,
        }
    }

    /// Number of channels (1 or 3 after decoding).
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Height in pixels.
    pub fn height(&self) -> usize {
        self.height
    }

    /// Width in pixels.
    pub fn width(&self) -> usize {
        self.width
    }

    /// The samples, channel-planar.
    pub fn samples(&self) -> &Samples {
        &self.samples
    }

    /// Bilinear antialiased resize to `height x width`, bit-compatible with PIL's
    /// `Image.resize((width, height), Image.BILINEAR)` (8-bit: modes L/RGB; 16-bit: mode I;16).
    ///
    /// # Panics
    /// If `height` or `width` is zero.
    pub fn resize(&self, height: usize, width: usize) -> Self {
        assert!(
            height > 0 && width > 0,
            "resize target must be at least 1x1"
        );
        let samples = match &self.samples {
            Samples::U8(v) => Samples::U8(self.map_planes(v, height, width, resize_plane)),
            Samples::U16(v) => Samples::U16(self.map_planes(v, height, width, resize_plane)),
        };
        Self {
            channels: self.channels,
            height,
            width,
            samples,
        }
    }

    /// torchvision `CenterCrop((height, width))`: the offset is `round((size - crop) / 2)` with
    /// half-to-even rounding; a side shorter than the crop is zero-padded, with the extra odd
    /// pixel of padding after the image.
    ///
    /// # Panics
    /// If `height` or `width` is zero.
    pub fn center_crop(&self, height: usize, width: usize) -> Self {
        assert!(height > 0 && width > 0, "crop size must be at least 1x1");
        let samples = match &self.samples {
            Samples::U8(v) => Samples::U8(self.map_planes(v, height, width, crop_plane)),
            Samples::U16(v) => Samples::U16(self.map_planes(v, height, width, crop_plane)),
        };
        Self {
            channels: self.channels,
            height,
            width,
            samples,
        }
    }

    /// ToTensor: samples divided by the bit depth's maximum (255 or 65535) as `f32`, CHW.
    pub fn to_tensor(&self) -> ImageTensor {
        let data = match &self.samples {
            Samples::U8(v) => v.iter().map(|&s| f32::from(s) / 255.0).collect(),
            Samples::U16(v) => v.iter().map(|&s| f32::from(s) / 65535.0).collect(),
        };
        ImageTensor {
            channels: self.channels,
            height: self.height,
            width: self.width,
            data,
        }
    }

    fn map_planes<S: Sample>(
        &self,
        samples: &[S],
        height: usize,
        width: usize,
        op: impl Fn(&[S], (usize, usize), (usize, usize)) -> Vec<S>,
    ) -> Vec<S> {
        let plane_len = self.height * self.width;
        let mut out = Vec::with_capacity(self.channels * height * width);
        for plane in samples.chunks_exact(plane_len) {
            out.extend(op(plane, (self.height, self.width), (height, width)));
        }
        out
    }
}

/// Where a center crop reads and writes along one axis: `(source start, target start, length)`.
fn crop_axis(size: usize, crop: usize) -> (usize, usize, usize) {
    if crop > size {
        return (0, (crop - size) / 2, size);
    }
    // round((size - crop) / 2) with Python's half-to-even rounding.
    let excess = size - crop;
    let half = excess / 2;
    let offset = if excess % 2 == 1 && half % 2 == 1 {
        half + 1
    } else {
        half
    };
    (offset, 0, crop)
}

fn crop_plane<S: Copy + Default>(
    plane: &[S],
    (height, width): (usize, usize),
    (crop_height, crop_width): (usize, usize),
) -> Vec<S> {
    let (src_y, dst_y, rows) = crop_axis(height, crop_height);
    let (src_x, dst_x, cols) = crop_axis(width, crop_width);
    let mut out = vec![S::default(); crop_height * crop_width];
    for row in 0..rows {
        let src = (src_y + row) * width + src_x;
        let dst = (dst_y + row) * crop_width + dst_x;
        out[dst..dst + cols].copy_from_slice(&plane[src..src + cols]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crop_offsets_round_half_to_even() {
        assert_eq!(crop_axis(10, 9), (0, 0, 9)); // 0.5 -> 0
        assert_eq!(crop_axis(10, 7), (2, 0, 7)); // 1.5 -> 2
        assert_eq!(crop_axis(10, 5), (2, 0, 5)); // 2.5 -> 2
        assert_eq!(crop_axis(10, 3), (4, 0, 3)); // 3.5 -> 4
        assert_eq!(crop_axis(10, 6), (2, 0, 6));
    }

    #[test]
    fn larger_crop_pads_extra_pixel_after() {
        assert_eq!(crop_axis(4, 7), (0, 1, 4));
        let pixels = Pixels::new(1, 1, 2, Samples::U8(vec![5, 6]));
        let cropped = pixels.center_crop(2, 5);
        assert_eq!(
            cropped.samples(),
            &Samples::U8(vec![0, 5, 6, 0, 0, 0, 0, 0, 0, 0])
        );
    }
}
