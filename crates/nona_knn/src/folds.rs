//! scikit-learn's unshuffled `KFold` split.

use std::ops::Range;

use crate::KnnError;

/// Contiguous validation ranges of `KFold(n_splits = folds, shuffle = False)` over `n_rows`:
/// every fold has `n_rows / folds` rows and the first `n_rows % folds` folds one more.
pub fn kfold_validation_ranges(n_rows: usize, folds: usize) -> Result<Vec<Range<usize>>, KnnError> {
    if folds < 2 || folds > n_rows {
        return Err(KnnError::InvalidParameter(format!(
            "cannot split {n_rows} rows into {folds} folds (need 2 <= folds <= rows)"
        )));
    }
    let base = n_rows / folds;
    let extra = n_rows % folds;
    let mut start = 0;
    Ok((0..folds)
        .map(|fold| {
            let len = base + usize::from(fold < extra);
            let range = start..start + len;
            start += len;
            range
        })
        .collect())
}

/// Training rows of a fold: every row outside `validation`, in ascending order (the order
/// scikit-learn passes them to `fit`, which decides neighbour tie-breaking).
pub fn training_indices(n_rows: usize, validation: &Range<usize>) -> Vec<usize> {
    (0..validation.start)
        .chain(validation.end..n_rows)
        .collect()
}
