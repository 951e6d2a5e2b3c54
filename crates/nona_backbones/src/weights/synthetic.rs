//! Synthetic weights: a closed-form pseudo-random value for every parameter, computed from its name
//! and shape. `tests/fixtures/backbones/make_backbone_fixtures.py` computes the same numbers bit for
//! bit, so parity tests against PyTorch need no weights file.
//!
//! Element `i` of tensor `name`: `z = splitmix64(fnv1a64(name) + (i + 1) · 0x9E3779B97F4A7C15)`,
//! `r = ((z >> 40) - 2^23) / 2^23 ∈ [-1, 1)` (exact in `f32`), then by name suffix:
//! `running_var` → `1 + 0.25 r`, `running_mean` → `0.1 r`, `bias` → `0.1 r`, 1-d `weight` →
//! `1 + 0.1 r`, other weights → `r · √(6 / fan_in)` with `fan_in = numel / shape[0]`, anything else → `r`.

use candle_core::{DType, Device, Shape, Tensor};
use candle_nn::var_builder::SimpleBackend;

/// A [`SimpleBackend`] for `VarBuilder::from_backend` that serves [`synthetic_values`] for any name.
#[derive(Debug, Clone, Copy, Default)]
pub struct SyntheticWeights;

impl SimpleBackend for SyntheticWeights {
    fn get(
        &self,
        shape: Shape,
        name: &str,
        _: candle_nn::Init,
        dtype: DType,
        dev: &Device,
    ) -> candle_core::Result<Tensor> {
        Tensor::from_vec(synthetic_values(name, shape.dims()), shape, dev)?.to_dtype(dtype)
    }

    fn get_unchecked(&self, name: &str, _: DType, _: &Device) -> candle_core::Result<Tensor> {
        candle_core::bail!("synthetic weights need a shape for `{name}`")
    }

    fn contains_tensor(&self, _: &str) -> bool {
        true
    }
}

/// The synthetic values of tensor `name` with `shape`, row-major.
pub fn synthetic_values(name: &str, shape: &[usize]) -> Vec<f32> {
    let numel: usize = shape.iter().product();
    let seed = fnv1a64(name.as_bytes());
    let uniform = (0..numel as u64)
        .map(|i| unit(seed.wrapping_add((i + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15))));
    let leaf = name.rsplit('.').next().unwrap_or(name);
    match (leaf, shape.len()) {
        ("running_var", _) => uniform.map(|r| 1.0 + 0.25 * r).collect(),
        ("running_mean" | "bias", _) => uniform.map(|r| 0.1 * r).collect(),
        ("weight", 1) => uniform.map(|r| 1.0 + 0.1 * r).collect(),
        ("weight", _) => {
            let fan_in = numel / shape[0].max(1);
            let bound = (6.0 / fan_in.max(1) as f64).sqrt() as f32;
            uniform.map(|r| r * bound).collect()
        }
        _ => uniform.collect(),
    }
}

fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// splitmix64 finaliser, top 24 bits mapped exactly onto `[-1, 1)`.
fn unit(x: u64) -> f32 {
    let mut z = x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    ((z >> 40) as i64 - (1 << 23)) as f32 / (1 << 23) as f32
}

#[cfg(test)]
mod tests {
    use super::synthetic_values;

    #[test]
    fn values_follow_the_documented_rules() {
        assert!(
            synthetic_values("bn1.running_var", &[64])
                .iter()
                .all(|v| (0.75..1.25).contains(v))
        );
        assert!(
            synthetic_values("bn1.weight", &[64])
                .iter()
                .all(|v| (0.9..1.1).contains(v))
        );
        let bound = (6.0f32 / 27.0).sqrt();
        assert!(
            synthetic_values("conv1.weight", &[64, 3, 3, 3])
                .iter()
                .all(|v| v.abs() <= bound)
        );
        assert_ne!(
            synthetic_values("a.weight", &[4, 4]),
            synthetic_values("b.weight", &[4, 4])
        );
    }
}
