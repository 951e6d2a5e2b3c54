//! Times the full k-NN baseline (scaler, the reference code's 20 grid points x 4 folds, refit,
//! predict) on generated tables. Run: `cargo bench -p nona_knn --bench knn_grid [-- 10000 100000]`.
#![allow(clippy::print_stdout)]

use std::time::Instant;

use nona_knn::{GridSpec, KnnBaseline, Matrix};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const FEATURES: usize = 25;

/// Standard-normal features (Box-Muller) and a noisy non-linear target, like
/// `bench_sklearn.py` generates.
fn table(rows: usize, rng: &mut ChaCha8Rng) -> (Matrix, Vec<f64>) {
    let mut normal = || {
        let (u, v): (f64, f64) = (rng.random::<f64>(), rng.random::<f64>());
        (-2.0 * (1.0 - u).ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    };
    let x: Vec<f64> = (0..rows * FEATURES).map(|_| normal()).collect();
    let y = x
        .chunks_exact(FEATURES)
        .map(|r| r[0] + 0.5 * r[1] * r[2] + r[3].sin())
        .zip(std::iter::repeat_with(&mut normal))
        .map(|(signal, noise)| signal + 0.1 * noise)
        .collect();
    (Matrix::new(x, rows, FEATURES).expect("shape"), y)
}

fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![10_000, 100_000]
    } else {
        sizes
    };
    println!(
        "| train rows x features | test rows | grid search + refit (s) | predict (s) | best (k, p, weights) |"
    );
    println!("|---|---|---|---|---|");
    for rows in sizes {
        let mut rng = ChaCha8Rng::seed_from_u64(rows as u64);
        let (x_train, y_train) = table(rows, &mut rng);
        let (x_test, _) = table(rows / 4, &mut rng);
        let start = Instant::now();
        let baseline = KnnBaseline::fit(&x_train, &y_train, &GridSpec::default()).expect("fit");
        let fit_s = start.elapsed().as_secs_f64();
        let start = Instant::now();
        let predictions = baseline.predict(&x_test).expect("predict");
        let predict_s = start.elapsed().as_secs_f64();
        let best = baseline.search.best();
        println!(
            "| {rows} x {FEATURES} | {} | {fit_s:.2} | {predict_s:.2} | ({}, {}, {}) |",
            predictions.len(),
            best.n_neighbors,
            best.metric.p(),
            best.weights.as_str()
        );
    }
}
