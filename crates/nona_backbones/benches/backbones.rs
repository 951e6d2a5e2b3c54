//! Throughput of every backbone on CPU at batch 1, 8 and 32 (224×224), in images per second.
//!
//! `cargo bench -p nona_backbones --bench backbones [-- NAME...]`; compare with
//! `tests/fixtures/backbones/bench_torch.py` on the same machine. Synthetic weights: speed does not
//! depend on their values.
#![allow(clippy::print_stdout, reason = "a bench reports its measurements")]

use std::time::{Duration, Instant};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use nona_backbones::weights::SyntheticWeights;
use nona_backbones::{BackboneInput, backbone_names, build_backbone};

const BATCHES: [usize; 3] = [1, 8, 32];
const MIN_TIME: Duration = Duration::from_secs(3);

fn main() -> nona_backbones::Result<()> {
    let wanted: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let device = Device::Cpu;
    println!(
        "{:<20} {:>10} {:>10} {:>10}   (images/s, candle CPU, {} threads)",
        "backbone",
        "b1",
        "b8",
        "b32",
        candle_core::utils::get_num_threads()
    );
    // Text backbones have their own bench (benches/text.rs).
    let images = backbone_names().filter(|n| nona_backbones::text::registered_config(n).is_none());
    for name in images.filter(|n| wanted.is_empty() || wanted.iter().any(|w| w == n)) {
        let backbone = build_backbone(
            name,
            VarBuilder::from_backend(Box::new(SyntheticWeights), DType::F32, device.clone()),
        )?;
        let mut row = format!("{name:<20}");
        for batch in BATCHES {
            let images =
                BackboneInput::Images(Tensor::randn(0f32, 1f32, (batch, 3, 224, 224), &device)?);
            backbone.embed(&images)?; // warm-up
            let (mut runs, start) = (0, Instant::now());
            while runs < 2 || start.elapsed() < MIN_TIME {
                backbone.embed(&images)?;
                runs += 1;
            }
            let per_second = (runs * batch) as f64 / start.elapsed().as_secs_f64();
            row.push_str(&format!(" {per_second:>10.1}"));
        }
        println!("{row}");
    }
    Ok(())
}
