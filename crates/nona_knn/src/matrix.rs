//! A minimal row-major `f64` matrix.

use crate::KnnError;

/// Dense row-major matrix of `f64` (rows are samples, columns features).
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    data: Vec<f64>,
    rows: usize,
    cols: usize,
}

impl Matrix {
    /// Wraps row-major `data` of shape `rows x cols`.
    pub fn new(data: Vec<f64>, rows: usize, cols: usize) -> Result<Self, KnnError> {
        if data.len() != rows * cols {
            return Err(KnnError::BadMatrixShape {
                len: data.len(),
                rows,
                cols,
            });
        }
        Ok(Self { data, rows, cols })
    }

    /// Converts row-major `f32` values (e.g. embeddings) to an `f64` matrix, as numpy's
    /// `astype(float64)` does (exactly).
    pub fn from_f32(data: &[f32], rows: usize, cols: usize) -> Result<Self, KnnError> {
        Self::new(data.iter().map(|&v| f64::from(v)).collect(), rows, cols)
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// All values, row-major.
    pub fn as_slice(&self) -> &[f64] {
        &self.data
    }

    /// Row `i`.
    pub fn row(&self, i: usize) -> &[f64] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }

    /// A new matrix made of the given rows, in the given order.
    pub fn select_rows(&self, indices: &[usize]) -> Self {
        let mut data = Vec::with_capacity(indices.len() * self.cols);
        for &i in indices {
            data.extend_from_slice(self.row(i));
        }
        Self {
            data,
            rows: indices.len(),
            cols: self.cols,
        }
    }

    pub(crate) fn as_mut_slice(&mut self) -> &mut [f64] {
        &mut self.data
    }
}
