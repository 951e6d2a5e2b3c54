//! One exact brute-force pass over all pairs of rows that collects what the neighbour-based
//! estimators need: each row's two smallest distances (TwoNN), its label gap to its nearest
//! neighbour (label smoothness) and its k-occurrence (hubness).
//!
//! Distances are Euclidean, computed from coordinate differences in f64 (not the
//! ‖x‖² + ‖y‖² − 2x·y shortcut, which loses near neighbours to cancellation) and compared
//! squared. A row is never its own neighbour; an exact duplicate of it is, at distance 0.
//!
//! Ties are shared, so no result depends on row order: the nearest neighbour's label gap is the
//! mean gap over every row at the smallest distance, and when several rows tie at the k-th
//! smallest distance each of them receives an equal share of the places left (the rows strictly
//! closer receive 1 each, so a query always hands out exactly min(k, n − 1)).
//!
//! Queries run in parallel in blocks of fixed size and are folded in row order, so results do
//! not depend on the number of threads. Cost: n² · d operations, memory O(n) per thread.

use rayon::prelude::*;

use super::points::Points;

/// Queries computed in parallel before their results are folded in row order.
const BLOCK: usize = 256;

/// What one pass over all pairs found.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Scan {
    /// Per row: the squared distances to its nearest and second-nearest other row (infinite
    /// where the rows run out).
    pub two_nearest: Vec<[f64; 2]>,
    /// Per label set asked for: the mean over rows of the (tie-shared) absolute label gap to
    /// the nearest neighbour; NaN with fewer than 2 rows.
    pub nearest_label_gaps: Vec<f64>,
    /// Per row: how many of the other rows count it among their k nearest (shares of ties
    /// included); zeros when k = 0.
    pub k_occurrence: Vec<f64>,
}

/// What one query row contributes.
struct Query {
    two_nearest: [f64; 2],
    label_gaps: Vec<f64>,
    /// (row, share) for every row among the query's k nearest.
    k_nearest: Vec<(usize, f64)>,
}

/// Scans all pairs of `points`; `label_sets` are label vectors of length n each, `k` the
/// neighbourhood size of the k-occurrence (0: not needed).
pub(super) fn scan(points: &Points, label_sets: &[&[f64]], k: usize) -> Scan {
    let n = points.rows();
    let mut scan = Scan {
        two_nearest: Vec::with_capacity(n),
        nearest_label_gaps: vec![0.0; label_sets.len()],
        k_occurrence: vec![0.0; n],
    };
    for start in (0..n).step_by(BLOCK) {
        let block: Vec<Query> = (start..(start + BLOCK).min(n))
            .into_par_iter()
            .map_init(
                || vec![0.0; n],
                |distances, query| one_query(points, query, distances, label_sets, k),
            )
            .collect();
        for query in block {
            scan.two_nearest.push(query.two_nearest);
            for (total, gap) in scan.nearest_label_gaps.iter_mut().zip(query.label_gaps) {
                *total += gap;
            }
            for (row, share) in query.k_nearest {
                scan.k_occurrence[row] += share;
            }
        }
    }
    for total in &mut scan.nearest_label_gaps {
        *total = if n < 2 { f64::NAN } else { *total / n as f64 };
    }
    scan
}

fn one_query(
    points: &Points,
    query: usize,
    distances: &mut [f64],
    label_sets: &[&[f64]],
    k: usize,
) -> Query {
    let origin = points.row(query);
    let mut two_nearest = [f64::INFINITY; 2];
    for (other, distance) in distances.iter_mut().enumerate() {
        if other == query {
            *distance = f64::INFINITY;
            continue;
        }
        *distance = squared_distance(origin, points.row(other));
        if *distance < two_nearest[0] {
            two_nearest = [*distance, two_nearest[0]];
        } else if *distance < two_nearest[1] {
            two_nearest[1] = *distance;
        }
    }
    let nearest = two_nearest[0];
    let label_gaps = label_sets
        .iter()
        .map(|labels| {
            let (sum, count) = others(distances, query)
                .filter(|&(_, distance)| distance == nearest)
                .fold((0.0, 0usize), |(sum, count), (other, _)| {
                    (sum + (labels[query] - labels[other]).abs(), count + 1)
                });
            if count == 0 { 0.0 } else { sum / count as f64 }
        })
        .collect();
    Query {
        two_nearest,
        label_gaps,
        k_nearest: k_nearest_shares(distances, query, k),
    }
}

/// The k nearest rows other than `query` with their shares (1, or the shared rest at the
/// boundary distance).
fn k_nearest_shares(distances: &[f64], query: usize, k: usize) -> Vec<(usize, f64)> {
    let available = distances.len().saturating_sub(1);
    let k = k.min(available);
    if k == 0 {
        return Vec::new();
    }
    let mut sorted: Vec<f64> = others(distances, query).map(|(_, d)| d).collect();
    let (_, &mut boundary, _) = sorted.select_nth_unstable_by(k - 1, f64::total_cmp);
    let closer = others(distances, query)
        .filter(|&(_, d)| d < boundary)
        .count();
    let tied = others(distances, query)
        .filter(|&(_, d)| d == boundary)
        .count();
    let boundary_share = (k - closer) as f64 / tied as f64;
    others(distances, query)
        .filter(|&(_, d)| d <= boundary)
        .map(|(row, d)| (row, if d < boundary { 1.0 } else { boundary_share }))
        .collect()
}

