//! (1) The candle forward equals a direct, plain-f64 transcription of the README formulas for
//! every similarity × {none, S1, S2} × {global, pointwise}, in training and evaluation mode.

mod common;

use candle_core::{DType, Device};
use common::{Lcg, SoftStepValues, all_configs, flat, head_with, matrix, vector};
use nona_heads::{NonaConfig, Similarity, SoftStepKind, SoftStepParams};
use nona_testkit::Gap;

fn sigmoid(v: f64) -> f64 {
    1.0 / (1.0 + (-v).exp())
}

fn similarity(kind: Similarity, u: &[f64], v: &[f64]) -> f64 {
    let dot: f64 = u.iter().zip(v).map(|(a, b)| a * b).sum();
    match kind {
        Similarity::L2 => -u
            .iter()
            .zip(v)
            .map(|(a, b)| (a - b).powi(2))
            .sum::<f64>()
            .sqrt(),
        Similarity::L1 => -u.iter().zip(v).map(|(a, b)| (a - b).abs()).sum::<f64>(),
        Similarity::Dot => dot / u.len() as f64,
        Similarity::Cos => {
            let norm = |w: &[f64]| w.iter().map(|a| a * a).sum::<f64>().sqrt().max(1e-12);
            dot / (norm(u) * norm(v))
        }
    }
}

/// `(a, b, t)` of one query: sigmoid of θ or of `W z + c`, clamped to `[ε, 1 − ε]`.
fn parameters(config: &NonaConfig, values: &SoftStepValues, z: &[f64]) -> [f64; 3] {
    let raw: Vec<f64> = match config.params {
        SoftStepParams::Global => values.theta.clone(),
        SoftStepParams::Pointwise => (0..3)
            .map(|k| {
                values.weight[k]
                    .iter()
                    .zip(z)
                    .map(|(w, x)| w * x)
                    .sum::<f64>()
                    + values.bias[k]
            })
            .collect(),
    };
    let clamp = |v: f64| sigmoid(v).clamp(config.eps, 1.0 - config.eps);
    [clamp(raw[0]), clamp(raw[1]), clamp(raw[2])]
}

/// The README's log-mask of one row of similarities (`own` = index of the query itself in training).
fn log_mask(config: &NonaConfig, abt: [f64; 3], sims: &[f64], own: Option<usize>) -> Vec<f64> {
    let eps = config.eps;
    let lo = sims.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = sims.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let range = if hi > lo { hi - lo } else { 1.0 };
    let x: Vec<f64> = sims.iter().map(|s| (s - lo) / range).collect();
    let [a, b, t] = abt;
    match config.softstep {
        SoftStepKind::None => vec![0.0; sims.len()],
        SoftStepKind::S1 => {
            let top = x
                .iter()
                .enumerate()
                .filter(|(j, _)| Some(*j) != own)
                .map(|(_, v)| *v)
                .fold(0.0, f64::max);
            let a = a.min(top) - eps;
            let b = a + b * (1.0 - a);
            x.iter()
                .map(|&x| {
                    if x < a {
                        f64::NEG_INFINITY
                    } else if x > b {
                        0.0
                    } else {
                        let rise = (x - a).abs().powf(1.0 / t).max(eps);
                        let fall = (b - x).abs().powf(1.0 / t).max(eps);
                        (rise / (rise + fall)).ln()
                    }
                })
                .collect()
        }
        SoftStepKind::S2 => x
            .iter()
            .map(|&x| {
                let x = x.max(eps);
                if x <= b {
                    t / (1.0 - t) * (b - x) * (x / b).ln()
                } else {
                    0.0
                }
            })
            .collect(),
    }
}

