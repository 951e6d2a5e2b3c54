//! The fully connected layer of the CPU transformer paths (BERT family, Whisper), on plain
//! row-major slices: `y = x Wᵀ + b`, written over `y` or added to it (a residual), through the
//! `gemm` crate that candle's CPU matmul calls, in parallel on the caller's rayon pool.
#![allow(unsafe_code, reason = "the gemm crate takes raw pointers")]

use candle_core::Tensor;

use crate::{Error, Result};

/// A fully connected layer with its weight stored transposed, `(inputs, outputs)` row-major, as
/// the GEMM reads it.
pub(crate) struct Dense {
    weight_t: Vec<f32>,
    bias: Vec<f32>,
    inputs: usize,
    outputs: usize,
}

impl Dense {
    /// From a PyTorch `(outputs, inputs)` weight and an optional bias (zeros without).
    pub(crate) fn new(weight: &Tensor, bias: Option<&Tensor>) -> Result<Self> {
        let (outputs, inputs) = weight.dims2()?;
        let weight_t = weight.t()?.flatten_all()?.to_vec1::<f32>()?;
        let bias = match bias {
            Some(bias) => bias.flatten_all()?.to_vec1::<f32>()?,
            None => vec![0.0; outputs],
        };
        if bias.len() != outputs {
            return Err(Error::BadInput(format!(
                "bias of {} values for a layer of {outputs} outputs",
                bias.len()
            )));
        }
        Ok(Self {
            weight_t,
            bias,
            inputs,
            outputs,
        })
    }

    /// Output width.
    pub(crate) fn outputs(&self) -> usize {
        self.outputs
    }

    /// `output = input Wᵀ + b` for rows of `inputs` values.
    pub(crate) fn forward(&self, input: &[f32], output: &mut [f32]) {
        for row in output.chunks_exact_mut(self.outputs) {
            row.copy_from_slice(&self.bias);
        }
        self.accumulate_rows(input, self.inputs, output);
    }

    /// `output += input Wᵀ + b` for rows of `inputs` values.
    pub(crate) fn add_forward(&self, input: &[f32], output: &mut [f32]) {
        for row in output.chunks_exact_mut(self.outputs) {
            for (y, b) in row.iter_mut().zip(&self.bias) {
                *y += b;
            }
        }
        self.accumulate_rows(input, self.inputs, output);
    }

    /// `output = X Wᵀ + b` where row `i` of `X` is `input[i · stride ..][.. inputs]`: rows may
    /// overlap, which makes a convolution over a sequence one product (its windows are rows).
    pub(crate) fn forward_strided(&self, input: &[f32], stride: usize, output: &mut [f32]) {
        for row in output.chunks_exact_mut(self.outputs) {
            row.copy_from_slice(&self.bias);
        }
        self.accumulate_rows(input, stride, output);
    }

    /// `output += X Wᵀ` with `X`'s rows `stride` apart in `input`.
    fn accumulate_rows(&self, input: &[f32], stride: usize, output: &mut [f32]) {
        assert!(
            output.len().is_multiple_of(self.outputs),
            "{} outputs are not rows of {}",
            output.len(),
            self.outputs
        );
        let rows = output.len() / self.outputs;
        if rows == 0 {
            return;
        }
        assert!(
            stride >= 1 && (rows - 1) * stride + self.inputs <= input.len(),
            "{rows} rows of {} inputs, {stride} apart, do not fit in {} values",
            self.inputs,
            input.len()
        );
        // SAFETY: the asserts keep the `rows` rows read (`inputs` values each, `stride` apart)
        // inside `input` and the rows written inside `output`; the weight is inputs × outputs.
        unsafe {
            gemm::gemm(
                rows,
                self.outputs,
                self.inputs,
                output.as_mut_ptr(),
                1,
                self.outputs as isize,
                true,
                input.as_ptr(),
                1,
                stride as isize,
                self.weight_t.as_ptr(),
                1,
                self.outputs as isize,
                1.0,
                1.0,
                false,
                false,
                false,
                gemm::Parallelism::Rayon(0),
            );
        }
    }
}
