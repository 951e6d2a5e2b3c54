//! Helpers shared by the integration tests.
#![allow(dead_code)] // each test binary uses a different subset

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{VarBuilder, VarMap};
use nona_heads::{NonaConfig, NonaHead, Similarity, SoftStepKind, SoftStepParams};

/// Every head configuration: 4 similarities × {none, s1, s2} × {global, pointwise}.
pub fn all_configs() -> Vec<NonaConfig> {
    let mut configs = Vec::new();
    for similarity in Similarity::ALL {
        for softstep in SoftStepKind::ALL {
            for params in SoftStepParams::ALL {
                configs.push(NonaConfig {
                    similarity,
                    softstep,
                    params,
                    ..NonaConfig::default()
                });
            }
        }
    }
    configs
}

/// Deterministic pseudo-random numbers in `[0, 1)` (xorshift; no dependency needed).
pub struct Lcg(u64);

impl Lcg {
    pub fn new(seed: u64) -> Self {
        Self(
            seed.wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407)
                | 1,
        )
    }

    pub fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Roughly standard normal (sum of uniforms).
    pub fn normal(&mut self) -> f64 {
        (0..12).map(|_| self.uniform()).sum::<f64>() - 6.0
    }

    pub fn matrix(&mut self, rows: usize, cols: usize) -> Vec<Vec<f64>> {
        (0..rows)
            .map(|_| (0..cols).map(|_| self.normal()).collect())
            .collect()
    }

    pub fn vector(&mut self, len: usize) -> Vec<f64> {
        (0..len).map(|_| self.uniform()).collect()
    }
}

/// SoftStep parameter values: `theta` (3), `weight` (3 × d), `bias` (3).
#[derive(Debug, Clone)]
pub struct SoftStepValues {
    pub theta: Vec<f64>,
    pub weight: Vec<Vec<f64>>,
    pub bias: Vec<f64>,
}

impl SoftStepValues {
    pub fn random(rng: &mut Lcg, dim: usize) -> Self {
        Self {
            theta: (0..3).map(|_| rng.normal()).collect(),
            weight: rng
                .matrix(3, dim)
                .into_iter()
                .map(|r| r.into_iter().map(|v| v * 1.5).collect())
                .collect(),
            bias: (0..3).map(|_| rng.normal() * 0.5).collect(),
        }
    }
}

/// A head on `device` whose SoftStep variables (if any) hold `values`.
pub fn head_with(
    config: NonaConfig,
    values: &SoftStepValues,
    dtype: DType,
    device: &Device,
) -> (VarMap, NonaHead) {
    let dim = values.weight[0].len();
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, dtype, device);
    let head = NonaHead::new(config, dim, vb).unwrap();
    let mut varmap_mut = varmap.clone();
    for (name, tensor) in [
        ("softstep.theta", vector(&values.theta, dtype)),
        ("softstep.linear.weight", matrix(&values.weight, dtype)),
        ("softstep.linear.bias", vector(&values.bias, dtype)),
    ] {
        if varmap.data().lock().unwrap().contains_key(name) {
            varmap_mut
                .set_one(name, tensor.to_device(device).unwrap())
                .unwrap();
        }
    }
    (varmap, head)
}

/// The SoftStep variables of a head built by [`head_with`], by name.
pub fn softstep_vars(varmap: &VarMap) -> Vec<(String, Var)> {
    let data = varmap.data().lock().unwrap();
    let mut vars: Vec<_> = data.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    vars
}

pub fn matrix(rows: &[Vec<f64>], dtype: DType) -> Tensor {
    let cols = rows.first().map_or(0, Vec::len);
    let flat: Vec<f64> = rows.iter().flatten().copied().collect();
    Tensor::from_vec(flat, (rows.len(), cols), &Device::Cpu)
        .unwrap()
        .to_dtype(dtype)
        .unwrap()
}

pub fn vector(values: &[f64], dtype: DType) -> Tensor {
    Tensor::from_vec(values.to_vec(), values.len(), &Device::Cpu)
        .unwrap()
        .to_dtype(dtype)
        .unwrap()
}

/// All values of a tensor as f64, flattened.
pub fn flat(t: &Tensor) -> Vec<f64> {
    t.to_dtype(DType::F64)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1::<f64>()
        .unwrap()
}

pub fn all_finite(t: &Tensor) -> bool {
    flat(t).iter().all(|v| v.is_finite())
}

/// `mean((pred − target)²)`.
pub fn mse(pred: &Tensor, target: &Tensor) -> Tensor {
    pred.sub(target).unwrap().sqr().unwrap().mean_all().unwrap()
}
