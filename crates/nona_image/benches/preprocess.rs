//! Throughput of decode + Houses-style preprocessing (shorter side 256, center crop 224,
//! ImageNet normalize) on 512x384 PNG and JPEG inputs, on 1 thread and on all cores.
//!
//! Run with `cargo bench -p nona_image --bench preprocess`.

#![allow(clippy::print_stdout)] // printing the measurement is the point of this binary

use std::io::Cursor;
use std::path::Path;
use std::time::Instant;

use image::{ImageFormat, RgbImage};
use nona_image::{Channels, Normalize, Preprocessor, Resize, Transform};
use rayon::prelude::*;

const WIDTH: u32 = 512;
const HEIGHT: u32 = 384;
const IMAGES: usize = 96;

/// Smooth colour gradients with per-image pseudo-random texture, so codecs do realistic work.
fn synthetic_photo(seed: u32) -> RgbImage {
    let mut state = seed.wrapping_mul(0x9E37_79B9) | 1;
    RgbImage::from_fn(WIDTH, HEIGHT, |x, y| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let noise = (state % 24) as u8;
        let r = (x * 255 / WIDTH) as u8;
        let g = (y * 255 / HEIGHT) as u8;
        let b = ((x + y + seed) % 256) as u8;
        image::Rgb([
            r.saturating_add(noise),
            g.saturating_add(noise / 2),
            b.saturating_sub(noise),
        ])
    })
}

fn encode(photo: &RgbImage, format: ImageFormat) -> Vec<u8> {
    let mut bytes = Cursor::new(Vec::new());
    photo
        .write_to(&mut bytes, format)
        .expect("encoding a synthetic image");
    bytes.into_inner()
}

/// Images per second for processing every input once on a pool of `threads` threads.
fn images_per_second(preprocessor: &Preprocessor, inputs: &[Vec<u8>], threads: usize) -> f64 {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("thread pool");
    let run = || {
        pool.install(|| {
            inputs
                .par_iter()
                .map(|bytes| preprocessor.process_bytes(bytes, Path::new("bench")))
                .collect::<Vec<_>>()
        })
    };
    run(); // warm up
    let start = Instant::now();
    let results = run();
    let seconds = start.elapsed().as_secs_f64();
    assert!(
        results.iter().all(Result::is_ok),
        "a benchmark image failed to process"
    );
    inputs.len() as f64 / seconds
}

fn main() {
    let preprocessor = Preprocessor::new(
        Channels::Rgb,
        vec![
            Transform::Resize(Resize::ShorterSide(256)),
            Transform::CenterCrop {
                height: 224,
                width: 224,
            },
            Transform::Normalize(Normalize::imagenet()),
        ],
    )
    .expect("valid transforms");
    let photos: Vec<RgbImage> = (0..IMAGES as u32).map(synthetic_photo).collect();
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    for format in [ImageFormat::Png, ImageFormat::Jpeg] {
        let inputs: Vec<Vec<u8>> = photos.iter().map(|photo| encode(photo, format)).collect();
        for threads in [1, cores] {
            let rate = images_per_second(&preprocessor, &inputs, threads);
            println!(
                "{format:?} {WIDTH}x{HEIGHT} -> 3x224x224, {threads} thread(s): {rate:.1} images/s"
            );
        }
    }
}
