//! Scalar references for the tests: the textbook loops, summed in `f64`. Each returns the value
//! and its magnitude `Σ |terms|`, the scale of the `f32` kernels' rounding error (see
//! [`assert_close`]).

use crate::conv::{Nhwc, Pads};
use crate::gemm::Activation;

/// A reference output: values and the magnitude of the terms summed into each.
pub(crate) struct Expected {
    pub(crate) values: Vec<f64>,
    pub(crate) magnitudes: Vec<f64>,
}

/// The activation in `f64`.
fn activate(activation: Activation, x: f64) -> f64 {
    match activation {
        Activation::None => x,
        Activation::Relu => x.max(0.0),
        Activation::Relu6 => x.clamp(0.0, 6.0),
        Activation::Silu => x / (1.0 + (-x).exp()),
    }
}

/// `act(a · b + bias + residual)` for row-major `a` (m × k), `b` (k × n), `residual` (m × n).
pub(crate) fn gemm(
    a: &[f32],
    b: &[f32],
    (m, k, n): (usize, usize, usize),
    bias: Option<&[f32]>,
    residual: Option<&[f32]>,
    activation: Activation,
) -> Expected {
    let mut expected = Expected {
        values: vec![0.0; m * n],
        magnitudes: vec![0.0; m * n],
    };
    for i in 0..m {
        for j in 0..n {
            let (mut sum, mut magnitude) = (0f64, 0f64);
            for p in 0..k {
                let term = f64::from(a[i * k + p]) * f64::from(b[p * n + j]);
                sum += term;
                magnitude += term.abs();
            }
            for extra in [bias.map(|bias| bias[j]), residual.map(|r| r[i * n + j])]
                .into_iter()
                .flatten()
            {
                sum += f64::from(extra);
                magnitude += f64::from(extra).abs();
            }
            expected.values[i * n + j] = activate(activation, sum);
            expected.magnitudes[i * n + j] = magnitude;
        }
    }
    expected
}

/// Direct NHWC convolution (`weight` in PyTorch's OIHW), zero padding, then the epilogue.
#[allow(
    clippy::too_many_arguments,
    reason = "a convolution's full description, for tests"
)]
pub(crate) fn conv2d(
    input: &[f32],
    shape: Nhwc,
    weight: &[f32],
    bias: &[f32],
    (kernel, stride): (usize, usize),
    pads: Pads,
    residual: Option<&[f32]>,
    activation: Activation,
) -> Expected {
    let out_channels = bias.len();
    let (out_height, out_width) = pads.output_size(shape, kernel, stride).unwrap();
    let Nhwc {
        batch,
        height,
        width,
        channels,
    } = shape;
    let len = batch * out_height * out_width * out_channels;
    let mut expected = Expected {
        values: vec![0.0; len],
        magnitudes: vec![0.0; len],
    };
    for b in 0..batch {
        for oy in 0..out_height {
            for ox in 0..out_width {
                for co in 0..out_channels {
                    let at = ((b * out_height + oy) * out_width + ox) * out_channels + co;
                    let (mut sum, mut magnitude) = (f64::from(bias[co]), f64::from(bias[co]).abs());
                    for ky in 0..kernel {
                        for kx in 0..kernel {
                            let iy = (oy * stride + ky) as isize - pads.top as isize;
                            let ix = (ox * stride + kx) as isize - pads.left as isize;
                            if iy < 0 || ix < 0 || iy >= height as isize || ix >= width as isize {
                                continue;
                            }
                            for ci in 0..channels {
                                let x = input[((b * height + iy as usize) * width + ix as usize)
                                    * channels
                                    + ci];
                                let w = weight[((co * channels + ci) * kernel + ky) * kernel + kx];
                                let term = f64::from(x) * f64::from(w);
                                sum += term;
                                magnitude += term.abs();
                            }
                        }
                    }
                    if let Some(residual) = residual {
                        sum += f64::from(residual[at]);
                        magnitude += f64::from(residual[at]).abs();
                    }
                    expected.values[at] = activate(activation, sum);
                    expected.magnitudes[at] = magnitude;
                }
            }
        }
    }
    expected
}

/// Relative tolerance on the magnitude `Σ |terms|` of an output. The kernels sum the terms in
/// `f32` in `k` order (FMA or multiply-add, then bias and residual); every addition rounds by at
/// most `u = 2⁻²⁴ ≈ 6e-8` of a partial sum bounded by the magnitude, so the error is at most
/// `k·u·magnitude` and in practice about `√k·u·magnitude` (independent roundings): below 1e-5
/// for every `k` these tests use (≤ 4608: `√k·u ≈ 4e-6`). The activations are 1-Lipschitz
/// (SiLU at most 1.1), so they do not enlarge it.
pub(crate) const TOLERANCE: f64 = 1e-5;

/// Asserts `|actual − expected| ≤ TOLERANCE · magnitude` (plus 1e-30 for all-zero terms) everywhere.
pub(crate) fn assert_close(actual: &[f32], expected: &Expected, what: &str) {
    assert_eq!(actual.len(), expected.values.len(), "{what}: length");
    for (index, ((&a, &e), &magnitude)) in actual
        .iter()
        .zip(&expected.values)
        .zip(&expected.magnitudes)
        .enumerate()
    {
        let error = (f64::from(a) - e).abs();
        assert!(
            error <= TOLERANCE * magnitude + 1e-30,
            "{what}: element {index} is {a}, expected {e} (error {error:.3e}, magnitude {magnitude:.3e})"
        );
    }
}

/// Deterministic values in `[-1, 1)` (a hash of the index and `seed`).
pub(crate) fn values(len: usize, seed: u64) -> Vec<f32> {
    (0..len as u64)
        .map(|i| {
            let mut x = (i ^ seed.rotate_left(32))
                .wrapping_add(seed)
                .wrapping_mul(0x9E37_79B9_7F4A_7C15);
            x ^= x >> 29;
            x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
            x ^= x >> 32;
            (x >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        })
        .collect()
}
