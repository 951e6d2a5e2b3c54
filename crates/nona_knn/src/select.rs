//! Top-k selection with scikit-learn's tie semantics.
//!
//! scikit-learn's `ArgKmin` scans training rows in index order and pushes each surrogate
//! distance into a fixed-size max-heap (`sklearn.utils._heap.heap_push`): a value enters only
//! if strictly smaller than the root, and sift-down prefers the left child on equal children.
//! Which of several equidistant rows survive at the k-th place depends on this exact heap
//! history, so we run the same heap rather than a generic partial sort. The survivors are then
//! ordered by an insertion sort (stable on the heap layout), as `simultaneous_sort` does for
//! k <= 15.
//!
//! One scan feeds one heap per requested k: the size-k heap's root is the k-th smallest value
//! seen so far, so a value rejected by the largest heap is rejected by all of them.

/// A fixed-size max-heap of `(surrogate distance, training index)` pairs.
#[derive(Debug, Clone)]
pub(crate) struct NeighbourHeap {
    values: Vec<f64>,
    indices: Vec<usize>,
}

impl NeighbourHeap {
    /// An empty heap of `k` slots, filled like scikit-learn with `(f64::MAX, 0)`.
    pub(crate) fn new(k: usize) -> Self {
        Self {
            values: vec![f64::MAX; k],
            indices: vec![0; k],
        }
    }

    /// The largest value kept, which a new value must beat.
    #[inline]
    pub(crate) fn root(&self) -> f64 {
        self.values[0]
    }

    /// Offers `value` for training row `index`.
    #[inline]
    pub(crate) fn push(&mut self, value: f64, index: usize) {
        let size = self.values.len();
        if value >= self.values[0] {
            return;
        }
        let mut node = 0;
        loop {
            let left = 2 * node + 1;
            let right = left + 1;
            let child = if left >= size {
                break;
            } else if right >= size || self.values[left] >= self.values[right] {
                left
            } else {
                right
            };
            if value < self.values[child] {
                self.values[node] = self.values[child];
                self.indices[node] = self.indices[child];
                node = child;
            } else {
                break;
            }
        }
        self.values[node] = value;
        self.indices[node] = index;
    }

    /// The kept pairs in ascending value order (stable insertion sort of the heap layout).
    pub(crate) fn sorted(&self) -> (Vec<f64>, Vec<usize>) {
        let (mut values, mut indices) = (self.values.clone(), self.indices.clone());
        for i in 1..values.len() {
            let (value, index) = (values[i], indices[i]);
            let mut j = i;
            while j > 0 && values[j - 1] > value {
                values[j] = values[j - 1];
                indices[j] = indices[j - 1];
                j -= 1;
            }
            values[j] = value;
            indices[j] = index;
        }
        (values, indices)
    }
}

/// One heap per requested k (ascending) for a single query.
#[derive(Debug, Clone)]
pub(crate) struct MultiKSelection {
    heaps: Vec<NeighbourHeap>,
}

impl MultiKSelection {
    /// Heaps for `ks`, which must be ascending and distinct.
    pub(crate) fn new(ks: &[usize]) -> Self {
        Self {
            heaps: ks.iter().map(|&k| NeighbourHeap::new(k)).collect(),
        }
    }

    /// Offers surrogates of consecutive training rows starting at `first_index`.
    #[inline]
    pub(crate) fn scan(&mut self, surrogates: &[f64], first_index: usize) {
        let Some((largest, smaller)) = self.heaps.split_last_mut() else {
            return;
        };
        for (offset, &value) in surrogates.iter().enumerate() {
            if value >= largest.root() {
                continue;
            }
            let index = first_index + offset;
            largest.push(value, index);
            for heap in smaller.iter_mut().rev() {
                if value >= heap.root() {
                    break;
                }
                heap.push(value, index);
            }
        }
    }

    /// The heaps, ascending in k.
    pub(crate) fn heaps(&self) -> &[NeighbourHeap] {
        &self.heaps
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heap_history_decides_which_tied_row_survives() {
        let mut heap = NeighbourHeap::new(3);
        for (i, v) in [2.0, 2.0, 1.0, 0.5].into_iter().enumerate() {
            heap.push(v, i);
        }
        // Row 0 sits at the root when 0.5 arrives, so it is evicted and row 1 stays,
        // unlike a (distance, index) lexicographic selection.
        assert_eq!(heap.sorted(), (vec![0.5, 1.0, 2.0], vec![3, 2, 1]));
    }
}
