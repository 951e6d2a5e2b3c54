//! The CNNs' CPU path (`f32`): NHWC feature maps end to end on `nona_kernels`, one transpose at
//! the input and none per layer, convolutions with bias, residual and activation fused into the
//! GEMM, and activation buffers reused from one batch to the next.

use std::sync::{Mutex, PoisonError};

use candle_core::{Device, Tensor};
use nona_kernels::{Activation, Conv2d, Nhwc, Pads, pool};

use super::layers::ConvShape;
use crate::{Error, Result};

/// A batch of NHWC feature maps.
pub(crate) struct FeatureMap {
    values: Vec<f32>,
    shape: Nhwc,
}

impl FeatureMap {
    /// A CPU `f32` NCHW image batch, transposed into a buffer of `arena`.
    pub(crate) fn from_nchw(images: &Tensor, arena: &Arena) -> Result<Self> {
        let (batch, channels, height, width) = images.dims4()?;
        let shape = Nhwc {
            batch,
            height,
            width,
            channels,
        };
        let nchw = images.flatten_all()?.to_vec1::<f32>()?;
        let mut values = arena.take(shape.len());
        pool::nchw_to_nhwc(&nchw, shape, &mut values);
        Ok(Self { values, shape })
    }

    /// Max over 3×3 windows with stride 2 and 1 pixel of padding (the ResNet stem's pooling).
    pub(crate) fn max_pool_3x3_s2(&self, arena: &Arena) -> Result<Self> {
        let pads = Pads::uniform(1);
        let (height, width) = pads
            .output_size(self.shape, 3, 2)
            .ok_or_else(|| too_small(self.shape, 3))?;
        let shape = Nhwc {
            height,
            width,
            ..self.shape
        };
        let mut values = arena.take(shape.len());
        pool::max_pool(&self.values, self.shape, 3, 2, pads, &mut values);
        Ok(Self { values, shape })
    }

    /// The mean over each image's pixels, `(B, C)`.
    pub(crate) fn global_avg_pool(&self) -> Result<Tensor> {
        let Nhwc {
            batch, channels, ..
        } = self.shape;
        let mut pooled = vec![0f32; batch * channels];
        pool::global_avg_pool(&self.values, self.shape, &mut pooled);
        Ok(Tensor::from_vec(pooled, (batch, channels), &Device::Cpu)?)
    }

    /// Gives the buffer back to `arena`.
    pub(crate) fn recycle(self, arena: &Arena) {
        arena.give(self.values);
    }
}

fn too_small(shape: Nhwc, kernel: usize) -> Error {
    Error::BadInput(format!(
        "a {}×{} feature map is smaller than a {kernel}×{kernel} window: the images are too small for this backbone",
        shape.height, shape.width
    ))
}

/// A convolution (BatchNorm folded) on the CPU kernels, with its padding rule.
#[derive(Debug, Clone)]
pub struct NhwcConv {
    conv: Conv2d,
    shape: ConvShape,
}

impl NhwcConv {
    pub(crate) fn new(conv: Conv2d, shape: ConvShape) -> Self {
        Self { conv, shape }
    }

    /// `act(conv(input) + bias + residual)` into a buffer of `arena`.
    pub(crate) fn forward(
        &self,
        input: &FeatureMap,
        residual: Option<&FeatureMap>,
        activation: Activation,
        arena: &Arena,
    ) -> Result<FeatureMap> {
        let pads = self.shape.pads(input.shape.height, input.shape.width);
        let shape = self
            .conv
            .output_shape(input.shape, pads)
            .ok_or_else(|| too_small(input.shape, self.shape.kernel))?;
        if let Some(residual) = residual
            && residual.shape != shape
        {
            return Err(Error::BadInput(format!(
                "a residual of {:?} added to a convolution's output of {shape:?}",
                residual.shape
            )));
        }
        let mut values = arena.take(shape.len());
        self.conv.forward(
            &input.values,
            input.shape,
            pads,
            residual.map(|r| &r.values[..]),
            activation,
            &mut values,
        );
        Ok(FeatureMap { values, shape })
    }
}

/// Activation buffers kept from one batch to the next, so that a network allocates (and the OS
/// zeroes pages) only for its first batch and for larger ones.
#[derive(Default)]
pub(crate) struct Arena(Mutex<Vec<Vec<f32>>>);

impl Arena {
    /// A buffer of `len` values (their content is unspecified).
    fn take(&self, len: usize) -> Vec<f32> {
        let mut buffers = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        // The smallest buffer that is large enough, else the largest one (grown).
        let best = (0..buffers.len())
            .filter(|&i| buffers[i].capacity() >= len)
            .min_by_key(|&i| buffers[i].capacity())
            .or_else(|| (0..buffers.len()).max_by_key(|&i| buffers[i].capacity()));
        let mut buffer = best.map(|i| buffers.swap_remove(i)).unwrap_or_default();
        buffer.resize(len, 0.0);
        buffer
    }

    fn give(&self, buffer: Vec<f32>) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(buffer);
    }
}

/// A copy starts with no buffers.
impl Clone for Arena {
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl std::fmt::Debug for Arena {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let buffers = self.0.lock().unwrap_or_else(PoisonError::into_inner).len();
        write!(f, "Arena({buffers} buffers)")
    }
}
