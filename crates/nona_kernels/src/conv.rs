//! NHWC convolution (groups = 1) on the packed GEMM: the output `[batch·oh·ow, out_channels]` is
//! `patches · W`, where row `(b, oy, ox)` of `patches` is the input window under the kernel, read
//! in `(ky, kx, channel)` order. A 1×1 stride-1 convolution reads the input itself as `patches`;
//! any other one gathers the patch rows of each tile's block of `k` into a small buffer that stays
//! in cache (im2col by row tiles, never the whole patch matrix). Bias, residual and activation
//! are fused into the GEMM's epilogue.

use std::ops::Range;

use crate::gemm::{self, Activation, Epilogue, PackedB, RowBlock, RowSource};

/// The shape of an NHWC tensor (`[batch, height, width, channels]`, channels contiguous).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Nhwc {
    /// Images.
    pub batch: usize,
    /// Rows.
    pub height: usize,
    /// Columns.
    pub width: usize,
    /// Channels.
    pub channels: usize,
}

impl Nhwc {
    /// Number of values.
    pub fn len(&self) -> usize {
        self.pixels() * self.channels
    }

    /// Whether the tensor holds no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of pixels over the batch (`batch · height · width`).
    pub fn pixels(&self) -> usize {
        self.batch * self.height * self.width
    }
}

/// Zero padding on each side (TensorFlow "SAME" pads may differ before and after).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pads {
    /// Rows above.
    pub top: usize,
    /// Rows below.
    pub bottom: usize,
    /// Columns left.
    pub left: usize,
    /// Columns right.
    pub right: usize,
}

impl Pads {
    /// `p` on every side (PyTorch's `padding = p`).
    pub fn uniform(p: usize) -> Self {
        Self {
            top: p,
            bottom: p,
            left: p,
            right: p,
        }
    }

    /// The output size of a `kernel × kernel` window moved by `stride` over `shape`'s padded
    /// height and width; `None` when the padded input is smaller than the window.
    pub fn output_size(&self, shape: Nhwc, kernel: usize, stride: usize) -> Option<(usize, usize)> {
        let height = (shape.height + self.top + self.bottom).checked_sub(kernel)?;
        let width = (shape.width + self.left + self.right).checked_sub(kernel)?;
        Some((height / stride + 1, width / stride + 1))
    }
}

/// A convolution with its weights packed for the GEMM at construction.
#[derive(Debug, Clone)]
pub struct Conv2d {
    weights: PackedB,
    bias: Vec<f32>,
    in_channels: usize,
    kernel: usize,
    stride: usize,
}

impl Conv2d {
    /// From PyTorch's `(out, in, kernel, kernel)` weight and one bias per output channel.
    pub fn from_oihw(
        weight: &[f32],
        bias: Vec<f32>,
        in_channels: usize,
        kernel: usize,
        stride: usize,
    ) -> Self {
        let out_channels = bias.len();
        assert_eq!(
            weight.len(),
            out_channels * in_channels * kernel * kernel,
            "conv2d: {} weights for {out_channels} × {in_channels} × {kernel} × {kernel}",
            weight.len()
        );
        assert!(
            stride > 0 && kernel > 0,
            "conv2d: kernel {kernel} and stride {stride} must be positive"
        );
        // Patch column `kk = (ky · kernel + kx) · in_channels + ci` (NHWC window order).
        let weights = PackedB::from_fn(kernel * kernel * in_channels, out_channels, |kk, co| {
            let (tap, ci) = (kk / in_channels, kk % in_channels);
            weight[(co * in_channels + ci) * kernel * kernel + tap]
        });
        Self {
            weights,
            bias,
            in_channels,
            kernel,
            stride,
        }
    }

    /// Output channels.
    pub fn out_channels(&self) -> usize {
        self.bias.len()
    }

    /// The output shape on `input` with `pads`; `None` when the padded input is smaller than the
    /// kernel.
    pub fn output_shape(&self, input: Nhwc, pads: Pads) -> Option<Nhwc> {
        let (height, width) = pads.output_size(input, self.kernel, self.stride)?;
        Some(Nhwc {
            batch: input.batch,
            height,
            width,
            channels: self.out_channels(),
        })
    }

