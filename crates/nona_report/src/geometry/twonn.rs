//! Intrinsic dimension by TwoNN (Facco, d'Errico, Rodriguez & Laio 2017, *Sci. Rep.* 7:12140),
//! in scikit-dimension's default form (`skdim.id.TwoNN()`: `method="linear"`,
//! `discard_fraction=0.1`).
//!
//! For each of the N points, μ = r₂ / r₁, the ratio of the distances to its second and first
//! nearest neighbours. On a d-dimensional manifold with locally uniform density μ follows a
//! Pareto law with F(μ) = 1 − μ^(−d), so −ln(1 − F(μ)) = d · ln μ: a line through the origin.
//! The ratios are sorted, the largest 10 % discarded (the tail, most sensitive to density
//! changes and noise; `int(N · 0.9)` kept, as in Python), the i-th smallest kept ratio
//! (i = 1, 2, …) paired with F = i / N, and d is the least-squares slope through the origin,
//! Σ xᵢyᵢ / Σ xᵢ², with x = ln μ and y = −ln(1 − F).

use super::neighbours::Scan;

/// Fraction of the largest ratios μ left out of the fit (scikit-dimension's default).
pub const DISCARD_FRACTION: f64 = 0.1;

/// The TwoNN dimension from each point's squared distances to its two nearest neighbours
/// (`Scan::two_nearest` of distinct points).
///
/// A point whose nearest distance is 0 has no ratio and is dropped, as scikit-dimension drops
/// it (after [`super::Points::distinct`] only an f64 underflow can cause this). NaN when fewer
/// than 2 ratios are kept (fewer than 3 distinct points) or when every kept ratio is 1 (each
/// point's two nearest neighbours equidistant, as on a regular grid: no slope to fit).
pub(super) fn twonn_from_scan(scan: &Scan) -> f64 {
    let mut ratios: Vec<f64> = scan
        .two_nearest
        .iter()
        .map(|&[first, second]| second.sqrt() / first.sqrt())
        .filter(|ratio| ratio.is_finite())
        .collect();
    let total = ratios.len();
    let kept = (total as f64 * (1.0 - DISCARD_FRACTION)) as usize;
    if kept < 2 {
        return f64::NAN;
    }
    ratios.sort_by(f64::total_cmp);
    let (mut xy, mut xx) = (0.0, 0.0);
    for (index, ratio) in ratios[..kept].iter().enumerate() {
        let x = ratio.ln();
        let y = -(-((index + 1) as f64 / total as f64)).ln_1p();
        xy += x * y;
        xx += x * x;
    }
    if xx == 0.0 { f64::NAN } else { xy / xx }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan_of(two_nearest: Vec<[f64; 2]>) -> Scan {
        Scan {
            two_nearest,
            nearest_label_gaps: Vec::new(),
            k_occurrence: Vec::new(),
        }
    }

    #[test]
    fn recovers_d_from_exact_pareto_quantiles() {
        // μ at the Pareto(d = 3) quantiles of i / (N + 1): slope close to 3.
        let total = 2000;
        let two_nearest = (1..=total)
            .map(|i| {
                let f = i as f64 / (total + 1) as f64;
                let mu = (1.0 - f).powf(-1.0 / 3.0);
                [1.0, mu * mu]
            })
            .collect();
        let dimension = twonn_from_scan(&scan_of(two_nearest));
        assert!((dimension - 3.0).abs() < 0.05, "{dimension}");
    }

    #[test]
    fn drops_zero_distances_and_is_nan_without_a_slope() {
        // Two of five points have r1 = 0; three ratios remain, int(3 · 0.9) = 2 kept.
        let scan = scan_of(vec![
            [0.0, 4.0],
            [0.0, 0.0],
            [1.0, 4.0],
            [1.0, 9.0],
            [4.0, 9.0],
        ]);
        let (x1, x2) = (1.5f64.ln(), 2.0f64.ln());
        let (y1, y2) = (-(1.0f64 - 1.0 / 3.0).ln(), -(1.0f64 - 2.0 / 3.0).ln());
        let expected = (x1 * y1 + x2 * y2) / (x1 * x1 + x2 * x2);
        assert!((twonn_from_scan(&scan) - expected).abs() < 1e-14);
        assert!(twonn_from_scan(&scan_of(vec![[1.0, 1.0]; 5])).is_nan());
        assert!(twonn_from_scan(&scan_of(vec![[1.0, 4.0]; 2])).is_nan());
    }
}
