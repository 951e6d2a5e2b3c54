//! Distance kernels that reproduce scikit-learn's brute-force arithmetic bit for bit.
//!
//! scikit-learn ranks neighbours by a *surrogate* distance:
//! - Manhattan (`p = 1`): `sum_f |x_f - y_f|`, accumulated feature by feature.
//! - Euclidean (`p = 2`): `max(0, (|x|^2 + (-2 x.y)) + |y|^2)`, where `|x|^2` comes from BLAS
//!   `ddot` and `x.y` from BLAS `dgemm`. With the OpenBLAS shipped in numpy/scipy wheels on
//!   x86-64 (its Haswell kernels), `ddot` sums 16-element blocks in 16 FMA lanes reduced in a
//!   fixed tree plus a plain tail, and `dgemm` runs one FMA chain per output over K blocks of at
//!   most 256 features (OpenBLAS' `GEMM_Q` split rule). We replicate both, so even ulp-level
//!   near-ties and "zero" self-distances come out exactly as in scikit-learn.
//!
//! Work is tiled as 4 query rows x 8 training rows; training rows are packed feature-major in
//! panels of 8 so each FMA step vectorises across the 8 training rows.

use std::ops::Range;

use crate::{KnnError, Matrix};

/// Training rows per packed panel.
pub(crate) const PANEL_ROWS: usize = 8;
/// Query rows per micro-tile.
pub(crate) const TILE_ROWS: usize = 4;
/// OpenBLAS Haswell `DGEMM_DEFAULT_Q`: largest K block of one FMA chain.
const GEMM_K_BLOCK: usize = 256;
/// OpenBLAS Haswell `DGEMM_DEFAULT_UNROLL_M`, used when halving a K remainder.
const GEMM_UNROLL_M: usize = 4;

/// Distance used to rank neighbours: Minkowski with `p = 1` or `p = 2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metric {
    /// `p = 1`, city-block distance.
    Manhattan,
    /// `p = 2`, Euclidean distance.
    Euclidean,
}

impl Metric {
    /// The metric for Minkowski exponent `p` (1 or 2).
    pub fn from_p(p: u32) -> Result<Self, KnnError> {
        match p {
            1 => Ok(Self::Manhattan),
            2 => Ok(Self::Euclidean),
            _ => Err(KnnError::InvalidParameter(format!(
                "p must be 1 or 2, got {p}"
            ))),
        }
    }

    /// The Minkowski exponent.
    pub fn p(self) -> u32 {
        match self {
            Self::Manhattan => 1,
            Self::Euclidean => 2,
        }
    }

    /// Converts a surrogate distance to the distance scikit-learn reports.
    pub(crate) fn distance_from_surrogate(self, surrogate: f64) -> f64 {
        match self {
            Self::Manhattan => surrogate,
            Self::Euclidean => surrogate.max(0.0).sqrt(),
        }
    }
}

/// Squared norm in OpenBLAS Haswell `ddot` order.
pub(crate) fn blas_squared_norm(row: &[f64]) -> f64 {
    let vectorised = row.len() & !15;
    let mut lanes = [[0.0f64; 4]; 4];
    for block in row[..vectorised].chunks_exact(16) {
        for (lane_group, values) in lanes.iter_mut().zip(block.chunks_exact(4)) {
            for (acc, &v) in lane_group.iter_mut().zip(values) {
                *acc = v.mul_add(v, *acc);
            }
        }
    }
    let halves = lanes.map(|g| [g[0] + g[2], g[1] + g[3]]);
    let pair = [0, 1].map(|h| (halves[0][h] + halves[1][h]) + (halves[2][h] + halves[3][h]));
    let mut dot = pair[0] + pair[1];
    for &v in &row[vectorised..] {
        dot += v * v;
    }
    dot
}

/// K ranges that OpenBLAS `dgemm` accumulates as separate FMA chains.
fn gemm_k_blocks(features: usize) -> Vec<Range<usize>> {
    let mut blocks = Vec::new();
    let mut start = 0;
    while start < features {
        let remaining = features - start;
        let len = if remaining >= 2 * GEMM_K_BLOCK {
            GEMM_K_BLOCK
        } else if remaining > GEMM_K_BLOCK {
            (remaining / 2).div_ceil(GEMM_UNROLL_M) * GEMM_UNROLL_M
        } else {
            remaining
        };
        blocks.push(start..start + len);
        start += len;
    }
    blocks
}

/// Rows of one matrix packed for the micro-kernel, with their BLAS squared norms.
pub(crate) struct PackedRows {
    panels: Vec<f64>,
    squared_norms: Vec<f64>,
    rows: usize,
    cols: usize,
    group: usize,
}

impl PackedRows {
    /// Packs `x` in groups of `group` rows, feature-major inside each group (zero padded).
    fn pack(x: &Matrix, group: usize) -> Self {
        let (rows, cols) = (x.rows(), x.cols());
        let groups = rows.div_ceil(group);
        let mut panels = vec![0.0; groups * cols * group];
        for i in 0..rows {
            let base = (i / group) * cols * group + i % group;
            for (f, &v) in x.row(i).iter().enumerate() {
                panels[base + f * group] = v;
            }
        }
        let squared_norms = (0..rows).map(|i| blas_squared_norm(x.row(i))).collect();
        Self {
            panels,
            squared_norms,
            rows,
            cols,
            group,
        }
    }

    /// Packs training rows in panels of [`PANEL_ROWS`].
    pub(crate) fn training(x: &Matrix) -> Self {
        Self::pack(x, PANEL_ROWS)
    }

    /// Packs query rows in tiles of [`TILE_ROWS`].
    pub(crate) fn queries(x: &Matrix) -> Self {
        Self::pack(x, TILE_ROWS)
    }

