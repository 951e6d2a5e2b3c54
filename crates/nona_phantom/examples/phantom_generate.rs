//! Generates a phantom dataset and reports the time taken:
//! `cargo run --release -p nona_phantom --example phantom_generate -- OUT_DIR [COUNT] [SIZE] [SEED]`.

use std::time::Instant;

use nona_phantom::{PhantomConfig, generate};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let out = args
        .get(1)
        .expect("usage: phantom_generate OUT_DIR [COUNT] [SIZE] [SEED]");
    let defaults = PhantomConfig::default();
    let config = PhantomConfig {
        count: args
            .get(2)
            .and_then(|s| s.parse().ok())
            .unwrap_or(defaults.count),
        size: args
            .get(3)
            .and_then(|s| s.parse().ok())
            .unwrap_or(defaults.size),
        seed: args
            .get(4)
            .and_then(|s| s.parse().ok())
            .unwrap_or(defaults.seed),
    };
    let start = Instant::now();
    let summary = generate(out.as_ref(), &config, |_| {}).expect("generate");
    let seconds = start.elapsed().as_secs_f64();
    #[allow(clippy::print_stdout)]
    {
        println!(
            "{} images written ({} in the dataset) in {seconds:.2} s: {:.0} images/s on {} threads",
            summary.images_written,
            summary.count,
            summary.images_written as f64 / seconds,
            rayon::current_num_threads()
        );
    }
}
