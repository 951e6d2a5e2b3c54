//! nona's NHWC convolution and GEMM beside candle's `conv2d` (NCHW, im2col + the `gemm` crate)
//! and `matmul` on ResNet-18's layer shapes (224×224 input), at batch 1 and 8, same run,
//! alternating: median milliseconds per call over rounds, and GFLOP/s (2·m·n·k).
//!
//! `cargo bench -p nona_kernels --bench conv [-- FILTER]` (FILTER: part of a row's name).
//! nona's convolution includes its fused bias + ReLU; candle's is the bare convolution.
#![allow(clippy::print_stdout, reason = "a bench reports its measurements")]

use std::time::{Duration, Instant};

use candle_core::{Device, Tensor};
use nona_kernels::gemm::{self, Activation, Epilogue, PackedB};
use nona_kernels::{Conv2d, Nhwc, Pads};

const ROUNDS: usize = 5;
const ROUND_TIME: Duration = Duration::from_millis(300);

/// Seconds per call of `work`, run for at least [`ROUND_TIME`].
fn seconds_per_call(mut work: impl FnMut()) -> f64 {
    work();
    let (mut calls, start) = (0u32, Instant::now());
    while calls < 2 || start.elapsed() < ROUND_TIME {
        work();
        calls += 1;
    }
    start.elapsed().as_secs_f64() / f64::from(calls)
}

/// Median seconds per call of `nona` and of `candle`, timed alternately.
fn race(mut nona: impl FnMut(), mut candle: impl FnMut()) -> (f64, f64) {
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        ours.push(seconds_per_call(&mut nona));
        theirs.push(seconds_per_call(&mut candle));
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    (median(ours), median(theirs))
}

fn report(name: &str, flops: f64, (nona, candle): (f64, f64)) {
    println!(
        "{name:<34} {:>9.3} {:>8.1} {:>9.3} {:>8.1} {:>7.2}",
        nona * 1e3,
        flops / nona / 1e9,
        candle * 1e3,
        flops / candle / 1e9,
        candle / nona
    );
}

fn values(len: usize) -> Vec<f32> {
    (0..len)
        .map(|i| ((i * 7919) % 1000) as f32 / 500.0 - 1.0)
        .collect()
}

fn main() -> candle_core::Result<()> {
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let wanted = |name: &str| filter.is_empty() || filter.iter().any(|f| name.contains(f.as_str()));
    println!(
        "{:<34} {:>9} {:>8} {:>9} {:>8} {:>7}   (gemm: {}, {} threads)",
        "shape",
        "nona ms",
        "GFLOP/s",
        "candle ms",
        "GFLOP/s",
        "speedup",
        gemm::isa(),
        rayon::current_num_threads()
    );
    // (name, in, out, kernel, stride, input side) of ResNet-18 at 224×224.
    let layers = [
        ("stem 7x7/2 3->64 @224", 3, 64, 7, 2, 224),
        ("layer1 3x3 64->64 @56", 64, 64, 3, 1, 56),
        ("layer2 3x3/2 64->128 @56", 64, 128, 3, 2, 56),
        ("layer2 1x1/2 64->128 @56", 64, 128, 1, 2, 56),
        ("layer2 3x3 128->128 @28", 128, 128, 3, 1, 28),
        ("layer3 3x3 256->256 @14", 256, 256, 3, 1, 14),
        ("layer4 3x3 512->512 @7", 512, 512, 3, 1, 7),
    ];
    let device = Device::Cpu;
    for batch in [1, 8] {
        for (layer, cin, cout, kernel, stride, side) in layers {
            let name = format!("{layer} b{batch}");
            if !wanted(&name) {
                continue;
            }
            let pad = kernel / 2;
            let shape = Nhwc {
                batch,
                height: side,
                width: side,
                channels: cin,
            };
            let weight = values(cout * cin * kernel * kernel);
            let conv = Conv2d::from_oihw(&weight, values(cout), cin, kernel, stride);
            let out = conv
                .output_shape(shape, Pads::uniform(pad))
                .expect("valid layer");
            let input = values(shape.len());
            let mut output = vec![0f32; out.len()];
            let x = Tensor::from_vec(input.clone(), (batch, cin, side, side), &device)?;
            let w = Tensor::from_vec(weight, (cout, cin, kernel, kernel), &device)?;
            let flops = 2.0 * (out.pixels() * cout * cin * kernel * kernel) as f64;
            let times = race(
                || {
                    conv.forward(
                        &input,
                        shape,
                        Pads::uniform(pad),
                        None,
                        Activation::Relu,
                        &mut output,
                    )
                },
                || drop(x.conv2d(&w, pad, stride, 1, 1).expect("candle conv2d")),
            );
            report(&name, flops, times);
        }
    }
    // The GEMMs under layer1's and layer4's 3×3 convolutions at batch 1 (m × k × n).
    for (m, k, n) in [(3136, 576, 64), (49, 4608, 512), (392, 4608, 512)] {
        let name = format!("gemm {m}x{k}x{n}");
        if !wanted(&name) {
            continue;
        }
        let (a, b) = (values(m * k), values(k * n));
        let packed = PackedB::from_row_major(&b, k, n);
        let mut c = vec![0f32; m * n];
        let (a_t, b_t) = (
            Tensor::from_vec(a.clone(), (m, k), &device)?,
            Tensor::from_vec(b, (k, n), &device)?,
        );
        let times = race(
            || gemm::gemm(&a, m, &packed, &Epilogue::default(), &mut c),
            || drop(a_t.matmul(&b_t).expect("candle matmul")),
        );
        report(&name, 2.0 * (m * n * k) as f64, times);
    }
    Ok(())
}
