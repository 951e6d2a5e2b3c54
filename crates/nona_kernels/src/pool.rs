//! NHWC pooling and layout: max-pooling (the ResNet stem's 3×3/2), global average pooling, and the
//! one NCHW → NHWC transpose at a network's input. Loops over contiguous channels, which the
//! compiler vectorises; rayon over output rows or images on the caller's pool.

use rayon::prelude::*;

use crate::conv::{Nhwc, Pads};

/// `output[b, y, x, c] = input[b, c, y, x]` for an NCHW `input` of `shape` (given in NHWC terms).
pub fn nchw_to_nhwc(input: &[f32], shape: Nhwc, output: &mut [f32]) {
    assert_eq!(
        input.len(),
        shape.len(),
        "nchw_to_nhwc: {} values for {shape:?}",
        input.len()
    );
    assert_eq!(
        output.len(),
        shape.len(),
        "nchw_to_nhwc: output of {} values for {shape:?}",
        output.len()
    );
    let Nhwc {
        height,
        width,
        channels,
        ..
    } = shape;
    let plane = height * width;
    if plane == 0 || channels == 0 {
        return;
    }
    output
        .par_chunks_mut(width * channels)
        .enumerate()
        .for_each(|(image_row, out)| {
            let (image, y) = (image_row / height, image_row % height);
            for (c, plane_values) in input[image * channels * plane..(image + 1) * channels * plane]
                .chunks_exact(plane)
                .enumerate()
            {
                for (x, &value) in plane_values[y * width..(y + 1) * width].iter().enumerate() {
                    out[x * channels + c] = value;
                }
            }
        });
}

/// Max over `kernel × kernel` windows moved by `stride`; padding is ignored (as `-∞`, PyTorch's
/// rule). `output` has the shape [`Pads::output_size`] gives.
pub fn max_pool(
    input: &[f32],
    shape: Nhwc,
    kernel: usize,
    stride: usize,
    pads: Pads,
    output: &mut [f32],
) {
    assert_eq!(
        input.len(),
        shape.len(),
        "max_pool: {} values for {shape:?}",
        input.len()
    );
    let Some((out_height, out_width)) = pads.output_size(shape, kernel, stride) else {
        panic!(
            "max_pool: input {shape:?} padded by {pads:?} is smaller than the {kernel}×{kernel} window"
        )
    };
    let Nhwc {
        batch,
        height,
        width,
        channels,
    } = shape;
    assert_eq!(
        output.len(),
        batch * out_height * out_width * channels,
        "max_pool: wrong output length"
    );
    if output.is_empty() {
        return;
    }
    output
        .par_chunks_mut(out_width * channels)
        .enumerate()
        .for_each(|(out_row, out)| {
            let (image, oy) = (out_row / out_height, out_row % out_height);
            out.fill(f32::NEG_INFINITY);
            let rows = window(oy, stride, pads.top, kernel, height);
            for (ox, pixel) in out.chunks_exact_mut(channels).enumerate() {
                for iy in rows.clone() {
                    for ix in window(ox, stride, pads.left, kernel, width) {
                        let start = ((image * height + iy) * width + ix) * channels;
                        for (o, &v) in pixel.iter_mut().zip(&input[start..start + channels]) {
                            // A select, not a conditional store: it vectorises to `maxps`.
                            *o = if v > *o { v } else { *o };
                        }
                    }
                }
            }
        });
}

/// The input indices under window `o` (of `kernel`, moved by `stride`, after `pad`) inside `0..size`.
fn window(
    o: usize,
    stride: usize,
    pad: usize,
    kernel: usize,
    size: usize,
) -> std::ops::Range<usize> {
    let start = (o * stride).saturating_sub(pad);
    let end = (o * stride + kernel).saturating_sub(pad).min(size);
    start..end.max(start)
}

/// Mean over each image's pixels: `output[b, c]` (`batch × channels`).
pub fn global_avg_pool(input: &[f32], shape: Nhwc, output: &mut [f32]) {
    assert_eq!(
        input.len(),
        shape.len(),
        "global_avg_pool: {} values for {shape:?}",
        input.len()
    );
    let Nhwc {
        batch,
        height,
        width,
        channels,
    } = shape;
    assert_eq!(
        output.len(),
        batch * channels,
        "global_avg_pool: wrong output length"
    );
    let pixels = height * width;
    if channels == 0 {
        return;
    }
    output
        .par_chunks_mut(channels)
        .enumerate()
        .for_each(|(image, out)| {
            out.fill(0.0);
            for pixel in input[image * pixels * channels..(image + 1) * pixels * channels]
                .chunks_exact(channels)
            {
                out.iter_mut().zip(pixel).for_each(|(o, v)| *o += v);
            }
            out.iter_mut().for_each(|o| *o /= pixels as f32);
        });
}

#[cfg(test)]
mod tests;
