//! Image CNN backbones (torchvision layouts) built from BatchNorm-folded convolutions.

mod depthwise;
pub mod efficientnet;
mod layers;
mod nhwc;
pub mod resnet;

/// ImageNet normalisation used by torchvision models (RGB, `x` in `[0, 1]`).
pub const IMAGENET_MEAN: [f32; 3] = [0.485, 0.456, 0.406];
/// ImageNet standard deviation used by torchvision models.
pub const IMAGENET_STD: [f32; 3] = [0.229, 0.224, 0.225];
