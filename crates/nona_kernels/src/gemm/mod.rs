//! `C (m × n) = act(A (m × k) · B (k × n) + bias + residual)`, with `B` packed once at load.
//!
//! Blocking: `C` is cut into tiles of up to 72 rows (`MC_MAX`) × a range of 16-column panels
//! (`NR`); rayon runs the tiles on the caller's pool. Within a tile, for each block of at most
//! 384 steps of `k` (`KC_MAX`), the tile's rows of `A` are fetched once (read in place, or
//! gathered by the caller's `RowSource`, e.g. im2col) and stay in L2 while each panel of `B` (a
//! `kc × NR` sliver, in L1) meets every `MR`-row strip of them in the microkernel. After the last
//! block of `k` the [`Epilogue`] finishes each `MR × NR` tile in the microkernel's registers (a
//! tile cut short by the edge of `C`: in L1, right after).
//!
//! Summation order: each output is `Σ_k a·b` accumulated in `k` order within a block of `k`
//! (with FMA on AVX2), the blocks' partial sums added in order; then bias, residual, activation.

mod epilogue;
mod microkernel;
mod packed;
#[cfg(test)]
mod tests;

use std::ops::Range;

pub use epilogue::{Activation, Epilogue};
use microkernel::Finish;
pub(crate) use microkernel::Kernel;
pub use packed::PackedB;
use rayon::prelude::*;

/// Rows of the microkernel's tile.
pub(crate) const MR: usize = 6;
/// Columns of the microkernel's tile (two AVX registers).
pub(crate) const NR: usize = 16;
/// Most rows of `A` a tile holds in L2 (a multiple of [`MR`]).
const MC_MAX: usize = 72;
/// Most steps of `k` per block: a `kc × NR` sliver of `B` is 24 KiB, inside a 32 KiB L1.
const KC_MAX: usize = 384;

/// The instruction set the GEMM runs with on this CPU (`avx2+fma` or `portable`).
pub fn isa() -> &'static str {
    microkernel::selected().1
}

/// The microkernel this CPU runs.
pub(crate) fn selected_kernel() -> Kernel {
    microkernel::selected().0
}

/// Where the GEMM reads the rows of `A`.
pub(crate) trait RowSource: Sync {
    /// The block `rows × ks` of `A` as row-major memory: read in place, or written into `scratch`.
    fn block<'a>(
        &'a self,
        rows: Range<usize>,
        ks: Range<usize>,
        scratch: &'a mut Vec<f32>,
    ) -> RowBlock<'a>;
}

/// A block of `A`: element `(i, kk)` at `data[i · stride + kk]`.
pub(crate) struct RowBlock<'a> {
    pub(crate) data: &'a [f32],
    pub(crate) stride: usize,
}

/// A row-major `m × k` matrix read in place.
pub(crate) struct Dense<'a> {
    pub(crate) data: &'a [f32],
    pub(crate) k: usize,
}

impl RowSource for Dense<'_> {
    fn block<'a>(
        &'a self,
        rows: Range<usize>,
        ks: Range<usize>,
        _: &'a mut Vec<f32>,
    ) -> RowBlock<'a> {
        RowBlock {
            data: &self.data[rows.start * self.k + ks.start..rows.end * self.k],
            stride: self.k,
        }
    }
}

/// `c = act(a · b + bias + residual)` for a row-major `m × k` `a` and `m × n` `c`.
pub fn gemm(a: &[f32], m: usize, b: &PackedB, epilogue: &Epilogue, c: &mut [f32]) {
    assert_eq!(
        a.len(),
        m * b.k(),
        "gemm: {} values in A, expected {m} × {}",
        a.len(),
        b.k()
    );
    gemm_rows(
        selected_kernel(),
        &Dense { data: a, k: b.k() },
        m,
        b,
        epilogue,
        c,
    );
}

/// The GEMM over any [`RowSource`] of `m` rows, with a given microkernel.
pub(crate) fn gemm_rows(
    kernel: Kernel,
    a: &impl RowSource,
    m: usize,
    b: &PackedB,
    epilogue: &Epilogue,
    c: &mut [f32],
) {
    let (k, n) = (b.k(), b.n());
    assert_eq!(
        c.len(),
        m * n,
        "gemm: {} values in C, expected {m} × {n}",
        c.len()
    );
    epilogue.check(m, n);
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        c.fill(0.0);
        for (row, out) in c.chunks_exact_mut(n).enumerate() {
            epilogue.apply(row, 0..n, n, out);
        }
        return;
    }
    let plan = Plan::new(m, n, k, rayon::current_num_threads());
    let out = SharedOutput(c.as_mut_ptr());
    (0..plan.tiles())
        .into_par_iter()
        .for_each_init(Vec::new, |scratch, tile| {
            let (rows, panels) = plan.tile(tile);
            // SAFETY: `c` holds `m × n` floats, exclusively borrowed for this call, and the tiles of
            // the plan are disjoint: each writes only its own rows × panel columns.
            unsafe { compute_tile(kernel, a, b, epilogue, &plan, rows, panels, scratch, out) };
        });
}

/// The output pointer, shared by tiles that write disjoint parts of it.
#[derive(Clone, Copy)]
struct SharedOutput(*mut f32);
// SAFETY: each tile writes only its own elements (see `gemm_rows`).
unsafe impl Send for SharedOutput {}
// SAFETY: as above.
unsafe impl Sync for SharedOutput {}

/// How `C` is cut into tiles for the threads and how `k` is blocked.
struct Plan {
    m: usize,
    n: usize,
    k: usize,
    mc: usize,
    kc: usize,
    panels_per_tile: usize,
    column_tiles: usize,
    total_panels: usize,
}

