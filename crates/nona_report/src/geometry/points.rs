//! The validated n × d matrix every estimator reads, its distinct rows, and its feature-permuted
//! control.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::ReportError;

/// ChaCha8 stream of the feature permutation (the label shuffle uses stream 0), so the two
/// controls of one seed draw independent numbers.
const FEATURE_STREAM: u64 = 1;

/// Embedding rows as one row-major f64 matrix: at least one row, at least one column, every
/// value finite.
#[derive(Debug, Clone, PartialEq)]
pub struct Points {
    values: Vec<f64>,
    rows: usize,
    columns: usize,
}

impl Points {
    /// Copies `rows` (f32 or f64, n rows of equal length d) into a matrix. Errors name the first
    /// row that is empty, of another length than row 0, or holds a NaN or infinity.
    pub fn from_rows<R, T>(rows: &[R]) -> Result<Self, ReportError>
    where
        R: AsRef<[T]>,
        T: Copy + Into<f64>,
    {
        let columns = rows.first().map_or(0, |row| row.as_ref().len());
        if rows.is_empty() || columns == 0 {
            return Err(ReportError::InvalidInput(format!(
                "embedding geometry needs at least one row of at least one value, got {} rows of {columns}",
                rows.len()
            )));
        }
        let mut values = Vec::with_capacity(rows.len() * columns);
        for (index, row) in rows.iter().enumerate() {
            let row = row.as_ref();
            if row.len() != columns {
                return Err(ReportError::InvalidInput(format!(
                    "embedding row {index} has {} values, row 0 has {columns}",
                    row.len()
                )));
            }
            for (column, &value) in row.iter().enumerate() {
                let value: f64 = value.into();
                if !value.is_finite() {
                    return Err(ReportError::InvalidInput(format!(
                        "embedding row {index}, column {column} is {value}"
                    )));
                }
                values.push(value);
            }
        }
        Ok(Self {
            values,
            rows: rows.len(),
            columns,
        })
    }

    /// Number of rows n.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns d.
    pub fn columns(&self) -> usize {
        self.columns
    }

    /// Row `index` (length d).
    pub fn row(&self, index: usize) -> &[f64] {
        &self.values[index * self.columns..(index + 1) * self.columns]
    }

    /// The rows, row-major.
    pub(super) fn values(&self) -> &[f64] {
        &self.values
    }

    /// The first occurrence of every distinct row, in table order (rows at Euclidean distance 0
    /// from each other, so `-0.0` equals `0.0`), or `None` when every row is already distinct.
    pub fn distinct(&self) -> Option<Self> {
        let key = |index: usize| self.row(index).iter().map(|&v| v + 0.0);
        let mut order: Vec<usize> = (0..self.rows).collect();
        order.sort_by(|&a, &b| {
            key(a)
                .zip(key(b))
                .map(|(x, y)| x.total_cmp(&y))
                .find(|ordering| ordering.is_ne())
                .unwrap_or(a.cmp(&b))
        });
        let mut first_of_group: Vec<usize> = order
            .iter()
            .enumerate()
            .filter(|&(position, &index)| position == 0 || !key(order[position - 1]).eq(key(index)))
            .map(|(_, &index)| index)
            .collect();
        if first_of_group.len() == self.rows {
            return None;
        }
        first_of_group.sort_unstable();
        let values = first_of_group
            .iter()
            .flat_map(|&index| self.row(index).iter().copied())
            .collect();
        Some(Self {
            values,
            rows: first_of_group.len(),
            columns: self.columns,
        })
    }

    /// Every column permuted on its own by a seeded shuffle (ChaCha8): each feature keeps its
    /// values (so its mean and variance), but which values share a row is random. The null of
    /// Horn's parallel analysis: the structure that remains is what independent features with
    /// these marginals have.
    pub fn feature_permuted(&self, seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(FEATURE_STREAM);
        let mut values = vec![0.0; self.values.len()];
        let mut order: Vec<usize> = (0..self.rows).collect();
        for column in 0..self.columns {
            order.shuffle(&mut rng);
            for (target, &source) in order.iter().enumerate() {
                values[target * self.columns + column] =
                    self.values[source * self.columns + column];
            }
        }
        Self {
            values,
            rows: self.rows,
            columns: self.columns,
        }
    }
}

