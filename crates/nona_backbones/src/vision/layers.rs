//! Building blocks shared by the CNNs: convolution + folded BatchNorm, activations, squeeze-excite.

use candle_core::{D, DType, Module, Tensor};
use candle_nn::VarBuilder;
use nona_kernels::{Conv2d, Pads};

use super::depthwise::DepthwiseKernel;
use super::nhwc::NhwcConv;
use crate::{Error, Result};

/// How a convolution pads its input.
#[derive(Debug, Clone, Copy)]
pub enum Padding {
    /// `p` zeros on every side (PyTorch style).
    Symmetric(usize),
    /// TensorFlow "SAME": output size `ceil(in / stride)`, any odd pixel of padding goes right/bottom.
    Same,
}

/// Shape of a convolution.
#[derive(Debug, Clone, Copy)]
pub struct ConvShape {
    /// Input channels.
    pub in_channels: usize,
    /// Output channels.
    pub out_channels: usize,
    /// Square kernel side.
    pub kernel: usize,
    /// Stride on both axes.
    pub stride: usize,
    /// Channel groups (`in_channels` for depthwise).
    pub groups: usize,
    /// Padding rule.
    pub padding: Padding,
}

impl ConvShape {
    /// A stride-1, ungrouped `kernel`×`kernel` convolution with PyTorch "same" padding.
    pub fn new(in_channels: usize, out_channels: usize, kernel: usize) -> Self {
        Self {
            in_channels,
            out_channels,
            kernel,
            stride: 1,
            groups: 1,
            padding: Padding::Symmetric(kernel / 2),
        }
    }

    /// Same shape with another stride.
    pub fn stride(self, stride: usize) -> Self {
        Self { stride, ..self }
    }

    /// Same shape as a depthwise convolution (one group per channel).
    pub fn depthwise(self) -> Self {
        Self {
            groups: self.in_channels,
            ..self
        }
    }

    /// Same shape with another padding rule.
    pub fn padding(self, padding: Padding) -> Self {
        Self { padding, ..self }
    }

    /// The zero padding of an input of `height × width`.
    pub fn pads(&self, height: usize, width: usize) -> Pads {
        match self.padding {
            Padding::Symmetric(p) => Pads::uniform(p),
            Padding::Same => {
                let (top, bottom) = same_padding(height, self.kernel, self.stride);
                let (left, right) = same_padding(width, self.kernel, self.stride);
                Pads {
                    top,
                    bottom,
                    left,
                    right,
                }
            }
        }
    }
}

/// A bias-free convolution followed by BatchNorm (inference), folded into one convolution with bias
/// at load time: `w' = w * γ / √(σ² + ε)`, `b' = β - μ γ / √(σ² + ε)`.
#[derive(Debug, Clone)]
pub struct ConvBn {
    weight: Tensor,
    bias: Tensor,
    shape: ConvShape,
    algorithm: Algorithm,
}

/// How the convolution is computed, chosen at load time.
#[derive(Debug, Clone)]
enum Algorithm {
    /// candle's `conv2d` (im2col + GEMM; per-group loop when grouped).
    Generic,
    /// 1×1, stride 1: one batched GEMM `(Cout, Cin) × (Cin, H·W)` per image, no im2col copy.
    Pointwise,
    /// Depthwise on CPU: the direct kernel of [`super::depthwise`].
    Depthwise(DepthwiseKernel),
}

impl ConvBn {
    /// Loads `conv.weight` and the BatchNorm `bn.{weight,bias,running_mean,running_var}`, then folds them.
    pub fn load(conv: VarBuilder, bn: VarBuilder, shape: ConvShape, bn_eps: f64) -> Result<Self> {
        let ConvShape {
            in_channels,
            out_channels,
            kernel,
            stride,
            groups,
            ..
        } = shape;
        let weight = conv.get(
            (out_channels, in_channels / groups, kernel, kernel),
            "weight",
        )?;
        let gamma = bn.get(out_channels, "weight")?;
        let beta = bn.get(out_channels, "bias")?;
        let mean = bn.get(out_channels, "running_mean")?;
        let var = bn.get(out_channels, "running_var")?;
        let scale = gamma.div(&(var + bn_eps)?.sqrt()?)?;
        let weight = weight.broadcast_mul(&scale.reshape((out_channels, 1, 1, 1))?)?;
        let bias = beta.sub(&mean.mul(&scale)?)?;
        let depthwise = groups > 1 && groups == in_channels && groups == out_channels;
        let algorithm = if depthwise && weight.device().is_cpu() && weight.dtype() == DType::F32 {
            Algorithm::Depthwise(DepthwiseKernel::new(&weight, &bias, stride)?)
        } else if kernel == 1 && stride == 1 && groups == 1 {
            Algorithm::Pointwise
        } else {
            Algorithm::Generic
        };
        let bias = bias.reshape((1, out_channels, 1, 1))?;
        Ok(Self {
            weight,
            bias,
            shape,
            algorithm,
        })
    }

