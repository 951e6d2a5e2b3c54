//! Training time per epoch of the NONA and dense heads on a random `10k × 512` embedding table
//! (the paper's settings: projector 512 → 200 → 25, batch 32, −L2 + S2 pointwise for NONA).
//! Prints a Markdown table. `BENCH_ROWS` and `BENCH_EPOCHS` override the defaults (10000, 3).
//!
//! Run: `cargo bench -p nona_train --bench train_epoch` (`RAYON_NUM_THREADS=1` for one core, what
//! each cell gets when the train stage runs one cell per core); the PyTorch reference is
//! `tests/fixtures/train/bench_reference.py` (`--threads 1` likewise).
#![allow(clippy::print_stdout)]

use std::time::Instant;

use nona_train::{HeadKind, ModelConfig, OptimConfig, Trainer};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const DIM: usize = 512;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() -> nona_train::Result<()> {
    let rows = env_or("BENCH_ROWS", 10_000);
    let epochs = env_or("BENCH_EPOCHS", 3);
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let features: Vec<f32> = (0..rows * DIM)
        .map(|_| rng.random_range(-1.0..1.0))
        .collect();
    let labels: Vec<f64> = (0..rows).map(|_| rng.random()).collect();
    let optim = OptimConfig::default();
    println!("| head | rows | batch | epochs timed | seconds / epoch (mean) | min | threads |");
    println!("|---|---|---|---|---|---|---|");
    for head in HeadKind::ALL {
        let model = ModelConfig {
            head,
            ..ModelConfig::default()
        };
        let mut trainer = Trainer::new(&model, &optim, 0, DIM, &features, &labels)?;
        trainer.train_epoch()?; // warm-up
        let mut times = Vec::with_capacity(epochs);
        for _ in 0..epochs {
            let start = Instant::now();
            let loss = trainer.train_epoch()?;
            times.push(start.elapsed().as_secs_f64());
            assert!(loss.is_finite(), "loss became {loss}");
        }
        let mean = times.iter().sum::<f64>() / times.len() as f64;
        let min = times.iter().copied().fold(f64::INFINITY, f64::min);
        println!(
            "| {head} | {rows} | {} | {epochs} | {mean:.3} | {min:.3} | {} |",
            optim.batch_size,
            candle_core::utils::get_num_threads()
        );
    }
    Ok(())
}
