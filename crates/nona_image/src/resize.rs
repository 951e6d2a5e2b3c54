//! Bilinear resize with antialiasing, reproducing Pillow's `Resample.c` arithmetic.
//!
//! Pillow resizes in two separable passes (order: see [`vertical_first`]), each pass rounding
//! back to the sample type. Taps use a triangle filter whose support grows with the downscale factor. The
//! 8-bit path quantises the weights to 22-bit fixed point; the 16-bit (mode `I;16`) path keeps
//! `f64` weights and rounds half away from zero. Summation order follows Pillow so that the
//! floating-point path matches bit for bit.

/// Integer sample types that can be resampled.
pub(crate) trait Sample: Copy + Default {
    /// Weight representation used in the inner loop.
    type Weight: Copy;
    /// Running sum representation.
    type Acc: Copy;
    /// Converts normalised `f64` weights to this path's representation.
    fn quantize(weight: f64) -> Self::Weight;
    /// Initial value of a sum (includes the rounding bias of the fixed-point path).
    fn start() -> Self::Acc;
    /// Adds `self * weight` to the sum.
    fn accumulate(self, acc: Self::Acc, weight: Self::Weight) -> Self::Acc;
    /// Rounds and clamps a finished sum back to a sample.
    fn finish(acc: Self::Acc) -> Self;
}

const PRECISION_BITS: u32 = 22;

impl Sample for u8 {
    type Weight = i64;
    type Acc = i64;

    fn quantize(weight: f64) -> i64 {
        let scaled = weight * f64::from(1u32 << PRECISION_BITS);
        // Round half away from zero, then truncate (as Pillow's normalize_coeffs_8bpc does).
        if weight < 0.0 {
            (scaled - 0.5) as i64
        } else {
            (scaled + 0.5) as i64
        }
    }

    fn start() -> i64 {
        1 << (PRECISION_BITS - 1)
    }

    fn accumulate(self, acc: i64, weight: i64) -> i64 {
        acc + i64::from(self) * weight
    }

    fn finish(acc: i64) -> u8 {
        (acc >> PRECISION_BITS).clamp(0, 255) as u8
    }
}

impl Sample for u16 {
    type Weight = f64;
    type Acc = f64;

    fn quantize(weight: f64) -> f64 {
        weight
    }

    fn start() -> f64 {
        0.0
    }

    fn accumulate(self, acc: f64, weight: f64) -> f64 {
        acc + f64::from(self) * weight
    }

    fn finish(acc: f64) -> u16 {
        let rounded = if acc >= 0.0 {
            (acc + 0.5) as i64
        } else {
            (acc - 0.5) as i64
        };
        rounded.clamp(0, i64::from(u16::MAX)) as u16
    }
}

/// Filter taps for every output position along one axis.
struct Taps<W> {
    /// First input index read by each output position.
    starts: Vec<usize>,
    /// Number of input samples read by each output position.
    lens: Vec<usize>,
    /// `stride` weights per output position (only the first `lens[i]` are used).
    weights: Vec<W>,
    stride: usize,
}

impl<W: Copy> Taps<W> {
    fn for_output(&self, index: usize) -> (usize, &[W]) {
        let offset = index * self.stride;
        (
            self.starts[index],
            &self.weights[offset..offset + self.lens[index]],
        )
    }
}

fn triangle(x: f64) -> f64 {
    let x = x.abs();
    if x < 1.0 { 1.0 - x } else { 0.0 }
}

/// Pillow's `precompute_coeffs` for the bilinear filter over the full input range.
fn bilinear_taps<S: Sample>(in_size: usize, out_size: usize) -> Taps<S::Weight> {
    // Pillow computes the input extent as a C float before widening it to double.
    let scale = f64::from(in_size as f32) / out_size as f64;
    let filter_scale = scale.max(1.0);
    let support = filter_scale; // the triangle filter has support 1
    let stride = support.ceil() as usize * 2 + 1;
    let inverse_filter_scale = 1.0 / filter_scale;

    let mut taps = Taps {
        starts: Vec::with_capacity(out_size),
        lens: Vec::with_capacity(out_size),
        weights: Vec::with_capacity(out_size * stride),
        stride,
    };
    let mut raw = Vec::with_capacity(stride);
    for out in 0..out_size {
        let center = (out as f64 + 0.5) * scale;
        // `as` truncates toward zero like C's (int) cast; then clamp to the input.
        let first = ((center - support + 0.5) as i64).max(0);
        let end = ((center + support + 0.5) as i64).min(in_size as i64);
        let len = usize::try_from(end - first).unwrap_or(0).min(stride);

        raw.clear();
        raw.extend((0..len).map(|i| {
            let position = (i as i64 + first) as f64;
            triangle((position - center + 0.5) * inverse_filter_scale)
        }));
        let total: f64 = raw.iter().fold(0.0, |sum, w| sum + w);
        let normalise = |w: f64| if total != 0.0 { w / total } else { w };
        taps.weights
            .extend(raw.iter().map(|&w| S::quantize(normalise(w))));
        taps.weights.extend((len..stride).map(|_| S::quantize(0.0)));
        taps.starts.push(first as usize);
        taps.lens.push(len);
    }
    taps
}