    /// `output = act(conv(input) + bias + residual)`; `residual` and `output` have the output shape.
    pub fn forward(
        &self,
        input: &[f32],
        shape: Nhwc,
        pads: Pads,
        residual: Option<&[f32]>,
        activation: Activation,
        output: &mut [f32],
    ) {
        assert_eq!(
            shape.channels, self.in_channels,
            "conv2d: {} input channels, expected {}",
            shape.channels, self.in_channels
        );
        assert_eq!(
            input.len(),
            shape.len(),
            "conv2d: {} values for an input of {shape:?}",
            input.len()
        );
        let Some(out) = self.output_shape(shape, pads) else {
            panic!(
                "conv2d: input {shape:?} padded by {pads:?} is smaller than the {0}×{0} kernel",
                self.kernel
            )
        };
        let epilogue = Epilogue {
            bias: Some(&self.bias),
            residual,
            activation,
        };
        let kernel = gemm::selected_kernel();
        if self.kernel == 1 && self.stride == 1 && pads == Pads::default() {
            gemm::gemm_rows(
                kernel,
                &gemm::Dense {
                    data: input,
                    k: shape.channels,
                },
                out.pixels(),
                &self.weights,
                &epilogue,
                output,
            );
        } else {
            let patches = Patches {
                input,
                shape,
                out,
                kernel: self.kernel,
                stride: self.stride,
                pads,
            };
            gemm::gemm_rows(
                kernel,
                &patches,
                out.pixels(),
                &self.weights,
                &epilogue,
                output,
            );
        }
    }
}

/// The im2col matrix of a convolution, gathered block by block.
struct Patches<'a> {
    input: &'a [f32],
    shape: Nhwc,
    out: Nhwc,
    kernel: usize,
    stride: usize,
    pads: Pads,
}

impl RowSource for Patches<'_> {
    fn block<'a>(
        &'a self,
        rows: Range<usize>,
        ks: Range<usize>,
        scratch: &'a mut Vec<f32>,
    ) -> RowBlock<'a> {
        let kc = ks.len();
        let len = rows.len() * kc;
        if scratch.len() < len {
            scratch.resize(len, 0.0);
        }
        for (row, patch) in rows.zip(scratch.chunks_exact_mut(kc)) {
            self.gather(row, ks.clone(), patch);
        }
        RowBlock {
            data: &scratch[..len],
            stride: kc,
        }
    }
}

impl Patches<'_> {
    /// Columns `ks` of patch row `row` into `patch`: each kernel row's window is one contiguous
    /// run of the input (`kernel · channels` values), zero where it leaves the image.
    fn gather(&self, row: usize, ks: Range<usize>, patch: &mut [f32]) {
        let Nhwc {
            height,
            width,
            channels,
            ..
        } = self.shape;
        let (image, oy, ox) = (
            row / (self.out.height * self.out.width),
            (row / self.out.width) % self.out.height,
            row % self.out.width,
        );
        let span = self.kernel * channels;
        // Window origin in input pixels (negative inside the padding).
        let iy0 = (oy * self.stride) as isize - self.pads.top as isize;
        let ix0 = (ox * self.stride) as isize - self.pads.left as isize;
        // Offsets within a kernel row whose pixel lies inside the image.
        let inside_start = ((-ix0).max(0) as usize * channels).min(span);
        let inside_end = ((width as isize - ix0).max(0) as usize * channels).min(span);
        for ky in ks.start / span..=(ks.end - 1) / span {
            let (start, end) = (
                ks.start.max(ky * span) - ky * span,
                ks.end.min((ky + 1) * span) - ky * span,
            );
            let dst = &mut patch[ky * span + start - ks.start..ky * span + end - ks.start];
            let iy = iy0 + ky as isize;
            if iy < 0 || iy >= height as isize {
                dst.fill(0.0);
                continue;
            }
            let copy_start = start.max(inside_start).min(end);
            let copy_end = end.min(inside_end).max(copy_start);
            dst[..copy_start - start].fill(0.0);
            dst[copy_end - start..].fill(0.0);
            if copy_end > copy_start {
                let row_start =
                    ((image * height + iy as usize) * width) as isize * channels as isize;
                let source = (row_start + ix0 * channels as isize + copy_start as isize) as usize;
                dst[copy_start - start..copy_end - start]
                    .copy_from_slice(&self.input[source..source + copy_end - copy_start]);
            }
        }
    }
}

#[cfg(test)]
mod tests;