/// `ŷ_i = Σ_j softmax_j(Sim_ij + log m_ij [− ∞ if i = j in training]) y_j`.
fn reference_predict(
    config: &NonaConfig,
    values: &SoftStepValues,
    z: &[Vec<f64>],
    bank: &[Vec<f64>],
    labels: &[f64],
    train: bool,
) -> Vec<f64> {
    z.iter()
        .enumerate()
        .map(|(i, query)| {
            let own = train.then_some(i);
            let sims: Vec<f64> = bank
                .iter()
                .map(|n| similarity(config.similarity, query, n))
                .collect();
            let mask = log_mask(config, parameters(config, values, query), &sims, own);
            let logits: Vec<f64> = (0..sims.len())
                .map(|j| {
                    if Some(j) == own {
                        f64::NEG_INFINITY
                    } else {
                        sims[j] + mask[j]
                    }
                })
                .collect();
            let max = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let weights: Vec<f64> = logits.iter().map(|l| (l - max).exp()).collect();
            let total: f64 = weights.iter().sum();
            weights.iter().zip(labels).map(|(w, y)| w / total * y).sum()
        })
        .collect()
}

struct Case {
    values: SoftStepValues,
    batch: Vec<Vec<f64>>,
    batch_labels: Vec<f64>,
    queries: Vec<Vec<f64>>,
    bank: Vec<Vec<f64>>,
    bank_labels: Vec<f64>,
}

fn random_case(seed: u64) -> Case {
    let dim = 5;
    let mut rng = Lcg::new(seed);
    Case {
        values: SoftStepValues::random(&mut rng, dim),
        batch: rng.matrix(7, dim),
        batch_labels: rng.vector(7),
        queries: rng.matrix(4, dim),
        bank: rng.matrix(11, dim),
        bank_labels: rng.vector(11),
    }
}

/// Largest deviation over all configurations, in training and evaluation mode.
fn max_deviation(dtype: DType, seeds: std::ops::Range<u64>) -> f64 {
    let mut worst: f64 = 0.0;
    for seed in seeds {
        let case = random_case(seed);
        for config in all_configs() {
            let (_, head) = head_with(config, &case.values, dtype, &Device::Cpu);
            let train = head
                .forward_train(
                    &matrix(&case.batch, dtype),
                    &vector(&case.batch_labels, dtype),
                )
                .unwrap();
            let expected_train = reference_predict(
                &config,
                &case.values,
                &case.batch,
                &case.batch,
                &case.batch_labels,
                true,
            );
            let eval = head
                .forward_eval(
                    &matrix(&case.queries, dtype),
                    &matrix(&case.bank, dtype),
                    &vector(&case.bank_labels, dtype),
                )
                .unwrap();
            let expected_eval = reference_predict(
                &config,
                &case.values,
                &case.queries,
                &case.bank,
                &case.bank_labels,
                false,
            );
            let deviation = Gap::between(&flat(&train), &expected_train)
                .max_abs
                .max(Gap::between(&flat(&eval), &expected_eval).max_abs);
            assert!(
                deviation.is_finite(),
                "{config:?} seed {seed}: non-finite output"
            );
            worst = worst.max(deviation);
        }
    }
    worst
}

#[test]
#[allow(clippy::print_stderr)] // reports the measured error with --nocapture
fn forward_matches_plain_f64_formulas() {
    let worst = max_deviation(DType::F64, 0..8);
    assert!(worst < 1e-12, "max |candle − formula| = {worst:e}");
    eprintln!("formulas: max |candle f64 − formula| = {worst:e}");
}

#[test]
#[allow(clippy::print_stderr)] // reports the measured error with --nocapture
fn f32_forward_stays_close_to_the_f64_formulas() {
    let worst = max_deviation(DType::F32, 0..4);
    assert!(worst < 1e-4, "max |candle f32 − formula| = {worst:e}");
    eprintln!("formulas: max |candle f32 − formula| = {worst:e}");
}

#[test]
fn the_formulas_are_sensitive_to_the_softstep_parameters() {
    // Guards against a reference that silently ignores the mask (the comparison could not fail).
    let case = random_case(3);
    let config = NonaConfig {
        softstep: SoftStepKind::S2,
        ..NonaConfig::default()
    };
    let plain = NonaConfig {
        softstep: SoftStepKind::None,
        ..config
    };
    let masked = reference_predict(
        &config,
        &case.values,
        &case.queries,
        &case.bank,
        &case.bank_labels,
        false,
    );
    let unmasked = reference_predict(
        &plain,
        &case.values,
        &case.queries,
        &case.bank,
        &case.bank_labels,
        false,
    );
    assert!(Gap::between(&masked, &unmasked).max_abs > 1e-3);
}
