//! Blocked, parallel k-nearest-neighbour search over packed rows.

use rayon::prelude::*;

use crate::distance::{PANEL_ROWS, PackedRows, SurrogateBlock, TILE_ROWS};
use crate::select::MultiKSelection;
use crate::{KnnError, Metric};

/// Query tiles per parallel task (32 queries).
const TILES_PER_TASK: usize = 8;
/// Training panels per distance block (512 training rows): the block buffer stays 128 KiB.
const PANELS_PER_BLOCK: usize = 64;

/// The neighbours of one query, nearest first, as scikit-learn's `kneighbors` returns them.
#[derive(Debug, Clone, PartialEq)]
pub struct Neighbours {
    /// Distances (Euclidean distances are `sqrt` of the clipped surrogate, as in scikit-learn).
    pub distances: Vec<f64>,
    /// Training row indices.
    pub indices: Vec<usize>,
}

/// Finds, for every query, its neighbours for each `k` in `ks` (ascending, distinct), and maps
/// them with `per_query` (called with one [`Neighbours`] per k). Results keep query order.
pub(crate) fn map_neighbours<T, F>(
    train: &PackedRows,
    queries: &PackedRows,
    metric: Metric,
    ks: &[usize],
    per_query: F,
) -> Result<Vec<T>, KnnError>
where
    T: Send,
    F: Fn(&[Neighbours]) -> T + Sync,
{
    if ks.is_empty() || ks.windows(2).any(|w| w[0] >= w[1]) || ks[0] == 0 {
        return Err(KnnError::InvalidParameter(format!(
            "neighbour counts must be positive, ascending and distinct, got {ks:?}"
        )));
    }
    let k_max = ks[ks.len() - 1];
    if k_max > train.rows() {
        return Err(KnnError::TooFewTrainingRows {
            k: k_max,
            n_train: train.rows(),
        });
    }
    let query_tiles = queries.rows().div_ceil(TILE_ROWS);
    let train_panels = train.rows().div_ceil(PANEL_ROWS);
    let tasks = query_tiles.div_ceil(TILES_PER_TASK);
    let per_task: Vec<Vec<T>> = (0..tasks)
        .into_par_iter()
        .map(|task| {
            let tiles = task * TILES_PER_TASK..((task + 1) * TILES_PER_TASK).min(query_tiles);
            let first_query = tiles.start * TILE_ROWS;
            let n_queries = (tiles.end * TILE_ROWS).min(queries.rows()) - first_query;
            let mut selections = vec![MultiKSelection::new(ks); n_queries];
            let mut surrogates = vec![0.0; tiles.len() * TILE_ROWS * PANELS_PER_BLOCK * PANEL_ROWS];
            for panel_start in (0..train_panels).step_by(PANELS_PER_BLOCK) {
                let panels = panel_start..(panel_start + PANELS_PER_BLOCK).min(train_panels);
                let stride = panels.len() * PANEL_ROWS;
                let first_train = panel_start * PANEL_ROWS;
                let n_train = (first_train + stride).min(train.rows()) - first_train;
                SurrogateBlock {
                    metric,
                    queries,
                    train,
                    query_tiles: tiles.clone(),
                    train_panels: panels,
                }
                .compute(&mut surrogates);
                for (q, selection) in selections.iter_mut().enumerate() {
                    let row = &surrogates[q * stride..q * stride + n_train];
                    selection.scan(row, first_train);
                }
            }
            selections
                .iter()
                .map(|selection| {
                    let per_k: Vec<Neighbours> = selection
                        .heaps()
                        .iter()
                        .map(|heap| {
                            let (surrogates, indices) = heap.sorted();
                            let distances = surrogates
                                .into_iter()
                                .map(|s| metric.distance_from_surrogate(s))
                                .collect();
                            Neighbours { distances, indices }
                        })
                        .collect();
                    per_query(&per_k)
                })
                .collect()
        })
        .collect();
    Ok(per_task.into_iter().flatten().collect())
}
