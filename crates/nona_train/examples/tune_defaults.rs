//! The experiment behind [`nona_train::OptimConfig`]'s defaults: learning rate, weight decay and
//! batch size for frozen-backbone embeddings (only projector and head are trained).
//!
//! Data: `n` samples of an 8-d latent `u ~ U(−1, 1)⁸`; target `sin(3u₁)·cos(2u₂) + u₃²` plus
//! `N(0, 0.05²)` noise; the "backbone embedding" is `tanh(W u + b) + N(0, 0.1²)` with a random
//! `W ∈ ℝ^{512×8}`, i.e. a 512-d frozen embedding in which the target is non-linear. Splits are the
//! paper's (stratified 80/20, 85/15), batch 32 (the paper's ablation winner for both heads).
//! Each setting is trained for both heads over `seeds` seeds (default 3) with
//! early stopping; the table shows mean test MSE ×10³ (scaled labels), mean best epoch and mean
//! seconds per run.
//!
//! Run: `cargo run --release -p nona_train --example tune_defaults [n] [seeds]`.
#![allow(clippy::print_stdout)]

use std::time::Instant;

use nona_train::{
    CellConfig, HeadKind, ModelConfig, OptimConfig, SplitConfig, SplitData, TrainData, gather,
    gather_rows, split, train_cell,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const LATENT: usize = 8;
const DIM: usize = 512;

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>();
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

fn dataset(n: usize) -> (Vec<f32>, Vec<f64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(2026);
    let weights: Vec<f64> = (0..DIM * LATENT)
        .map(|_| normal(&mut rng) / (LATENT as f64).sqrt() * 2.0)
        .collect();
    let bias: Vec<f64> = (0..DIM).map(|_| normal(&mut rng) * 0.5).collect();
    let mut features = Vec::with_capacity(n * DIM);
    let mut labels = Vec::with_capacity(n);
    for _ in 0..n {
        let u: Vec<f64> = (0..LATENT).map(|_| rng.random_range(-1.0..1.0)).collect();
        labels
            .push((3.0 * u[0]).sin() * (2.0 * u[1]).cos() + u[2] * u[2] + 0.05 * normal(&mut rng));
        for j in 0..DIM {
            let row = &weights[j * LATENT..(j + 1) * LATENT];
            let pre: f64 = row.iter().zip(&u).map(|(w, x)| w * x).sum::<f64>() + bias[j];
            features.push((pre.tanh() + 0.1 * normal(&mut rng)) as f32);
        }
    }
    (features, labels)
}

fn main() -> nona_train::Result<()> {
    let arg = |i: usize, default: usize| {
        std::env::args()
            .nth(i)
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let (n, seeds) = (arg(1, 2000), arg(2, 3));
    let (features, labels) = dataset(n);
    let splits = split(&labels, &SplitConfig::default(), 0)?;
    let part = |rows: &[usize]| (gather_rows(&features, DIM, rows), gather(&labels, rows));
    let (train, validation, test) = (
        part(&splits.train),
        part(&splits.validation),
        part(&splits.test),
    );
    fn view((features, labels): &(Vec<f32>, Vec<f64>)) -> SplitData<'_> {
        SplitData { features, labels }
    }
    let data = TrainData {
        dim: DIM,
        train: view(&train),
        validation: view(&validation),
        test: view(&test),
    };
    println!("n = {n} ({} train)", splits.train.len());
    println!(
        "| head | lr | weight decay | batch | test MSE ×10³ (mean ± sd) | best epoch | s / run |"
    );
    println!("|---|---|---|---|---|---|---|");
    let batch_size = 32;
    for head in HeadKind::ALL {
        for lr in [3e-4, 1e-3, 3e-3, 1e-2] {
            for weight_decay in [0.0, 1e-4] {
                let mut scores = Vec::new();
                let mut epochs = 0.0;
                let start = Instant::now();
                for seed in 0..seeds as u64 {
                    let config = CellConfig {
                        model: ModelConfig {
                            head,
                            ..ModelConfig::default()
                        },
                        optim: OptimConfig {
                            lr,
                            weight_decay,
                            batch_size,
                            max_epochs: 150,
                            ..OptimConfig::default()
                        },
                        seed,
                    };
                    let cell = train_cell(&data, &config)?;
                    scores.push(cell.test.metrics.mse_scaled_e3);
                    epochs += cell.best_epoch as f64 / seeds as f64;
                }
                let mean = scores.iter().sum::<f64>() / seeds as f64;
                let sd = (scores.iter().map(|s| (s - mean).powi(2)).sum::<f64>()
                    / (seeds as f64 - 1.0).max(1.0))
                .sqrt();
                println!(
                    "| {head} | {lr:e} | {weight_decay:e} | {batch_size} | {mean:.2} ± {sd:.2} | {epochs:.0} | {:.1} |",
                    start.elapsed().as_secs_f64() / seeds as f64
                );
            }
        }
    }
    Ok(())
}
