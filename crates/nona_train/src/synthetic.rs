//! Synthetic regression surfaces on `[−1, 1]²` (the paper's Fig. 3): points drawn uniformly,
//! labels from a target function plus Gaussian noise.
//!
//! Targets (`r = √(x₁² + x₂²)`, `θ = atan2(x₂, x₁)`):
//! * [`Surface::Linear`]: `x₂/2 + 1/2` (the one surface linear regression can fit);
//! * [`Surface::Radial`]: `r` (distance from the centre);
//! * [`Surface::Pyramid`]: `min(1 − |x₁|, 1 − |x₂|)` (the square "radial" variant of the
//!   authors' notebook);
//! * [`Surface::Spiral`]: `((θ + 5r) mod 2π) / 2π`;
//! * [`Surface::Checkerboard`]: `sin(6x₁) · cos(6x₂)`.

use std::f64::consts::TAU;
use std::fmt;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::model::standard_normal;

/// A target function on `[−1, 1]²`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Surface {
    /// `x₂/2 + 1/2`.
    Linear,
    /// Distance from the origin.
    Radial,
    /// `min(1 − |x₁|, 1 − |x₂|)`.
    Pyramid,
    /// `((θ + 5r) mod 2π) / 2π`.
    Spiral,
    /// `sin(6x₁) · cos(6x₂)`.
    Checkerboard,
}

impl Surface {
    /// All surfaces.
    pub const ALL: [Surface; 5] = [
        Self::Linear,
        Self::Radial,
        Self::Pyramid,
        Self::Spiral,
        Self::Checkerboard,
    ];

    /// Noise-free target at `(x1, x2)`.
    pub fn target(self, x1: f64, x2: f64) -> f64 {
        let radius = x1.hypot(x2);
        match self {
            Self::Linear => x2 / 2.0 + 0.5,
            Self::Radial => radius,
            Self::Pyramid => (1.0 - x1.abs()).min(1.0 - x2.abs()),
            Self::Spiral => (x2.atan2(x1) + 5.0 * radius).rem_euclid(TAU) / TAU,
            Self::Checkerboard => (6.0 * x1).sin() * (6.0 * x2).cos(),
        }
    }
}

impl fmt::Display for Surface {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Self::Linear => "linear",
            Self::Radial => "radial",
            Self::Pyramid => "pyramid",
            Self::Spiral => "spiral",
            Self::Checkerboard => "checkerboard",
        };
        f.write_str(name)
    }
}

/// Samples of a surface: row-major points `(n × 2)` and their noisy labels.
#[derive(Debug, Clone, PartialEq)]
pub struct SurfaceSamples {
    /// `[x₁, x₂]` per sample, row-major.
    pub points: Vec<f32>,
    /// Target plus noise per sample.
    pub labels: Vec<f64>,
}

/// `n` points uniform on `[−1, 1]²` with labels `target + N(0, noise_std²)`, from a ChaCha8
/// stream seeded with `seed`.
pub fn sample_surface(surface: Surface, n: usize, noise_std: f64, seed: u64) -> SurfaceSamples {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut points = Vec::with_capacity(2 * n);
    let mut labels = Vec::with_capacity(n);
    for _ in 0..n {
        let x1 = rng.random_range(-1.0..=1.0);
        let x2 = rng.random_range(-1.0..=1.0);
        points.extend([x1 as f32, x2 as f32]);
        labels.push(surface.target(x1, x2) + noise_std * standard_normal(&mut rng));
    }
    SurfaceSamples { points, labels }
}
