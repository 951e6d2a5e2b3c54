//! Image decoding and torchvision/PIL-compatible transforms.
