//! What the GEMM does to each finished tile of `C` while it is still in cache: per-column bias,
//! residual add, activation, in that order (as `act(A·B + bias + residual)`).

use std::ops::Range;

/// A pointwise non-linearity applied in the epilogue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Activation {
    /// The identity.
    #[default]
    None,
    /// `max(x, 0)`.
    Relu,
    /// `min(max(x, 0), 6)`.
    Relu6,
    /// `x · sigmoid(x)`.
    Silu,
}

impl Activation {
    /// Applies the activation in place.
    pub fn apply(self, values: &mut [f32]) {
        match self {
            Self::None => {}
            Self::Relu => values.iter_mut().for_each(|x| {
                if *x < 0.0 {
                    *x = 0.0;
                }
            }),
            Self::Relu6 => values.iter_mut().for_each(|x| *x = x.clamp(0.0, 6.0)),
            Self::Silu => values.iter_mut().for_each(|x| *x /= 1.0 + (-*x).exp()),
        }
    }
}

/// The fused epilogue of a GEMM producing an `m × n` row-major `C`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Epilogue<'a> {
    /// Added to every row (`n` values, one per output column / channel).
    pub bias: Option<&'a [f32]>,
    /// Added element-wise (`m × n`, row-major like `C`), e.g. a ResNet shortcut.
    pub residual: Option<&'a [f32]>,
    /// Applied last.
    pub activation: Activation,
}

impl Epilogue<'_> {
    /// Panics unless the operands fit an `m × n` output.
    pub(crate) fn check(&self, m: usize, n: usize) {
        if let Some(bias) = self.bias {
            assert_eq!(
                bias.len(),
                n,
                "epilogue: {} bias values for {n} columns",
                bias.len()
            );
        }
        if let Some(residual) = self.residual {
            assert_eq!(
                residual.len(),
                m * n,
                "epilogue: {} residual values for an {m} × {n} output",
                residual.len()
            );
        }
    }

    /// Finishes `out`, the columns `cols` of row `row` of an `n`-column output.
    pub(crate) fn apply(&self, row: usize, cols: Range<usize>, n: usize, out: &mut [f32]) {
        if let Some(bias) = self.bias {
            out.iter_mut()
                .zip(&bias[cols.clone()])
                .for_each(|(o, b)| *o += b);
        }
        if let Some(residual) = self.residual {
            out.iter_mut()
                .zip(&residual[row * n + cols.start..row * n + cols.end])
                .for_each(|(o, r)| *o += r);
        }
        self.activation.apply(out);
    }
}
