//! scikit-learn's `KFold` split, in table order or shuffled as `KFold(shuffle=True)` does.

use crate::KnnError;
use crate::numpy_random::RandomState;

/// The row order the folds are cut from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FoldOrder {
    /// Table order: `KFold(n_splits, shuffle=False)`, what `GridSearchCV(cv=n)` does.
    #[default]
    Table,
    /// Rows shuffled first: `KFold(n_splits, shuffle=True, random_state=seed)` (numpy's legacy
    /// `RandomState(seed).shuffle`).
    Shuffled {
        /// The `random_state`.
        seed: u32,
    },
}

impl FoldOrder {
    /// [`FoldOrder::Shuffled`] with `seed`, which numpy's `RandomState` (and so scikit-learn's
    /// `KFold`) accepts only up to 2³² − 1.
    pub fn shuffled(seed: u64) -> Result<Self, KnnError> {
        u32::try_from(seed)
            .map(|seed| Self::Shuffled { seed })
            .map_err(|_| {
                KnnError::InvalidParameter(format!(
                    "fold shuffle seed {seed} is above {}, the largest seed numpy's RandomState \
                     (and so scikit-learn's KFold) accepts",
                    u32::MAX
                ))
            })
    }
}

/// One split: both row lists ascending, as `KFold.split` yields them (the training order
/// decides neighbour tie-breaking, the validation order the MSE's summation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fold {
    /// Rows the fold's model is fitted on.
    pub train: Vec<usize>,
    /// Rows the fold's model is scored on.
    pub validation: Vec<usize>,
}

/// The splits of `KFold(n_splits = folds)` over `n_rows` in `order`: the (possibly shuffled)
/// rows are cut into consecutive folds of `n_rows / folds` rows, the first `n_rows % folds`
/// folds one row larger.
pub fn kfold(n_rows: usize, folds: usize, order: FoldOrder) -> Result<Vec<Fold>, KnnError> {
    if folds < 2 || folds > n_rows {
        return Err(KnnError::InvalidParameter(format!(
            "cannot split {n_rows} rows into {folds} folds (need 2 <= folds <= rows)"
        )));
    }
    let rows = match order {
        FoldOrder::Table => (0..n_rows).collect(),
        FoldOrder::Shuffled { seed } => RandomState::new(seed).permutation(n_rows),
    };
    let base = n_rows / folds;
    let extra = n_rows % folds;
    let mut start = 0;
    Ok((0..folds)
        .map(|fold| {
            let len = base + usize::from(fold < extra);
            let mut in_validation = vec![false; n_rows];
            for &row in &rows[start..start + len] {
                in_validation[row] = true;
            }
            start += len;
            let (validation, train) = (0..n_rows).partition(|&row| in_validation[row]);
            Fold { train, validation }
        })
        .collect())
}
