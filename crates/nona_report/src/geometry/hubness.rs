//! Hubness (Radovanović, Nanopoulos & Ivanović 2010, *JMLR* 11:2487): the skewness of the
//! k-occurrence distribution, N_k(x) = how many other rows have x among their k nearest
//! neighbours (the row itself excluded). Every row hands out min(k, n − 1) places, so that is
//! the mean of N_k; a large positive skewness means a few "hubs" are everybody's neighbours while many rows are
//! nobody's, which makes neighbour votes (k-NN, NONA) lean on the hubs' labels.

/// Neighbourhood size of the hubness diagnostic (the k = 10).
pub const HUBNESS_NEIGHBOURS: usize = 10;

/// Spread below this fraction of the mean k-occurrence is rounding in the shared ties, not
/// hubness: every row then occurs equally often.
const RELATIVE_SPREAD_FLOOR: f64 = 1e-9;

/// Population skewness m₃ / m₂^(3/2) of `k_occurrence` (SciPy's `stats.skew`, `bias=True`).
/// NaN when all values are equal (standard deviation below 1e-9 of the mean): with n ≤ k every
/// row is everybody's neighbour, and identical rows share their places equally.
pub(super) fn skewness(k_occurrence: &[f64]) -> f64 {
    let n = k_occurrence.len() as f64;
    let mean = k_occurrence.iter().sum::<f64>() / n;
    let moment = |power: i32| {
        k_occurrence
            .iter()
            .map(|v| (v - mean).powi(power))
            .sum::<f64>()
            / n
    };
    let variance = moment(2);
    if variance.sqrt() <= RELATIVE_SPREAD_FLOOR * mean.abs() || variance == 0.0 {
        return f64::NAN;
    }
    moment(3) / variance.powf(1.5)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skewness_of_a_known_sample() {
        // scipy.stats.skew([0, 0, 0, 1, 9]) = 1.4565472846013436 = 63.6 / 12.4^1.5
        let value = skewness(&[0.0, 0.0, 0.0, 1.0, 9.0]);
        assert!((value - 1.456_547_284_601_343_6).abs() < 1e-12, "{value}");
        assert!(skewness(&[10.0; 4]).is_nan());
        assert!(skewness(&[10.0, 10.0 + 1e-12, 10.0]).is_nan());
    }
}
