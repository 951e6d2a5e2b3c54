//! Throughput of the text backbones on CPU at 128 tokens, batch 1 and 32, in sequences per second.
//!
//! `cargo bench -p nona_backbones --bench text [-- NAME...]`; compare with
//! `tests/fixtures/text/bench_torch.py` on the same machine. Synthetic weights: speed does not
//! depend on their values.
#![allow(clippy::print_stdout, reason = "a bench reports its measurements")]

use std::time::{Duration, Instant};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use nona_backbones::weights::SyntheticWeights;
use nona_backbones::{BackboneInput, backbone_names, build_backbone};

const BATCHES: [usize; 2] = [1, 32];
const TOKENS: usize = 128;
const MIN_TIME: Duration = Duration::from_secs(5);

fn main() -> nona_backbones::Result<()> {
    let wanted: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let device = Device::Cpu;
    println!(
        "{:<16} {:>10} {:>10}   (sequences/s at {TOKENS} tokens, candle CPU, {} threads)",
        "backbone",
        "b1",
        "b32",
        candle_core::utils::get_num_threads()
    );
    let text = backbone_names().filter(|n| nona_backbones::text::registered_config(n).is_some());
    for name in text.filter(|n| wanted.is_empty() || wanted.iter().any(|w| w == n)) {
        let backbone = build_backbone(
            name,
            VarBuilder::from_backend(Box::new(SyntheticWeights), DType::F32, device.clone()),
        )?;
        let mut row = format!("{name:<16}");
        for batch in BATCHES {
            let ids: Vec<u32> = (0..batch * TOKENS)
                .map(|i| (i as u32 * 7919) % 29000 + 1000)
                .collect();
            let input = BackboneInput::Tokens {
                input_ids: Tensor::from_vec(ids, (batch, TOKENS), &device)?,
                attention_mask: Tensor::ones((batch, TOKENS), DType::U32, &device)?,
                token_type_ids: None,
            };
            backbone.embed(&input)?; // warm-up
            let (mut runs, start) = (0, Instant::now());
            while runs < 2 || start.elapsed() < MIN_TIME {
                backbone.embed(&input)?;
                runs += 1;
            }
            let per_second = (runs * batch) as f64 / start.elapsed().as_secs_f64();
            row.push_str(&format!(" {per_second:>10.1}"));
        }
        println!("{row}");
    }
    Ok(())
}