/// `labels` in an order drawn by a seeded shuffle (ChaCha8, stream 0): the label-shuffled
/// control, which keeps the label distribution but cuts its tie to the geometry.
pub fn shuffled_labels(labels: &[f64], seed: u64) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut shuffled = labels.to_vec();
    shuffled.shuffle(&mut rng);
    shuffled
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_empty_ragged_and_non_finite_rows_by_position() {
        let none: [Vec<f32>; 0] = [];
        assert!(Points::from_rows(&none).is_err());
        assert!(Points::from_rows(&[Vec::<f32>::new()]).is_err());
        let ragged = Points::from_rows(&[vec![1.0f32, 2.0], vec![3.0]]).unwrap_err();
        assert!(
            ragged.to_string().contains("row 1 has 1 values"),
            "{ragged}"
        );
        let nan = Points::from_rows(&[vec![1.0f64, 2.0], vec![3.0, f64::NAN]]).unwrap_err();
        assert!(nan.to_string().contains("row 1, column 1 is NaN"), "{nan}");
    }

    #[test]
    fn f32_and_f64_rows_give_the_same_matrix() {
        let single = Points::from_rows(&[[0.1f32, 2.5], [3.0, -1.25]]).unwrap();
        let double = Points::from_rows(&[[f64::from(0.1f32), 2.5], [3.0, -1.25]]).unwrap();
        assert_eq!(single, double);
        assert_eq!((single.rows(), single.columns()), (2, 2));
        assert_eq!(single.row(1), &[3.0, -1.25]);
    }

    #[test]
    fn distinct_keeps_first_occurrences_in_order_and_merges_signed_zeros() {
        let points =
            Points::from_rows(&[[1.0, 0.0], [2.0, 2.0], [1.0, -0.0], [0.5, 9.0], [2.0, 2.0]])
                .unwrap();
        let distinct = points.distinct().unwrap();
        assert_eq!(distinct.rows(), 3);
        assert_eq!(distinct.row(0), &[1.0, 0.0]);
        assert_eq!(distinct.row(1), &[2.0, 2.0]);
        assert_eq!(distinct.row(2), &[0.5, 9.0]);
        assert!(distinct.distinct().is_none());
    }

    #[test]
    fn feature_permutation_keeps_each_column_and_depends_only_on_the_seed() {
        let rows: Vec<[f64; 3]> = (0..50)
            .map(|i| [f64::from(i), f64::from(i * i), -f64::from(i)])
            .collect();
        let points = Points::from_rows(&rows).unwrap();
        let permuted = points.feature_permuted(7);
        assert_eq!(permuted, points.feature_permuted(7));
        assert_ne!(permuted, points.feature_permuted(8));
        for column in 0..3 {
            let sorted = |p: &Points| {
                let mut values: Vec<f64> = (0..50).map(|r| p.row(r)[column]).collect();
                values.sort_by(f64::total_cmp);
                values
            };
            assert_eq!(sorted(&permuted), sorted(&points));
        }
        // Rows are broken apart: row r no longer holds (i, i², -i) for one i.
        let intact = (0..50)
            .filter(|&r| {
                let row = permuted.row(r);
                row[1] == row[0] * row[0] && row[2] == -row[0]
            })
            .count();
        assert!(intact < 5, "{intact} rows intact");
    }

    #[test]
    fn label_shuffle_is_a_seeded_permutation() {
        let labels: Vec<f64> = (0..20).map(f64::from).collect();
        let shuffled = shuffled_labels(&labels, 3);
        assert_eq!(shuffled, shuffled_labels(&labels, 3));
        assert_ne!(shuffled, labels);
        let mut sorted = shuffled.clone();
        sorted.sort_by(f64::total_cmp);
        assert_eq!(sorted, labels);
    }
}