impl Plan {
    /// Tiles of up to [`MC_MAX`] rows; with several threads, at least four tiles per thread when
    /// the shape allows (split columns first, then rows), so that the threads finish together.
    fn new(m: usize, n: usize, k: usize, threads: usize) -> Self {
        let total_panels = n.div_ceil(NR);
        let kc = k.div_ceil(k.div_ceil(KC_MAX));
        let wanted = if threads > 1 { 4 * threads } else { 1 };
        let mut mc = MC_MAX.min(m.next_multiple_of(MR));
        let column_tiles = wanted.div_ceil(m.div_ceil(mc)).clamp(1, total_panels);
        let panels_per_tile = total_panels.div_ceil(column_tiles);
        let column_tiles = total_panels.div_ceil(panels_per_tile);
        if m.div_ceil(mc) * column_tiles < wanted {
            let row_tiles = wanted.div_ceil(column_tiles);
            mc = m.div_ceil(row_tiles).next_multiple_of(MR);
        }
        Self {
            m,
            n,
            k,
            mc,
            kc,
            panels_per_tile,
            column_tiles,
            total_panels,
        }
    }

    fn tiles(&self) -> usize {
        self.m.div_ceil(self.mc) * self.column_tiles
    }

    /// Rows and panels of tile `t`.
    fn tile(&self, t: usize) -> (Range<usize>, Range<usize>) {
        let (row_tile, column_tile) = (t / self.column_tiles, t % self.column_tiles);
        let rows = row_tile * self.mc..((row_tile + 1) * self.mc).min(self.m);
        let first = column_tile * self.panels_per_tile;
        (
            rows,
            first..(first + self.panels_per_tile).min(self.total_panels),
        )
    }
}

/// Computes and finishes the tile `rows × panels` of `C`.
///
/// # Safety
/// `out` points to the `m × n` output, and nothing else accesses this tile's elements meanwhile.
#[allow(
    clippy::too_many_arguments,
    reason = "the loop nest's state, passed once per tile"
)]
unsafe fn compute_tile(
    kernel: Kernel,
    a: &impl RowSource,
    b: &PackedB,
    epilogue: &Epilogue,
    plan: &Plan,
    rows: Range<usize>,
    panels: Range<usize>,
    scratch: &mut Vec<f32>,
    out: SharedOutput,
) {
    let (n, k) = (plan.n, plan.k);
    for k_start in (0..k).step_by(plan.kc) {
        let ks = k_start..(k_start + plan.kc).min(k);
        let kc = ks.len();
        let block = a.block(rows.clone(), ks.clone(), scratch);
        assert!(
            block.stride >= kc && (rows.len() - 1) * block.stride + kc <= block.data.len(),
            "gemm: a block of A is smaller than {} × {kc}",
            rows.len()
        );
        let (accumulate, last) = (k_start > 0, ks.end == k);
        for panel in panels.clone() {
            let cols = panel * NR..((panel + 1) * NR).min(n);
            let b_sliver = b.panel(panel)[ks.clone()].as_ptr().cast::<f32>();
            for strip in (0..rows.len()).step_by(MR) {
                let mr = MR.min(rows.len() - strip);
                // Rows past the end of a short strip repeat its last row; their results are dropped.
                let a_rows: [*const f32; MR] = std::array::from_fn(|i| {
                    block.data[(strip + i.min(mr - 1)) * block.stride..].as_ptr()
                });
                let row0 = rows.start + strip;
                // SAFETY: `a_rows` point to `kc` floats each (checked above), `b_sliver` to `kc`
                // aligned lines of the panel, and the caller gives this tile's elements of
                // `out` to this call alone; a short tile goes through a local buffer. A full
                // tile's bias (`n` values, checked) holds `NR` from `cols.start`, its residual
                // (`m × n`, checked) `MR` rows of `NR` from `(row0, cols.start)`.
                unsafe {
                    let corner = out.0.add(row0 * n + cols.start);
                    if mr == MR && cols.len() == NR {
                        let finish = last.then(|| Finish {
                            bias: epilogue
                                .bias
                                .map_or(std::ptr::null(), |bias| bias[cols.start..].as_ptr()),
                            residual: epilogue.residual.map_or(std::ptr::null(), |residual| {
                                residual[row0 * n + cols.start..].as_ptr()
                            }),
                            residual_stride: n,
                            activation: epilogue.activation,
                        });
                        kernel(
                            kc,
                            &a_rows,
                            b_sliver,
                            corner,
                            n,
                            accumulate,
                            finish.as_ref(),
                        );
                        continue;
                    }
                    let mut local = [0f32; MR * NR];
                    for i in 0..mr {
                        let row = std::slice::from_raw_parts_mut(corner.add(i * n), cols.len());
                        local[i * NR..i * NR + cols.len()].copy_from_slice(row);
                    }
                    kernel(
                        kc,
                        &a_rows,
                        b_sliver,
                        local.as_mut_ptr(),
                        NR,
                        accumulate,
                        None,
                    );
                    for i in 0..mr {
                        let row = std::slice::from_raw_parts_mut(corner.add(i * n), cols.len());
                        row.copy_from_slice(&local[i * NR..i * NR + cols.len()]);
                    }
                    if last {
                        for i in 0..mr {
                            let row = std::slice::from_raw_parts_mut(corner.add(i * n), cols.len());
                            epilogue.apply(row0 + i, cols.clone(), n, row);
                        }
                    }
                }
            }
        }
    }
}
