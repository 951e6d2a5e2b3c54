//! The embed stage's end-to-end rate beside its parts, over the same generated images (an RSNA
//! phantom as `make rsna` makes: 256×256 grayscale PNGs, resized to 224×224 RGB, batch 16):
//! - decode + preprocess alone, on a pool of as many threads as the stage's decode pool;
//! - the backbone alone on the preprocessed images, in batches of the stage's size;
//! - the embed stage end to end (the engine running `[embed]`, as `nona run --stage embed`).
//!
//! When decoding is not the bottleneck, end to end should be within 10 % of the backbone alone.
//!
//! `cargo bench -p nona_stages --bench embed_rate [-- BACKBONE [IMAGES]]` (default
//! `efficientnet_lite0 512`); synthetic weights (speed does not depend on their values).
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a bench reports its measurements"
)]

use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use nona_backbones::weights::SyntheticWeights;
use nona_backbones::{BackboneInput, build_backbone};
use nona_image::{Channels, ImageTensor, Normalize, Preprocessor, Resize, Transform};
use nona_pipeline::config::Pipeline;
use nona_pipeline::engine::{Engine, RunOptions};
use nona_pipeline::shard::Shard;

const BATCH: usize = 16;
const SIDE: usize = 224;
const ROUNDS: usize = 2;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let backbone = args.first().map_or("efficientnet_lite0", String::as_str);
    let count: usize = args.get(1).map_or(Ok(512), |n| n.parse())?;
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("phantom");
    let config = nona_phantom::PhantomConfig {
        count,
        size: 256,
        seed: 0,
    };
    nona_phantom::generate(&data, &config, |_| {})?;
    let pipeline_file = dir.path().join("embed-rate.toml");
    std::fs::write(&pipeline_file, pipeline_toml(&data, backbone))?;
    let pipeline = Pipeline::load(&pipeline_file, nona_stages::STAGES)?;
    let runs = dir.path().join("runs");
    run_stage(&pipeline, &runs, "preprocess")?;

    let decode_threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let paths: Vec<_> = (0..count)
        .map(|i| {
            data.join(format!(
                "boneage-training-dataset/{}.png",
                nona_phantom::FIRST_ID + i as u64
            ))
        })
        .collect();
    println!(
        "embed stage, {backbone} (synthetic weights), {count} generated 256×256 PNGs -> 224×224, batch {BATCH}; \
         decode pool {decode_threads} threads, candle {} threads; images/s",
        candle_core::utils::get_num_threads()
    );
    let (decode_rate, images) = decode(&paths, decode_threads)?;
    println!(
        "{:<48} {decode_rate:>10.1}",
        "decode + preprocess alone (decode pool)"
    );
    for round in 1..=ROUNDS {
        let alone = backbone_alone(backbone, &images)?;
        let start = Instant::now();
        run_stage(&pipeline, &runs, "embed")?;
        let end_to_end = count as f64 / start.elapsed().as_secs_f64();
        println!(
            "{:<48} {alone:>10.1}",
            format!("backbone alone, round {round}")
        );
        println!(
            "{:<48} {end_to_end:>10.1}   ({:.0} % of the backbone alone)",
            format!("end to end (embed stage), round {round}"),
            100.0 * end_to_end / alone
        );
    }
    Ok(())
}

/// `make rsna`'s dataset, preprocess and embed sections on the phantom in `data`.
fn pipeline_toml(data: &Path, backbone: &str) -> String {
    format!(
        r#"name = "embed-rate"
[dataset]
root = "{}"
manifest = "boneage-training-dataset.csv"
modality = "image"
id_column = "id"
input_column = "id"
input_template = "boneage-training-dataset/{{}}.png"
label_column = "boneage"
synthetic = true

[preprocess]
shard_rows = 1024

[preprocess.image]
channels = "rgb"
transforms = [{{ resize = [{SIDE}, {SIDE}] }}, {{ normalize = "half" }}]

[embed]
backbone = "{backbone}"
weights = "synthetic"
batch_size = {BATCH}
shard_rows = 256
"#,
        data.display()
    )
}

/// Runs (again) one stage of `pipeline` and what it needs.
fn run_stage(pipeline: &Pipeline, runs: &Path, stage: &str) -> anyhow::Result<()> {
    let stages = nona_stages::build(pipeline)?;
    let options = RunOptions {
        stage: Some(stage.to_owned()),
        force: true,
        shard: Shard::WHOLE,
    };
    Engine::new(pipeline, runs, stages)
        .run(&options, |_| {})
        .with_context(|| format!("running `{stage}`"))?;
    Ok(())
}

/// Decodes and preprocesses `paths` as the stage does (windows of a batch on a pool of
/// `threads`); returns images/s and the images.
fn decode(paths: &[std::path::PathBuf], threads: usize) -> anyhow::Result<(f64, Vec<ImageTensor>)> {
    let preprocessor = Preprocessor::new(
        Channels::Rgb,
        vec![
            Transform::Resize(Resize::Exact {
                height: SIDE,
                width: SIDE,
            }),
            Transform::Normalize(Normalize::half()),
        ],
    )?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()?;
    let start = Instant::now();
    let mut images = Vec::with_capacity(paths.len());
    for window in paths.chunks(BATCH) {
        for image in preprocessor.process_paths(window, &pool) {
            images.push(image?);
        }
    }
    Ok((paths.len() as f64 / start.elapsed().as_secs_f64(), images))
}

/// The backbone alone on `images` in batches of [`BATCH`]; images/s (the backbone is built
/// before the clock starts, and the stacking of each batch is timed).
fn backbone_alone(name: &str, images: &[ImageTensor]) -> anyhow::Result<f64> {
    let backbone = build_backbone(
        name,
        VarBuilder::from_backend(Box::new(SyntheticWeights), DType::F32, Device::Cpu),
    )?;
    let start = Instant::now();
    for batch in images.chunks(BATCH) {
        let data: Vec<f32> = batch.iter().flat_map(|i| i.data.iter().copied()).collect();
        let tensor = Tensor::from_vec(data, (batch.len(), 3, SIDE, SIDE), &Device::Cpu)?;
        backbone.embed(&BackboneInput::Images(tensor))?;
    }
    Ok(images.len() as f64 / start.elapsed().as_secs_f64())
}