    /// Number of (unpadded) rows.
    pub(crate) fn rows(&self) -> usize {
        self.rows
    }

    fn group_slice(&self, g: usize) -> &[f64] {
        let len = self.cols * self.group;
        &self.panels[g * len..(g + 1) * len]
    }
}

/// Surrogate distances between a run of query tiles and a run of training panels.
pub(crate) struct SurrogateBlock<'a> {
    /// The metric.
    pub metric: Metric,
    /// Packed queries.
    pub queries: &'a PackedRows,
    /// Packed training rows.
    pub train: &'a PackedRows,
    /// Query tiles to cover.
    pub query_tiles: Range<usize>,
    /// Training panels to cover.
    pub train_panels: Range<usize>,
}

impl SurrogateBlock<'_> {
    /// Writes surrogates into `out`, laid out `[query row in block][training row in block]`
    /// with a row stride of `train_panels.len() * PANEL_ROWS`; padded entries are garbage.
    pub(crate) fn compute(&self, out: &mut [f64]) {
        pulp::Arch::new().dispatch(SimdBlock { block: self, out });
    }
}

struct SimdBlock<'a, 'b> {
    block: &'a SurrogateBlock<'b>,
    out: &'a mut [f64],
}

impl pulp::WithSimd for SimdBlock<'_, '_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) -> Self::Output {
        fill_block(self.block, self.out);
    }
}

#[inline(always)]
fn fill_block(block: &SurrogateBlock<'_>, out: &mut [f64]) {
    let stride = block.train_panels.len() * PANEL_ROWS;
    let k_blocks = gemm_k_blocks(block.queries.cols);
    for (tile_pos, tile) in block.query_tiles.clone().enumerate() {
        let query_tile = block.queries.group_slice(tile);
        for (panel_pos, panel) in block.train_panels.clone().enumerate() {
            let train_panel = block.train.group_slice(panel);
            let values = match block.metric {
                Metric::Manhattan => manhattan_tile(query_tile, train_panel),
                Metric::Euclidean => {
                    let dots = dot_tile(query_tile, train_panel, &k_blocks);
                    squared_euclidean_tile(block, tile, panel, &dots)
                }
            };
            for (r, row) in values.iter().enumerate() {
                let start = (tile_pos * TILE_ROWS + r) * stride + panel_pos * PANEL_ROWS;
                out[start..start + PANEL_ROWS].copy_from_slice(row);
            }
        }
    }
}

type Tile = [[f64; PANEL_ROWS]; TILE_ROWS];

#[inline(always)]
fn manhattan_tile(query_tile: &[f64], train_panel: &[f64]) -> Tile {
    let mut acc: Tile = [[0.0; PANEL_ROWS]; TILE_ROWS];
    for (q, t) in query_tile
        .chunks_exact(TILE_ROWS)
        .zip(train_panel.chunks_exact(PANEL_ROWS))
    {
        for (row, &x) in acc.iter_mut().zip(q) {
            for (a, &y) in row.iter_mut().zip(t) {
                *a += (x - y).abs();
            }
        }
    }
    acc
}

#[inline(always)]
fn dot_tile(query_tile: &[f64], train_panel: &[f64], k_blocks: &[Range<usize>]) -> Tile {
    let mut total: Tile = [[0.0; PANEL_ROWS]; TILE_ROWS];
    for (b, k) in k_blocks.iter().enumerate() {
        let mut acc: Tile = [[0.0; PANEL_ROWS]; TILE_ROWS];
        let q_block = &query_tile[k.start * TILE_ROWS..k.end * TILE_ROWS];
        let t_block = &train_panel[k.start * PANEL_ROWS..k.end * PANEL_ROWS];
        for (q, t) in q_block
            .chunks_exact(TILE_ROWS)
            .zip(t_block.chunks_exact(PANEL_ROWS))
        {
            for (row, &x) in acc.iter_mut().zip(q) {
                for (a, &y) in row.iter_mut().zip(t) {
                    *a = x.mul_add(y, *a);
                }
            }
        }
        if b == 0 {
            total = acc;
        } else {
            for (t_row, a_row) in total.iter_mut().zip(&acc) {
                for (t, a) in t_row.iter_mut().zip(a_row) {
                    *t += a;
                }
            }
        }
    }
    total
}

#[inline(always)]
fn squared_euclidean_tile(
    block: &SurrogateBlock<'_>,
    tile: usize,
    panel: usize,
    dots: &Tile,
) -> Tile {
    let norm_at = |rows: &PackedRows, i: usize| rows.squared_norms.get(i).copied().unwrap_or(0.0);
    let mut out: Tile = [[0.0; PANEL_ROWS]; TILE_ROWS];
    for (r, (out_row, dot_row)) in out.iter_mut().zip(dots).enumerate() {
        let x_norm = norm_at(block.queries, tile * TILE_ROWS + r);
        for (c, (o, &dot)) in out_row.iter_mut().zip(dot_row).enumerate() {
            let y_norm = norm_at(block.train, panel * PANEL_ROWS + c);
            *o = ((x_norm + -2.0 * dot) + y_norm).max(0.0);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn k_blocks_follow_openblas_split() {
        let lens = |d| {
            gemm_k_blocks(d)
                .iter()
                .map(|r: &Range<usize>| r.len())
                .collect::<Vec<_>>()
        };
        assert_eq!(lens(25), vec![25]);
        assert_eq!(lens(256), vec![256]);
        assert_eq!(lens(300), vec![152, 148]);
        assert_eq!(lens(600), vec![256, 172, 172]);
        assert_eq!(lens(1000), vec![256, 256, 244, 244]);
    }
}