    /// Convolution plus bias on an NCHW batch.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let ConvShape {
            in_channels,
            out_channels,
            stride,
            groups,
            ..
        } = self.shape;
        let (batch, _, height, width) = x.dims4()?;
        let pads = self.shape.pads(height, width);
        match &self.algorithm {
            Algorithm::Depthwise(kernel) => kernel.forward(x, pads),
            Algorithm::Pointwise => {
                let weight = self.weight.reshape((out_channels, in_channels))?;
                let y =
                    weight.broadcast_matmul(&x.reshape((batch, in_channels, height * width))?)?;
                Ok(y.reshape((batch, out_channels, height, width))?
                    .broadcast_add(&self.bias)?)
            }
            Algorithm::Generic => {
                let symmetric =
                    pads.top == pads.bottom && pads.left == pads.right && pads.top == pads.left;
                let y = if symmetric {
                    x.conv2d(&self.weight, pads.top, stride, 1, groups)?
                } else {
                    let padded = x
                        .pad_with_zeros(2, pads.top, pads.bottom)?
                        .pad_with_zeros(3, pads.left, pads.right)?;
                    padded.conv2d(&self.weight, 0, stride, 1, groups)?
                };
                Ok(y.broadcast_add(&self.bias)?)
            }
        }
    }

    /// The same convolution on the CPU kernels (NHWC, `f32`), its weights packed once.
    pub fn to_nhwc(&self) -> Result<NhwcConv> {
        let ConvShape {
            in_channels,
            kernel,
            stride,
            groups,
            ..
        } = self.shape;
        if groups != 1 {
            return Err(Error::BadInput(format!(
                "the NHWC convolution has no groups ({groups} asked)"
            )));
        }
        let weight = self.weight.flatten_all()?.to_dtype(DType::F32)?.to_vec1()?;
        let bias = self.bias.flatten_all()?.to_dtype(DType::F32)?.to_vec1()?;
        let conv = Conv2d::from_oihw(&weight, bias, in_channels, kernel, stride);
        Ok(NhwcConv::new(conv, self.shape))
    }
}

/// TensorFlow "SAME" padding `(before, after)` of one axis.
pub fn same_padding(size: usize, kernel: usize, stride: usize) -> (usize, usize) {
    let out = size.div_ceil(stride);
    let total = ((out - 1) * stride + kernel).saturating_sub(size);
    (total / 2, total - total / 2)
}

/// Pointwise non-linearities used by the CNNs.
#[derive(Debug, Clone, Copy)]
pub enum Activation {
    /// `max(x, 0)`.
    Relu,
    /// `min(max(x, 0), 6)`.
    Relu6,
    /// `x * sigmoid(x)`.
    Silu,
}

impl Activation {
    /// Applies the activation.
    pub fn apply(self, x: &Tensor) -> Result<Tensor> {
        Ok(match self {
            Self::Relu => x.relu()?,
            Self::Relu6 => x.clamp(0f32, 6f32)?,
            Self::Silu => x.silu()?,
        })
    }
}

/// Squeeze-and-excitation (torchvision `SqueezeExcitation`): channel gates from pooled features.
#[derive(Debug, Clone)]
pub struct SqueezeExcite {
    reduce: candle_nn::Linear,
    expand: candle_nn::Linear,
}

impl SqueezeExcite {
    /// Loads `fc1` (channels → squeezed) and `fc2` (squeezed → channels), both 1×1 convs with bias.
    pub fn load(vb: VarBuilder, channels: usize, squeezed: usize) -> Result<Self> {
        let linear = |vb: VarBuilder, inputs: usize, outputs: usize| -> Result<candle_nn::Linear> {
            let weight = vb
                .get((outputs, inputs, 1, 1), "weight")?
                .reshape((outputs, inputs))?;
            Ok(candle_nn::Linear::new(
                weight,
                Some(vb.get(outputs, "bias")?),
            ))
        };
        Ok(Self {
            reduce: linear(vb.pp("fc1"), channels, squeezed)?,
            expand: linear(vb.pp("fc2"), squeezed, channels)?,
        })
    }

    /// `x * sigmoid(fc2(silu(fc1(mean_hw(x)))))`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let pooled = global_avg_pool(x)?;
        let gates = candle_nn::ops::sigmoid(
            &self
                .expand
                .forward(&self.reduce.forward(&pooled)?.silu()?)?,
        )?;
        Ok(x.broadcast_mul(&gates.unsqueeze(D::Minus1)?.unsqueeze(D::Minus1)?)?)
    }
}

/// Mean over the spatial axes: `(B, C, H, W)` → `(B, C)`.
pub fn global_avg_pool(x: &Tensor) -> Result<Tensor> {
    Ok(x.mean((2, 3))?)
}

#[cfg(test)]
mod tests {
    use super::same_padding;

    #[test]
    fn same_padding_puts_the_odd_pixel_after() {
        assert_eq!(same_padding(224, 3, 2), (0, 1));
        assert_eq!(same_padding(224, 5, 2), (1, 2));
        assert_eq!(same_padding(225, 3, 2), (1, 1));
        assert_eq!(same_padding(14, 5, 1), (2, 2));
    }
}
