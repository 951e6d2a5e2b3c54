//! ResNet-18/34 (torchvision layout: `conv1`, `bn1`, `layer{1..4}.{i}.{conv,bn}{1,2}`, `downsample`).
//! On the CPU in `f32` it runs NHWC on `nona_kernels` (`vision::nhwc`); elsewhere (CUDA, other
//! dtypes) as candle ops.

use candle_core::{DType, Tensor};
use candle_nn::VarBuilder;
use nona_kernels::Activation as Fused;

use super::layers::{Activation, ConvBn, ConvShape, global_avg_pool};
use super::nhwc::{Arena, FeatureMap, NhwcConv};
use super::{IMAGENET_MEAN, IMAGENET_STD};
use crate::Result;
use crate::backbone::{Backbone, BackboneInput, InputSpec};

const BN_EPS: f64 = 1e-5;

/// Two 3×3 convolutions with an identity (or 1×1 projection) shortcut.
#[derive(Debug, Clone)]
struct BasicBlock {
    conv1: ConvBn,
    conv2: ConvBn,
    downsample: Option<ConvBn>,
}

impl BasicBlock {
    fn load(
        vb: VarBuilder,
        in_channels: usize,
        out_channels: usize,
        stride: usize,
    ) -> Result<Self> {
        let conv = |i: usize, shape: ConvShape| {
            ConvBn::load(
                vb.pp(format!("conv{i}")),
                vb.pp(format!("bn{i}")),
                shape,
                BN_EPS,
            )
        };
        let downsample = if stride != 1 || in_channels != out_channels {
            let shape = ConvShape::new(in_channels, out_channels, 1).stride(stride);
            Some(ConvBn::load(
                vb.pp("downsample.0"),
                vb.pp("downsample.1"),
                shape,
                BN_EPS,
            )?)
        } else {
            None
        };
        Ok(Self {
            conv1: conv(
                1,
                ConvShape::new(in_channels, out_channels, 3).stride(stride),
            )?,
            conv2: conv(2, ConvShape::new(out_channels, out_channels, 3))?,
            downsample,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let y = self.conv2.forward(&self.conv1.forward(x)?.relu()?)?;
        let shortcut = match &self.downsample {
            Some(projection) => projection.forward(x)?,
            None => x.clone(),
        };
        Ok((y + shortcut)?.relu()?)
    }

    fn to_nhwc(&self) -> Result<NhwcBlock> {
        Ok(NhwcBlock {
            conv1: self.conv1.to_nhwc()?,
            conv2: self.conv2.to_nhwc()?,
            downsample: self.downsample.as_ref().map(ConvBn::to_nhwc).transpose()?,
        })
    }
}

/// [`BasicBlock`] on the CPU kernels: ReLU fused into `conv1`, shortcut and ReLU into `conv2`.
#[derive(Debug, Clone)]
struct NhwcBlock {
    conv1: NhwcConv,
    conv2: NhwcConv,
    downsample: Option<NhwcConv>,
}

impl NhwcBlock {
    fn forward(&self, x: FeatureMap, arena: &Arena) -> Result<FeatureMap> {
        let y = self.conv1.forward(&x, None, Fused::Relu, arena)?;
        let shortcut = match &self.downsample {
            Some(projection) => {
                let projected = projection.forward(&x, None, Fused::None, arena)?;
                x.recycle(arena);
                projected
            }
            None => x,
        };
        let out = self
            .conv2
            .forward(&y, Some(&shortcut), Fused::Relu, arena)?;
        y.recycle(arena);
        shortcut.recycle(arena);
        Ok(out)
    }
}

/// The layers, as candle ops or on the CPU kernels.
#[derive(Debug, Clone)]
enum Network {
    Candle {
        stem: ConvBn,
        blocks: Vec<BasicBlock>,
    },
    Nhwc {
        stem: NhwcConv,
        blocks: Vec<NhwcBlock>,
        arena: Arena,
    },
}

/// A torchvision ResNet with basic blocks, classifier removed: returns the pooled 512-d features.
#[derive(Debug, Clone)]
pub struct ResNet {
    id: &'static str,
    network: Network,
}

impl ResNet {
    /// ResNet-18: stages of 2, 2, 2, 2 basic blocks.
    pub fn resnet18(vb: VarBuilder) -> Result<Self> {
        Self::load(vb, "resnet18", [2, 2, 2, 2])
    }

    /// ResNet-34: stages of 3, 4, 6, 3 basic blocks.
    pub fn resnet34(vb: VarBuilder) -> Result<Self> {
        Self::load(vb, "resnet34", [3, 4, 6, 3])
    }

    fn load(vb: VarBuilder, id: &'static str, depths: [usize; 4]) -> Result<Self> {
        let stem = ConvBn::load(
            vb.pp("conv1"),
            vb.pp("bn1"),
            ConvShape::new(3, 64, 7).stride(2),
            BN_EPS,
        )?;
        let mut blocks = Vec::new();
        let mut in_channels = 64;
        for (stage, depth) in depths.into_iter().enumerate() {
            let out_channels = 64 << stage;
            for i in 0..depth {
                let stride = if stage > 0 && i == 0 { 2 } else { 1 };
                blocks.push(BasicBlock::load(
                    vb.pp(format!("layer{}.{i}", stage + 1)),
                    in_channels,
                    out_channels,
                    stride,
                )?);
                in_channels = out_channels;
            }
        }
        let network = if vb.device().is_cpu() && vb.dtype() == DType::F32 {
            Network::Nhwc {
                stem: stem.to_nhwc()?,
                blocks: blocks
                    .iter()
                    .map(BasicBlock::to_nhwc)
                    .collect::<Result<_>>()?,
                arena: Arena::default(),
            }
        } else {
            Network::Candle { stem, blocks }
        };
        Ok(Self { id, network })
    }
}

impl Backbone for ResNet {
    fn id(&self) -> &str {
        self.id
    }

    fn dim(&self) -> usize {
        512
    }

    fn input(&self) -> InputSpec {
        InputSpec::Image {
            size: 224,
            mean: IMAGENET_MEAN,
            std: IMAGENET_STD,
        }
    }

    fn embed(&self, input: &BackboneInput) -> Result<Tensor> {
        let images = input.images()?;
        match &self.network {
            Network::Candle { stem, blocks } => {
                let x = Activation::Relu.apply(&stem.forward(images)?)?;
                // Max-pool 3×3/2 with 1 pixel of padding; after ReLU, zero padding equals -inf padding.
                let mut x = x
                    .pad_with_zeros(2, 1, 1)?
                    .pad_with_zeros(3, 1, 1)?
                    .max_pool2d_with_stride(3, 2)?;
                for block in blocks {
                    x = block.forward(&x)?;
                }
                global_avg_pool(&x)
            }
            Network::Nhwc {
                stem,
                blocks,
                arena,
            } => {
                let input = FeatureMap::from_nchw(images, arena)?;
                let stem_out = stem.forward(&input, None, Fused::Relu, arena)?;
                input.recycle(arena);
                let mut x = stem_out.max_pool_3x3_s2(arena)?;
                stem_out.recycle(arena);
                for block in blocks {
                    x = block.forward(x, arena)?;
                }
                let pooled = x.global_avg_pool();
                x.recycle(arena);
                pooled
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use candle_core::{DType, Device, Tensor};
    use candle_nn::VarBuilder;

    use super::{Network, ResNet};
    use crate::backbone::{Backbone, BackboneInput};
    use crate::weights::{SyntheticWeights, synthetic_values};

    fn images(name: &str, batch: usize, side: usize) -> BackboneInput {
        let shape = [batch, 3, side, side];
        BackboneInput::Images(
            Tensor::from_vec(synthetic_values(name, &shape), &shape, &Device::Cpu).unwrap(),
        )
    }

    /// The CPU network reuses its activation buffers: a batch embedded after others of other
    /// sizes (buffers grown, shrunk, holding stale values) gives exactly what it gave first.
    #[test]
    fn reused_buffers_do_not_change_the_embeddings() {
        let weights = VarBuilder::from_backend(Box::new(SyntheticWeights), DType::F32, Device::Cpu);
        let resnet = ResNet::resnet18(weights).unwrap();
        assert!(matches!(resnet.network, Network::Nhwc { .. }));
        let (first, other) = (images("first", 2, 40), images("other", 3, 57));
        let before = resnet.embed(&first).unwrap().to_vec2::<f32>().unwrap();
        resnet.embed(&other).unwrap();
        let after = resnet.embed(&first).unwrap().to_vec2::<f32>().unwrap();
        assert_eq!(before, after);
        assert!(before.iter().flatten().any(|&v| v != 0.0));
    }
}