/// Resizes one `height x width` plane (row-major) to `out_height x out_width`.
pub(crate) fn resize_plane<S: Sample>(
    plane: &[S],
    (height, width): (usize, usize),
    (out_height, out_width): (usize, usize),
) -> Vec<S> {
    let horizontal = |plane: &[S], rows: usize| match out_width == width {
        true => plane.to_vec(),
        false => horizontal_pass(plane, rows, width, out_width),
    };
    let vertical = |plane: &[S], cols: usize| match out_height == height {
        true => plane.to_vec(),
        false => vertical_pass(plane, height, cols, out_height),
    };
    if vertical_first((height, width), (out_height, out_width)) {
        horizontal(&vertical(plane, width), out_height)
    } else {
        vertical(&horizontal(plane, height), out_width)
    }
}

/// Pillow 13 runs the vertical pass first when the height shrinks by more than twice as many
/// pixels as the width (earlier Pillow releases always went horizontal first). The order
/// matters because each pass rounds.
fn vertical_first(
    (height, width): (usize, usize),
    (out_height, out_width): (usize, usize),
) -> bool {
    let height_loss = height as i64 - out_height as i64;
    let width_loss = width as i64 - out_width as i64;
    height_loss > 0 && height_loss > width_loss * 2
}

fn horizontal_pass<S: Sample>(
    plane: &[S],
    height: usize,
    width: usize,
    out_width: usize,
) -> Vec<S> {
    let taps = bilinear_taps::<S>(width, out_width);
    let mut out = Vec::with_capacity(height * out_width);
    for row in plane.chunks_exact(width) {
        out.extend((0..out_width).map(|x| {
            let (start, weights) = taps.for_output(x);
            let inputs = &row[start..start + weights.len()];
            S::finish(
                inputs
                    .iter()
                    .zip(weights)
                    .fold(S::start(), |acc, (&v, &w)| v.accumulate(acc, w)),
            )
        }));
    }
    out
}

fn vertical_pass<S: Sample>(plane: &[S], height: usize, width: usize, out_height: usize) -> Vec<S> {
    let taps = bilinear_taps::<S>(height, out_height);
    let mut out = Vec::with_capacity(out_height * width);
    let mut sums = vec![S::start(); width];
    for y in 0..out_height {
        let (start, weights) = taps.for_output(y);
        sums.fill(S::start());
        // Accumulate whole rows in input order: per output sample this is the same sequence
        // of operations as Pillow's column loop.
        for (offset, &weight) in weights.iter().enumerate() {
            let row = &plane[(start + offset) * width..][..width];
            for (sum, &v) in sums.iter_mut().zip(row) {
                *sum = v.accumulate(*sum, weight);
            }
        }
        out.extend(sums.iter().map(|&sum| S::finish(sum)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_size_is_identity() {
        let plane: Vec<u8> = (0..12).collect();
        assert_eq!(resize_plane(&plane, (3, 4), (3, 4)), plane);
    }

    #[test]
    fn constant_plane_stays_constant_both_ways() {
        let plane = vec![200u8; 7 * 9];
        assert!(
            resize_plane(&plane, (7, 9), (3, 20))
                .iter()
                .all(|&v| v == 200)
        );
        let plane = vec![54321u16; 7 * 9];
        assert!(
            resize_plane(&plane, (7, 9), (30, 2))
                .iter()
                .all(|&v| v == 54321)
        );
    }

    #[test]
    fn pass_order_follows_pillow_13() {
        assert!(vertical_first((180, 240), (60, 400)));
        assert!(vertical_first((73, 83), (8, 68)));
        assert!(!vertical_first((180, 240), (37, 53)));
        assert!(!vertical_first((14, 65), (6, 57))); // 8 rows lost vs 2 * 8 columns
        assert!(!vertical_first((60, 80), (100, 300)));
    }

    #[test]
    fn halving_matches_pil() {
        // Downscale by 2: support 2, taps (0.75, 0.75, 0.25) / 1.75 clipped at the borders;
        // PIL gives [71, 229] for this row in mode I;16.
        let plane: Vec<u16> = vec![0, 100, 200, 300];
        assert_eq!(resize_plane(&plane, (1, 4), (1, 2)), vec![71, 229]);
    }
}
