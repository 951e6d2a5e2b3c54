//! The GEMM against the triple loop of [`crate::reference`], with every microkernel this CPU runs.

use super::microkernel::{self, Kernel};
use super::*;
use crate::reference::{self, assert_close, values};

/// The portable kernel, and the detected SIMD one when there is one.
fn kernels() -> Vec<(Kernel, &'static str)> {
    let mut kernels = vec![(microkernel::portable as Kernel, "portable")];
    let selected = microkernel::selected();
    if selected.1 != "portable" {
        kernels.push(selected);
    }
    kernels
}

/// `(m, k, n)`: sizes of 1, not multiples of the 6 × 16 tile, `k` over one block (384) and over
/// several, 1280 columns.
const SHAPES: [(usize, usize, usize); 11] = [
    (1, 1, 1),
    (1, 17, 7),
    (7, 1, 17),
    (17, 7, 1),
    (7, 130, 100),
    (100, 7, 17),
    (131, 400, 33),
    (6, 384, 16),
    (13, 1000, 160),
    (1, 17, 1280),
    (150, 3, 64),
];

fn run_shapes(threads: usize) {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    for (kernel, name) in kernels() {
        for (m, k, n) in SHAPES {
            let (a, b) = (values(m * k, 1), values(k * n, 2));
            let (bias, residual) = (values(n, 3), values(m * n, 4));
            let packed = PackedB::from_row_major(&b, k, n);
            let epilogues = [
                (None, None, Activation::None),
                (Some(&bias[..]), None, Activation::Relu),
                (Some(&bias[..]), Some(&residual[..]), Activation::Relu6),
                (None, Some(&residual[..]), Activation::Silu),
            ];
            for (bias, residual, activation) in epilogues {
                let epilogue = Epilogue {
                    bias,
                    residual,
                    activation,
                };
                // NaN everywhere first: every element must be written.
                let mut c = vec![f32::NAN; m * n];
                pool.install(|| {
                    gemm_rows(
                        kernel,
                        &Dense { data: &a, k },
                        m,
                        &packed,
                        &epilogue,
                        &mut c,
                    )
                });
                let expected = reference::gemm(&a, &b, (m, k, n), bias, residual, activation);
                assert_close(
                    &c,
                    &expected,
                    &format!("{name} {threads} threads {m}×{k}×{n} {epilogue:?}"),
                );
            }
        }
    }
}

#[test]
fn matches_the_triple_loop_on_one_thread() {
    run_shapes(1);
}

#[test]
fn matches_the_triple_loop_on_three_threads() {
    run_shapes(3);
}

#[test]
fn an_empty_inner_dimension_leaves_the_epilogue() {
    let (bias, residual) = (values(5, 1), values(15, 2));
    let packed = PackedB::from_row_major(&[], 0, 5);
    let mut c = vec![f32::NAN; 15];
    let epilogue = Epilogue {
        bias: Some(&bias),
        residual: Some(&residual),
        activation: Activation::Relu,
    };
    gemm(&[], 3, &packed, &epilogue, &mut c);
    let expected = reference::gemm(
        &[],
        &[],
        (3, 0, 5),
        Some(&bias),
        Some(&residual),
        Activation::Relu,
    );
    assert_close(&c, &expected, "k = 0");
}

#[test]
fn plans_cover_every_element_once() {
    for (m, n, k) in [
        (1, 1, 1),
        (49, 512, 4608),
        (3136, 64, 576),
        (7, 1280, 3),
        (12544, 64, 147),
        (100, 17, 5000),
    ] {
        for threads in [1, 2, 3, 16] {
            let plan = Plan::new(m, n, k, threads);
            assert!(
                plan.kc >= 1 && plan.kc <= KC_MAX && plan.mc.is_multiple_of(MR),
                "{m}×{n}×{k}"
            );
            let mut covered = vec![0u8; m * plan.total_panels];
            for t in 0..plan.tiles() {
                let (rows, panels) = plan.tile(t);
                assert!(rows.len() <= MC_MAX, "{m}×{n}: {} rows", rows.len());
                for row in rows {
                    for panel in panels.clone() {
                        covered[row * plan.total_panels + panel] += 1;
                    }
                }
            }
            assert!(
                covered.iter().all(|&c| c == 1),
                "{m}×{n}×{k} on {threads} threads"
            );
            if threads > 1 && m >= 6 * threads {
                assert!(
                    plan.tiles() >= threads,
                    "{m}×{n}: {} tiles for {threads} threads",
                    plan.tiles()
                );
            }
        }
    }
}
