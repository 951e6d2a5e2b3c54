//! Pretrained backbones (CNNs, transformers, audio encoders) behind one trait, with weights resolution.