/// (row, squared distance) for every row but `query`.
fn others(distances: &[f64], query: usize) -> impl Iterator<Item = (usize, f64)> + '_ {
    distances
        .iter()
        .copied()
        .enumerate()
        .filter(move |&(row, _)| row != query)
}

/// Independent partial sums of [`squared_distance`]: the compiler vectorises them, where one
/// running sum waits on every addition (the diagnostics at n = 4000, d = 512 ran about 2×
/// faster).
const LANES: usize = 8;

/// Σ (aᵢ − bᵢ)², summed in [`LANES`] interleaved partial sums; symmetric in a and b bit for
/// bit, so row i sees row j at exactly the distance row j sees row i.
fn squared_distance(a: &[f64], b: &[f64]) -> f64 {
    let (a_chunks, b_chunks) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: f64 = a_chunks
        .remainder()
        .iter()
        .zip(b_chunks.remainder())
        .map(|(x, y)| (x - y) * (x - y))
        .sum();
    let mut partial = [0.0; LANES];
    for (a_chunk, b_chunk) in a_chunks.zip(b_chunks) {
        for lane in 0..LANES {
            let difference = a_chunk[lane] - b_chunk[lane];
            partial[lane] += difference * difference;
        }
    }
    partial.iter().sum::<f64>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(coordinates: &[f64]) -> Points {
        let rows: Vec<[f64; 1]> = coordinates.iter().map(|&x| [x]).collect();
        Points::from_rows(&rows).unwrap()
    }

    #[test]
    fn two_nearest_are_squared_and_skip_the_row_itself() {
        let scan = scan(&line(&[0.0, 1.0, 3.0, 7.0]), &[], 0);
        assert_eq!(
            scan.two_nearest,
            vec![[1.0, 9.0], [1.0, 4.0], [4.0, 9.0], [16.0, 36.0]]
        );
        assert_eq!(scan.k_occurrence, vec![0.0; 4]);
    }

    #[test]
    fn lane_sums_are_symmetric_and_agree_with_one_running_sum() {
        for d in [1, 8, 13, 40] {
            let a: Vec<f64> = (0..d).map(|i| (f64::from(i) * 0.77).sin() * 3.0).collect();
            let b: Vec<f64> = (0..d).map(|i| (f64::from(i) * 1.31).cos() + 0.1).collect();
            let running: f64 = a.iter().zip(&b).map(|(x, y)| (x - y) * (x - y)).sum();
            let lanes = squared_distance(&a, &b);
            assert_eq!(lanes.to_bits(), squared_distance(&b, &a).to_bits());
            assert!((lanes - running).abs() <= 1e-14 * running, "d = {d}");
        }
    }

    #[test]
    fn nearest_label_gap_averages_over_tied_neighbours() {
        // Row 1 (x = 1) has rows 0 and 2 both at distance 1: gap (|5 − 1| + |5 − 2|) / 2 = 3.5.
        let labels = [1.0, 5.0, 2.0];
        let scan = scan(&line(&[0.0, 1.0, 2.0]), &[&labels], 0);
        let expected = (4.0 + 3.5 + 3.0) / 3.0;
        assert!((scan.nearest_label_gaps[0] - expected).abs() < 1e-15);
    }

    #[test]
    fn k_occurrence_shares_the_boundary_tie_and_hands_out_k_per_query() {
        // k = 1 on 0, 1, 2: row 1 ties rows 0 and 2 (half each); rows 0 and 2 pick row 1.
        let scan = scan(&line(&[0.0, 1.0, 2.0]), &[], 1);
        assert_eq!(scan.k_occurrence, vec![0.5, 2.0, 0.5]);
        // k larger than n − 1: every other row counts fully.
        let scan = super::scan(&line(&[0.0, 1.0, 2.0]), &[], 10);
        assert_eq!(scan.k_occurrence, vec![2.0, 2.0, 2.0]);
    }

    #[test]
    fn results_do_not_depend_on_block_boundaries_or_row_order() {
        // More rows than one block, with duplicate coordinates to create ties.
        let coordinates: Vec<f64> = (0..600).map(|i| f64::from((i * 37) % 101)).collect();
        let labels: Vec<f64> = coordinates.iter().map(|x| (x * 0.1).sin()).collect();
        let forward = scan(&line(&coordinates), &[&labels], 10);
        let reversed_coordinates: Vec<f64> = coordinates.iter().rev().copied().collect();
        let reversed_labels: Vec<f64> = labels.iter().rev().copied().collect();
        let backward = scan(&line(&reversed_coordinates), &[&reversed_labels], 10);
        let total: f64 = forward.k_occurrence.iter().sum();
        assert!((total - 6000.0).abs() < 1e-9);
        for (row, &value) in forward.k_occurrence.iter().enumerate() {
            assert!((value - backward.k_occurrence[599 - row]).abs() < 1e-9);
        }
        let gap = (forward.nearest_label_gaps[0] - backward.nearest_label_gaps[0]).abs();
        assert!(gap < 1e-12);
    }
}
