//! Pooling and the input transpose against plain loops.

use super::*;
use crate::reference::{Expected, assert_close, values};

#[test]
fn transposes_nchw_to_nhwc() {
    let shape = Nhwc {
        batch: 2,
        height: 3,
        width: 5,
        channels: 3,
    };
    let input = values(shape.len(), 1);
    let mut output = vec![f32::NAN; shape.len()];
    nchw_to_nhwc(&input, shape, &mut output);
    for b in 0..2 {
        for c in 0..3 {
            for y in 0..3 {
                for x in 0..5 {
                    assert_eq!(
                        output[((b * 3 + y) * 5 + x) * 3 + c],
                        input[((b * 3 + c) * 3 + y) * 5 + x]
                    );
                }
            }
        }
    }
}

/// Max over each window's pixels inside the image (exact: no rounding).
fn max_pool_reference(
    input: &[f32],
    shape: Nhwc,
    kernel: usize,
    stride: usize,
    pads: Pads,
) -> Vec<f32> {
    let (out_height, out_width) = pads.output_size(shape, kernel, stride).unwrap();
    let Nhwc {
        batch,
        height,
        width,
        channels,
    } = shape;
    let mut output = Vec::new();
    for b in 0..batch {
        for oy in 0..out_height {
            for ox in 0..out_width {
                for c in 0..channels {
                    let mut max = f32::NEG_INFINITY;
                    for ky in 0..kernel {
                        for kx in 0..kernel {
                            let iy = (oy * stride + ky) as isize - pads.top as isize;
                            let ix = (ox * stride + kx) as isize - pads.left as isize;
                            if (0..height as isize).contains(&iy)
                                && (0..width as isize).contains(&ix)
                            {
                                max = max.max(
                                    input[((b * height + iy as usize) * width + ix as usize)
                                        * channels
                                        + c],
                                );
                            }
                        }
                    }
                    output.push(max);
                }
            }
        }
    }
    output
}

#[test]
fn max_pool_matches_the_window_loops() {
    for (batch, height, width, channels, pads) in [
        (1, 1, 1, 3, Pads::uniform(1)),
        (2, 7, 9, 5, Pads::uniform(1)),
        (1, 13, 11, 67, Pads::uniform(1)),
        (
            1,
            6,
            6,
            64,
            Pads {
                top: 0,
                bottom: 1,
                left: 1,
                right: 0,
            },
        ),
    ] {
        let shape = Nhwc {
            batch,
            height,
            width,
            channels,
        };
        let input = values(shape.len(), 2);
        let (out_height, out_width) = pads.output_size(shape, 3, 2).unwrap();
        let mut output = vec![f32::NAN; batch * out_height * out_width * channels];
        max_pool(&input, shape, 3, 2, pads, &mut output);
        assert_eq!(
            output,
            max_pool_reference(&input, shape, 3, 2, pads),
            "{shape:?}"
        );
    }
}

#[test]
fn global_avg_pool_matches_the_mean() {
    for (batch, height, width, channels) in [(1, 1, 1, 1280), (3, 7, 5, 13), (2, 7, 7, 512)] {
        let shape = Nhwc {
            batch,
            height,
            width,
            channels,
        };
        let input = values(shape.len(), 3);
        let mut output = vec![f32::NAN; batch * channels];
        global_avg_pool(&input, shape, &mut output);
        let pixels = height * width;
        let mut expected = Expected {
            values: vec![0.0; batch * channels],
            magnitudes: vec![0.0; batch * channels],
        };
        for (i, &v) in input.iter().enumerate() {
            let at = i / (pixels * channels) * channels + i % channels;
            expected.values[at] += f64::from(v) / pixels as f64;
            expected.magnitudes[at] += f64::from(v).abs() / pixels as f64;
        }
        assert_close(&output, &expected, &format!("{shape:?}"));
    }
}
