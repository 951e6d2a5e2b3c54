//! A direct depthwise convolution for CPU tensors (candle lowers `groups = channels` convolutions to
//! one tiny matmul per channel, ~20× slower). One rayon task per (image, channel) plane; for each
//! output row and kernel tap, a contiguous multiply-add over the row that the compiler vectorises.

use candle_core::{CpuStorage, CustomOp1, Layout, Shape, Tensor};
pub use nona_kernels::Pads;
use rayon::prelude::*;

use crate::Result;

/// Depthwise weights (`C × k × k`, BatchNorm folded) and bias, kept on the host.
#[derive(Debug, Clone)]
pub struct DepthwiseKernel {
    weight: Vec<f32>,
    bias: Vec<f32>,
    kernel: usize,
    stride: usize,
}

impl DepthwiseKernel {
    /// From a `(C, 1, k, k)` weight and a `(C)` bias.
    pub fn new(weight: &Tensor, bias: &Tensor, stride: usize) -> Result<Self> {
        let (_, _, kernel, _) = weight.dims4()?;
        Ok(Self {
            weight: weight.flatten_all()?.to_vec1()?,
            bias: bias.flatten_all()?.to_vec1()?,
            kernel,
            stride,
        })
    }

    /// Convolves a CPU `f32` NCHW batch.
    pub fn forward(&self, x: &Tensor, pads: Pads) -> Result<Tensor> {
        Ok(x.contiguous()?
            .apply_op1_no_bwd(&DepthwiseCall { kernel: self, pads })?)
    }
}

struct DepthwiseCall<'a> {
    kernel: &'a DepthwiseKernel,
    pads: Pads,
}

impl CustomOp1 for DepthwiseCall<'_> {
    fn name(&self) -> &'static str {
        "depthwise-conv2d"
    }

    fn cpu_fwd(
        &self,
        storage: &CpuStorage,
        layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let CpuStorage::F32(data) = storage else {
            candle_core::bail!("depthwise-conv2d: f32 input only")
        };
        let Some((start, end)) = layout.contiguous_offsets() else {
            candle_core::bail!("depthwise-conv2d: contiguous input only")
        };
        let input = &data[start..end];
        let (batch, channels, height, width) = layout.shape().dims4()?;
        let DepthwiseKernel {
            weight,
            bias,
            kernel: k,
            stride: s,
        } = self.kernel;
        let (k, s, pads) = (*k, *s, self.pads);
        if channels != bias.len() {
            candle_core::bail!(
                "depthwise-conv2d: {channels} channels for a {}-channel kernel",
                bias.len()
            )
        }
        let (padded_h, padded_w) = (
            height + pads.top + pads.bottom,
            width + pads.left + pads.right,
        );
        if padded_h < k || padded_w < k {
            candle_core::bail!(
                "depthwise-conv2d: a {height}×{width} map, padded to {padded_h}×{padded_w}, is smaller than the {k}×{k} kernel"
            )
        }
        let out_h = (padded_h - k) / s + 1;
        let out_w = (padded_w - k) / s + 1;
        // Output columns `ox` whose input column `ox * s + kx - left` lies inside the image.
        let columns: Vec<(usize, usize)> = (0..k)
            .map(|kx| {
                let first = pads.left.saturating_sub(kx).div_ceil(s);
                let last = (width + pads.left)
                    .checked_sub(kx + 1)
                    .map_or(0, |max_ix| max_ix / s + 1);
                (first.min(out_w), last.min(out_w).max(first.min(out_w)))
            })
            .collect();
        let mut output = vec![0f32; batch * channels * out_h * out_w];
        output
            .par_chunks_mut(out_h * out_w)
            .enumerate()
            .for_each(|(plane, out)| {
                let c = plane % channels;
                let image = &input[plane * height * width..(plane + 1) * height * width];
                let taps = &weight[c * k * k..(c + 1) * k * k];
                out.fill(bias[c]);
                for (oy, out_row) in out.chunks_exact_mut(out_w).enumerate() {
                    for ky in 0..k {
                        let Some(iy) = (oy * s + ky)
                            .checked_sub(pads.top)
                            .filter(|&iy| iy < height)
                        else {
                            continue;
                        };
                        let in_row = &image[iy * width..(iy + 1) * width];
                        for (kx, &(first, last)) in columns.iter().enumerate() {
                            if first == last {
                                // This tap meets no input column (a map narrower than the kernel).
                                continue;
                            }
                            let tap = taps[ky * k + kx];
                            let in_start = first * s + kx - pads.left;
                            if s == 1 {
                                let source = &in_row[in_start..in_start + (last - first)];
                                for (o, &i) in out_row[first..last].iter_mut().zip(source) {
                                    *o += tap * i;
                                }
                            } else {
                                for (o, &i) in out_row[first..last]
                                    .iter_mut()
                                    .zip(in_row[in_start..].iter().step_by(s))
                                {
                                    *o += tap * i;
                                }
                            }
                        }
                    }
                }
            });
        Ok((
            CpuStorage::F32(output),
            Shape::from((batch, channels, out_h, out_w)),
        ))
    }
}

#[cfg(test)]
mod tests {
    use candle_core::{Device, Tensor};
    use nona_testkit::Gap;

    use super::{DepthwiseKernel, Pads};

    /// Matches candle's grouped `conv2d` on asymmetric padding, both strides and odd sizes.
    #[test]
    fn matches_grouped_conv2d() {
        let device = Device::Cpu;
        for (kernel, stride, size, pads) in [
            (3, 1, 9, (1, 1, 1, 1)),
            (5, 2, 11, (1, 2, 1, 2)),
            (3, 2, 8, (0, 1, 0, 1)),
            // Maps smaller than the kernel (late stages of small images): some taps see no
            // input column at all.
            (5, 2, 2, (1, 2, 1, 2)),
            (5, 1, 1, (2, 2, 2, 2)),
            (3, 2, 1, (1, 1, 1, 1)),
        ] {
            let (top, bottom, left, right) = pads;
            let x = Tensor::randn(0f32, 1f32, (2, 4, size, size), &device).unwrap();
            let weight = Tensor::randn(0f32, 1f32, (4, 1, kernel, kernel), &device).unwrap();
            let bias = Tensor::randn(0f32, 1f32, 4, &device).unwrap();
            let direct = DepthwiseKernel::new(&weight, &bias, stride).unwrap();
            let actual = direct
                .forward(
                    &x,
                    Pads {
                        top,
                        bottom,
                        left,
                        right,
                    },
                )
                .unwrap();
            let padded = x
                .pad_with_zeros(2, top, bottom)
                .unwrap()
                .pad_with_zeros(3, left, right)
                .unwrap();
            let expected = padded
                .conv2d(&weight, 0, stride, 1, 4)
                .unwrap()
                .broadcast_add(&bias.reshape((1, 4, 1, 1)).unwrap())
                .unwrap();
            let gap = Gap::of_tensors(&actual, &expected);
            assert!(gap.max_abs < 1e-5, "kernel {kernel} stride {stride}: {gap}");
        }
    }
}
