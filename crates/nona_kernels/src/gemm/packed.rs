//! The weights operand `B` (k × n), packed once into the microkernel's panel layout.

use super::NR;

/// One row of a panel: the [`NR`] values the microkernel loads per step of `k`, 64-byte aligned
/// so that each step reads one cache line.
#[derive(Debug, Clone, Copy)]
#[repr(C, align(64))]
pub(crate) struct Line(pub(crate) [f32; NR]);

/// `B` (k × n) cut into panels of `NR` (16) columns; panel `p` holds rows `0..k` of columns
/// `p·NR .. p·NR + NR` one after the other (the last panel zero-padded), so that the microkernel
/// reads it sequentially and any range of `k` is a contiguous slice.
#[derive(Debug, Clone)]
pub struct PackedB {
    k: usize,
    n: usize,
    lines: Vec<Line>,
}

impl PackedB {
    /// Packs `B[kk][j] = value(kk, j)` for `kk < k`, `j < n`.
    pub fn from_fn(k: usize, n: usize, value: impl Fn(usize, usize) -> f32) -> Self {
        let panels = n.div_ceil(NR);
        let mut lines = vec![Line([0.0; NR]); panels * k];
        for (p, panel) in lines.chunks_exact_mut(k.max(1)).enumerate().take(panels) {
            for (kk, line) in panel.iter_mut().enumerate() {
                for (jj, slot) in line.0.iter_mut().enumerate() {
                    let j = p * NR + jj;
                    if j < n {
                        *slot = value(kk, j);
                    }
                }
            }
        }
        Self { k, n, lines }
    }

    /// Packs a row-major `k × n` matrix.
    pub fn from_row_major(b: &[f32], k: usize, n: usize) -> Self {
        assert_eq!(
            b.len(),
            k * n,
            "PackedB: {} values for a {k} × {n} matrix",
            b.len()
        );
        Self::from_fn(k, n, |kk, j| b[kk * n + j])
    }

    /// Rows of `B` (the inner dimension of the product).
    pub fn k(&self) -> usize {
        self.k
    }

    /// Columns of `B` (of the product).
    pub fn n(&self) -> usize {
        self.n
    }

    /// Panel `p`: `k` lines.
    pub(crate) fn panel(&self, p: usize) -> &[Line] {
        &self.lines[p * self.k..(p + 1) * self.k]
    }
}
